import { envBoolean, envEntry, envInteger, type Env, type Warn } from './env.js'
import { optionBoolean, optionInteger, optionString, show } from './option-checks.js'

/** The runtime metrics part of the tracer options, as dd-trace's `runtimeMetrics` option. */
export interface RuntimeMetricsOptions {
  /** Env `DD_RUNTIME_METRICS_ENABLED`; default false. */
  enabled?: boolean
  /** Event loop delay and utilization. Env `DD_RUNTIME_METRICS_EVENT_LOOP_ENABLED`; default true. */
  eventLoop?: boolean
  /** GC pauses. Env `DD_RUNTIME_METRICS_GC_ENABLED`; default true. */
  gc?: boolean
  /**
   * Tag runtime (and custom) metrics with `runtime-id`, the id every span of this process carries, so
   * that processes of one service can be told apart. Env `DD_RUNTIME_METRICS_RUNTIME_ID_ENABLED`;
   * default true (dd-trace's default is false).
   */
  runtimeId?: boolean
  /** How often metrics are sent. Env `DD_RUNTIME_METRICS_FLUSH_INTERVAL`; default 10000, what the backend expects. */
  flushIntervalMs?: number
}

/** Where DogStatsD lines go when the agent's proxy endpoint cannot take them. */
export interface DogStatsDOptions {
  /** Env `DD_DOGSTATSD_HOST` (`DD_DOGSTATSD_HOSTNAME`); default: the agent host (`hostname`, `DD_AGENT_HOST`), else 127.0.0.1. */
  hostname?: string
  /** Env `DD_DOGSTATSD_PORT`; default 8125. */
  port?: number
}

/** The metrics part of the tracer options (fields of `ConfigOptions`). */
export interface MetricsOptions {
  /** Runtime metrics (CPU, memory, heap, event loop, GC) every 10 s: true, false or the details. */
  runtimeMetrics?: boolean | RuntimeMetricsOptions
  dogstatsd?: DogStatsDOptions
  /** The agent host option; the DogStatsD host defaults to it. */
  hostname?: string
}

/** The metrics part of the resolved config (`TracerConfig.metrics`). */
export interface MetricsConfig {
  readonly runtimeMetrics: boolean
  readonly eventLoop: boolean
  readonly gc: boolean
  readonly runtimeIdTag: boolean
  readonly flushIntervalMs: number
  readonly dogstatsdHost: string
  readonly dogstatsdPort: number
  /** The service name came from no option or variable (package.json or `node`): dd-trace's `svc.auto` process tag. */
  readonly serviceInferred: boolean
}

export const DEFAULT_METRICS_FLUSH_INTERVAL_MS = 10_000
export const DEFAULT_DOGSTATSD_PORT = 8125

function objectOption<T extends object>(name: string, value: unknown): T | undefined {
  if (value === undefined) return undefined
  if (value === null || typeof value !== 'object') throw new TypeError(`datadog-apm: option ${name} must be an object, got ${show(value)}`)
  return value as T
}

/**
 * Options over `DD_RUNTIME_METRICS_*` and `DD_DOGSTATSD_*`. As in dd-trace, the DogStatsD host defaults
 * to the agent host setting, never to the host inside `DD_TRACE_AGENT_URL`: the URL may name a proxy or a
 * Unix socket, while DogStatsD listens beside the agent. `serviceInferred` is what the service name was
 * resolved from, which only the main resolver knows.
 */
export function resolveMetricsConfig(options: MetricsOptions, env: Env, warn: Warn, serviceInferred: boolean): MetricsConfig {
  const raw = options.runtimeMetrics
  const detail = typeof raw === 'boolean' ? { enabled: raw } : (objectOption<RuntimeMetricsOptions>('runtimeMetrics', raw) ?? {})
  const dogstatsd = objectOption<DogStatsDOptions>('dogstatsd', options.dogstatsd) ?? {}
  const host =
    optionString('dogstatsd.hostname', dogstatsd.hostname) ??
    envEntry(env, ['DD_DOGSTATSD_HOST', 'DD_DOGSTATSD_HOSTNAME'])?.[1] ??
    optionString('hostname', options.hostname) ??
    envEntry(env, ['DD_AGENT_HOST', 'DD_TRACE_AGENT_HOSTNAME'])?.[1] ??
    '127.0.0.1'
  return Object.freeze({
    runtimeMetrics: optionBoolean('runtimeMetrics.enabled', detail.enabled) ?? envBoolean(env, ['DD_RUNTIME_METRICS_ENABLED'], false, warn),
    eventLoop: optionBoolean('runtimeMetrics.eventLoop', detail.eventLoop) ?? envBoolean(env, ['DD_RUNTIME_METRICS_EVENT_LOOP_ENABLED'], true, warn),
    gc: optionBoolean('runtimeMetrics.gc', detail.gc) ?? envBoolean(env, ['DD_RUNTIME_METRICS_GC_ENABLED'], true, warn),
    runtimeIdTag:
      optionBoolean('runtimeMetrics.runtimeId', detail.runtimeId) ??
      envBoolean(env, ['DD_RUNTIME_METRICS_RUNTIME_ID_ENABLED', 'DD_TRACE_EXPERIMENTAL_RUNTIME_ID_ENABLED'], true, warn),
    flushIntervalMs:
      optionInteger('runtimeMetrics.flushIntervalMs', detail.flushIntervalMs, 10, 3_600_000) ??
      envInteger(env, 'DD_RUNTIME_METRICS_FLUSH_INTERVAL', DEFAULT_METRICS_FLUSH_INTERVAL_MS, 10, 3_600_000, warn),
    dogstatsdHost: host,
    dogstatsdPort: optionInteger('dogstatsd.port', dogstatsd.port, 1, 65535) ?? envInteger(env, 'DD_DOGSTATSD_PORT', DEFAULT_DOGSTATSD_PORT, 1, 65535, warn),
    serviceInferred
  })
}
