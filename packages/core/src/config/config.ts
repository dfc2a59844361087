import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { PropagationConfig, PropagationOptions } from '../propagation/styles.js'
import type { HttpClientOptions } from './http-client-options.js'
import { resolveIntegrations, resolveNaming, type IntegrationsConfig, type IntegrationsOptions, type NamingConfig, type NamingOptions } from './integrations.js'
import type { SamplingRule, SpanSamplingRule } from '../sampling/sampling-rules.js'
import { booleanText, envBoolean, envEntry, envInteger, envText, warnIfBothSet, type Env, type Warn } from './env.js'
import { resolveHttpClientConfig, resolveHttpServerConfig, type HttpClientConfig, type HttpServerConfig } from './http-config.js'
import { resolveMetricsConfig, type MetricsConfig, type MetricsOptions } from './metrics-config.js'
import { optionBoolean, optionInteger, optionString } from './option-checks.js'
import { resolvePropagationConfig } from './propagation-config.js'
import { resolveSamplingConfig } from './sampling-config.js'
import { parseResourceAttributes, parseTags } from './tags.js'

export type TagValue = string | number | boolean

/**
 * The settings of `createTracer` that have a variable or a default to resolve (the tracer's own options
 * add the exporter and the diagnostic sink). Every field is optional; each one
 * wins over its variables.
 */
export interface ConfigOptions extends NamingOptions {
  /**
   * Service name. Env `DD_SERVICE` (`DD_SERVICE_NAME`, `OTEL_SERVICE_NAME`), else `service:` in
   * `DD_TAGS` or `service.name` in `OTEL_RESOURCE_ATTRIBUTES`; default: the `name` in the working
   * directory's package.json, else `node`.
   */
  service?: string
  /** Env `DD_ENV`, else `env:` in `DD_TAGS` or `deployment.environment.name` in `OTEL_RESOURCE_ATTRIBUTES`. */
  env?: string
  /** Env `DD_VERSION`, else `version` in `DD_TAGS` or `service.version` in `OTEL_RESOURCE_ATTRIBUTES`; default: the `version` in the working directory's package.json. */
  version?: string
  /**
   * Tags on every span. Env `DD_TAGS` (`key:value` pairs separated by commas or spaces) over
   * `OTEL_RESOURCE_ATTRIBUTES` (`key=value,key=value`); options are merged over both.
   */
  tags?: Record<string, TagValue>
  /**
   * Env `DD_TRACE_ENABLED`, else `OTEL_TRACES_EXPORTER=none` turns it off; default true. A disabled
   * tracer hands out a no-op span and sends nothing.
   */
  enabled?: boolean
  /** Env `DD_TRACE_DEBUG`, else `OTEL_LOG_LEVEL=debug`; default false. Prints details of the tracer's own failures. */
  debug?: boolean
  /** The agent: `http://host:port` or `unix:///path/to/socket`. Env `DD_TRACE_AGENT_URL` (`DD_TRACE_URL`). */
  url?: string
  /** Env `DD_AGENT_HOST` (`DD_TRACE_AGENT_HOSTNAME`); default `127.0.0.1`. Used when no url is set. */
  hostname?: string
  /** Env `DD_TRACE_AGENT_PORT`; default 8126. Used when no url is set. */
  port?: number
  /** Env `DD_TRACE_FLUSH_INTERVAL`; default 2000. 0 sends each trace as soon as it is complete. */
  flushIntervalMs?: number
  /** A trace with this many finished spans is sent in parts. Env `DD_TRACE_PARTIAL_FLUSH_MIN_SPANS`; default 1000. */
  partialFlushMinSpans?: number
  /** 128-bit trace ids (high half as `_dd.p.tid`). Env `DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED`; default true. */
  traceId128BitGeneration?: boolean
  /** Log 128-bit trace ids as 32 hex digits. Env `DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED`; default true. */
  traceId128BitLogging?: boolean
  /** Add trace ids to log lines. Env `DD_LOGS_INJECTION`; default true. */
  logInjection?: boolean
  /** Spans held for export at most; beyond it whole traces are dropped and counted. Default 100000. */
  maxQueueSpans?: number
  /** Largest payload sent in one request; larger batches are split. Default 8 MiB (the agent takes 25 MiB). */
  maxPayloadBytes?: number
  /** Timeout of one request to the agent. Default 2000. */
  requestTimeoutMs?: number
  /** How long `flush()` waits for the traces finished before it to be sent, in ms. Default 5000. */
  flushTimeoutMs?: number
  /** Flush on `beforeExit`, SIGTERM and SIGINT. Default true. */
  flushOnExit?: boolean
  /** Wire format: `0.4`, `0.5`, or `auto` (v0.5 when the agent's /info lists it, else v0.4). Env `DD_TRACE_AGENT_PROTOCOL_VERSION`; default `auto`. */
  protocolVersion?: '0.4' | '0.5' | 'auto'
  /** How long a payload the agent could not take (down, timeout, 429, 5xx) is retried. 0 never retries. Default 15000. */
  retryDeadlineMs?: number
  /** The longest wait between two attempts of a payload. Default 2000. */
  retryMaxDelayMs?: number
  /** Ask the agent's `GET /info` before the first payload and when its state changes. Default true. */
  agentDiscovery?: boolean
  /**
   * Compute trace metrics (hits, errors, latency sketches) in the tracer and send them to `/v0.6/stats`;
   * with an agent whose /info says `client_drop_p0s`, rejected traces are then not sent at all. Env
   * `DD_TRACE_STATS_COMPUTATION_ENABLED`; default false.
   */
  statsComputation?: boolean
  /** Keep this share of traces (0 to 1), as a rule after `samplingRules`. Env `DD_TRACE_SAMPLE_RATE`; default: the agent's rates decide. */
  sampleRate?: number
  /** Trace sampling rules, first match wins; they replace `DD_TRACE_SAMPLING_RULES` (JSON). Default none. */
  samplingRules?: readonly SamplingRule[]
  /** Traces kept by rules per second at most; below 0 no limit, 0 none. Env `DD_TRACE_RATE_LIMIT`; default 100. */
  rateLimit?: number
  /** Spans kept from dropped traces; replace `DD_SPAN_SAMPLING_RULES` (JSON) or `DD_SPAN_SAMPLING_RULES_FILE`. Default none. */
  spanSamplingRules?: readonly SpanSamplingRule[]
  /**
   * Send span events in v0.4's native `span_events` field, when the agent's /info says it takes them
   * (`span_events`), instead of as a JSON `events` tag. Env `DD_TRACE_NATIVE_SPAN_EVENTS`; default false.
   */
  nativeSpanEvents?: boolean
  /** Header styles, limits and baggage tags of context propagation; each field has its `DD_TRACE_PROPAGATION_*` variable. */
  propagation?: PropagationOptions
  /**
   * Whether spans started through the OpenTelemetry API bridge are recorded (the bridge reads it; core
   * alone makes no OpenTelemetry spans). Env `DD_TRACE_OTEL_ENABLED`, else `OTEL_SDK_DISABLED` (inverted);
   * default true.
   */
  openTelemetry?: boolean
  /** Outgoing fetch/undici (and node:http where Node allows) requests: `false` stops tracing them, options change how. Default on. The same as `integrations.http`. */
  httpClients?: boolean | HttpClientOptions
  /** Each integration turned off (`false`) or given its options; `integrations.http` is `httpClients`. */
  integrations?: IntegrationsOptions
  /** Runtime metrics over DogStatsD every 10 s: env `DD_RUNTIME_METRICS_ENABLED` and the `DD_RUNTIME_METRICS_*` variables; default off. */
  runtimeMetrics?: MetricsOptions['runtimeMetrics']
  /** Where DogStatsD lines go when the agent's proxy endpoint cannot take them: env `DD_DOGSTATSD_HOST`/`_PORT`. */
  dogstatsd?: MetricsOptions['dogstatsd']
  /**
   * One line on stderr (through `diagnostics`) once the agent has answered `/info` or failed to: the
   * resolved configuration as JSON after `DATADOG TRACER CONFIGURATION - `, as dd-trace prints it, and
   * whether the agent was reached. Env `DD_TRACE_STARTUP_LOGS`; default true, as in dd-trace 6 (false
   * for a tracer given its own `exporter`, as in tests).
   */
  startupLogs?: boolean
}

/** Options after merging over the environment, checked once; frozen. */
export interface TracerConfig {
  readonly service: string
  readonly env: string | undefined
  readonly version: string | undefined
  readonly tags: Readonly<Record<string, string>>
  readonly enabled: boolean
  readonly debug: boolean
  readonly url: URL
  readonly flushIntervalMs: number
  readonly partialFlushMinSpans: number
  readonly traceId128BitGeneration: boolean
  readonly traceId128BitLogging: boolean
  readonly logInjection: boolean
  readonly maxQueueSpans: number
  readonly maxPayloadBytes: number
  readonly requestTimeoutMs: number
  readonly flushTimeoutMs: number
  readonly flushOnExit: boolean
  readonly protocolVersion: '0.4' | '0.5' | 'auto'
  readonly retryDeadlineMs: number
  readonly retryMaxDelayMs: number
  readonly agentDiscovery: boolean
  readonly statsComputation: boolean
  readonly nativeSpanEvents: boolean
  readonly propagation: PropagationConfig
  readonly sampleRate: number | undefined
  readonly samplingRules: readonly SamplingRule[]
  readonly rateLimit: number
  readonly spanSamplingRules: readonly SpanSamplingRule[]
  /** Read by the OpenTelemetry API bridge: false makes its spans no-ops. */
  readonly openTelemetry: boolean
  /** Defaults of the Express and Fastify request spans, from `DD_TRACE_*` variables. */
  readonly httpServer: HttpServerConfig
  /** Defaults of outgoing request spans, from `DD_TRACE_HTTP_CLIENT_ERROR_STATUSES`. */
  readonly httpClient: HttpClientConfig
  readonly integrations: IntegrationsConfig
  readonly naming: NamingConfig
  /** Runtime metrics and where DogStatsD lines go. */
  readonly metrics: MetricsConfig
  /** Print the configuration and the agent's answer once at start. */
  readonly startupLogs: boolean
}

/** Defaults that depend on how the tracer is built rather than on options or variables. */
export interface ConfigDefaults {
  /** The startup log's default: on, except for a tracer given its own exporter. */
  readonly startupLogs: boolean
}

const DEFAULT_SOCKET = '/var/run/datadog/apm.socket'

function agentUrl(options: ConfigOptions, env: Env, warn: Warn): URL {
  const explicit = optionString('url', options.url)
  const fromEnv = explicit === undefined ? envEntry(env, ['DD_TRACE_AGENT_URL', 'DD_TRACE_URL']) : undefined
  const text = explicit ?? fromEnv?.[1]
  if (text !== undefined) {
    let url: URL | undefined
    try {
      url = new URL(text)
    } catch {
      url = undefined
    }
    const ok = url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'unix:')
    if (ok && url !== undefined) return url
    if (explicit !== undefined) {
      throw new TypeError(`datadog-apm: option url must be an http://, https:// or unix:// URL, got ${JSON.stringify(text)}`)
    }
    warn(`${fromEnv?.[0]}=${JSON.stringify(text)} is not an http://, https:// or unix:// URL; using the default agent address`)
  }
  const hostOption = optionString('hostname', options.hostname)
  const portOption = optionInteger('port', options.port, 1, 65535)
  const hostEnv = envEntry(env, ['DD_AGENT_HOST', 'DD_TRACE_AGENT_HOSTNAME'])
  const portEnvSet = envText(env, 'DD_TRACE_AGENT_PORT') !== undefined
  if (hostOption === undefined && portOption === undefined && hostEnv === undefined && !portEnvSet && existsSync(DEFAULT_SOCKET)) {
    return new URL(`unix://${DEFAULT_SOCKET}`)
  }
  const host = hostOption ?? hostEnv?.[1] ?? '127.0.0.1'
  const port = portOption ?? envInteger(env, 'DD_TRACE_AGENT_PORT', 8126, 1, 65535, warn)
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
  return new URL(`http://${bracketed}:${port}`)
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

function packageJson(cwd: string): { name?: unknown; version?: unknown } {
  try {
    return JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown }
  } catch {
    return {}
  }
}

const PROTOCOLS = ['0.4', '0.5', 'auto'] as const

function protocolVersion(options: ConfigOptions, env: Env, warn: Warn): '0.4' | '0.5' | 'auto' {
  const option = options.protocolVersion
  if (option !== undefined) {
    if (!PROTOCOLS.includes(option)) throw new TypeError(`datadog-apm: option protocolVersion must be '0.4', '0.5' or 'auto', got ${JSON.stringify(option)}`)
    return option
  }
  const found = envText(env, 'DD_TRACE_AGENT_PROTOCOL_VERSION')
  if (found === undefined) return 'auto'
  const value = PROTOCOLS.find((p) => p === found)
  if (value !== undefined) return value
  warn(`DD_TRACE_AGENT_PROTOCOL_VERSION=${JSON.stringify(found)} is not 0.4, 0.5 or auto; using auto`)
  return 'auto'
}

/** `OTEL_TRACES_EXPORTER` as dd-trace reads it: `none` turns tracing off; nothing else is understood. */
function otelTracesExporter(env: Env, warn: Warn): boolean | undefined {
  const text = envText(env, 'OTEL_TRACES_EXPORTER')
  if (text === undefined) return undefined
  if (text.toLowerCase() === 'none') return false
  warn(`OTEL_TRACES_EXPORTER=${JSON.stringify(text)} is ignored: only none (tracing off) is understood; traces go to the Datadog agent`)
  return undefined
}

/**
 * Tags of every span: `OTEL_RESOURCE_ATTRIBUTES`, `DD_TAGS` over them, options over both. `service`,
 * `env` and `version` among them stand in for the fields of those names and are taken out.
 */
function resolveTags(options: ConfigOptions, env: Env, warn: Warn): Record<string, string> {
  const tags: Record<string, string> = {}
  const ddTags = ['DD_TAGS', 'DD_TRACE_TAGS', 'DD_TRACE_GLOBAL_TAGS']
  warnIfBothSet(env, ddTags, 'OTEL_RESOURCE_ATTRIBUTES', warn, 'the first wins where both name a tag')
  const attributes = envText(env, 'OTEL_RESOURCE_ATTRIBUTES')
  if (attributes !== undefined) Object.assign(tags, parseResourceAttributes(attributes))
  const tagsEnv = envEntry(env, ddTags)
  if (tagsEnv !== undefined) Object.assign(tags, parseTags(tagsEnv[1]))
  if (options.tags !== undefined) {
    if (options.tags === null || typeof options.tags !== 'object') {
      throw new TypeError('datadog-apm: option tags must be an object of tag names to values')
    }
    for (const [key, value] of Object.entries(options.tags)) tags[key] = String(value)
  }
  return tags
}

/**
 * Merges options over `DD_*` variables and the `OTEL_*` variables dd-trace honours as their aliases (a
 * `DD_*` variable wins over its alias, with a warning when both are set). A bad variable gets one
 * warning naming it and the default; a bad option is a TypeError, since the code that passed it can be
 * fixed. The result and the objects in it are frozen.
 */
export function resolveConfig(
  options: ConfigOptions,
  env: Env,
  warn: Warn,
  cwd: string = process.cwd(),
  defaults: ConfigDefaults = { startupLogs: true }
): TracerConfig {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`datadog-apm: createTracer options must be an object, got ${String(options)}`)
  }
  let pkg: { name?: unknown; version?: unknown } | undefined
  const fromPackage = (): { name?: unknown; version?: unknown } => (pkg ??= packageJson(cwd))
  const pkgName = (): string | undefined => {
    const name = fromPackage().name
    return typeof name === 'string' && name !== '' ? name : undefined
  }
  const pkgVersion = (): string | undefined => {
    const version = fromPackage().version
    return typeof version === 'string' && version !== '' ? version : undefined
  }
  const tags = resolveTags(options, env, warn)
  warnIfBothSet(env, ['DD_SERVICE', 'DD_SERVICE_NAME'], 'OTEL_SERVICE_NAME', warn)
  // service, env and version are fields of their own; as in dd-trace, `DD_TAGS=env:x` stands in for DD_ENV.
  const givenService =
    optionString('service', options.service) ?? envEntry(env, ['DD_SERVICE', 'DD_SERVICE_NAME', 'OTEL_SERVICE_NAME'])?.[1] ?? nonEmpty(tags.service)
  const service = givenService ?? pkgName() ?? 'node'
  const envName = optionString('env', options.env) ?? envText(env, 'DD_ENV') ?? nonEmpty(tags.env)
  const version = optionString('version', options.version) ?? envText(env, 'DD_VERSION') ?? nonEmpty(tags.version) ?? pkgVersion()
  delete tags.service
  delete tags.env
  delete tags.version

  const flushIntervalMs =
    optionInteger('flushIntervalMs', options.flushIntervalMs, 0, 3_600_000) ??
    envInteger(env, 'DD_TRACE_FLUSH_INTERVAL', 2000, 0, 3_600_000, warn)
  const partialFlushMinSpans =
    optionInteger('partialFlushMinSpans', options.partialFlushMinSpans, 1, 1_000_000) ??
    envInteger(env, 'DD_TRACE_PARTIAL_FLUSH_MIN_SPANS', 1000, 1, 1_000_000, warn)

  warnIfBothSet(env, ['DD_TRACE_ENABLED'], 'OTEL_TRACES_EXPORTER', warn)
  warnIfBothSet(env, ['DD_TRACE_DEBUG'], 'OTEL_LOG_LEVEL', warn)
  warnIfBothSet(env, ['DD_TRACE_OTEL_ENABLED'], 'OTEL_SDK_DISABLED', warn)
  const otelSdkDisabled = envText(env, 'OTEL_SDK_DISABLED')

  return Object.freeze({
    service,
    env: envName,
    version,
    tags: Object.freeze(tags),
    enabled:
      optionBoolean('enabled', options.enabled) ??
      (envText(env, 'DD_TRACE_ENABLED') !== undefined ? envBoolean(env, ['DD_TRACE_ENABLED'], true, warn) : (otelTracesExporter(env, warn) ?? true)),
    debug: optionBoolean('debug', options.debug) ?? envBoolean(env, ['DD_TRACE_DEBUG'], envText(env, 'OTEL_LOG_LEVEL')?.toLowerCase() === 'debug', warn),
    url: agentUrl(options, env, warn),
    flushIntervalMs,
    partialFlushMinSpans,
    traceId128BitGeneration:
      optionBoolean('traceId128BitGeneration', options.traceId128BitGeneration) ??
      envBoolean(env, ['DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED'], true, warn),
    traceId128BitLogging:
      optionBoolean('traceId128BitLogging', options.traceId128BitLogging) ??
      envBoolean(env, ['DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED'], true, warn),
    logInjection: optionBoolean('logInjection', options.logInjection) ?? envBoolean(env, ['DD_LOGS_INJECTION'], true, warn),
    maxQueueSpans: optionInteger('maxQueueSpans', options.maxQueueSpans, 1, 100_000_000) ?? 100_000,
    maxPayloadBytes: optionInteger('maxPayloadBytes', options.maxPayloadBytes, 1024, 50 * 1024 * 1024) ?? 8 * 1024 * 1024,
    requestTimeoutMs: optionInteger('requestTimeoutMs', options.requestTimeoutMs, 1, 600_000) ?? 2000,
    flushTimeoutMs: optionInteger('flushTimeoutMs', options.flushTimeoutMs, 1, 600_000) ?? 5000,
    flushOnExit: optionBoolean('flushOnExit', options.flushOnExit) ?? true,
    protocolVersion: protocolVersion(options, env, warn),
    retryDeadlineMs: optionInteger('retryDeadlineMs', options.retryDeadlineMs, 0, 600_000) ?? 15_000,
    retryMaxDelayMs: optionInteger('retryMaxDelayMs', options.retryMaxDelayMs, 1, 600_000) ?? 2000,
    agentDiscovery: optionBoolean('agentDiscovery', options.agentDiscovery) ?? true,
    statsComputation:
      optionBoolean('statsComputation', options.statsComputation) ?? envBoolean(env, ['DD_TRACE_STATS_COMPUTATION_ENABLED'], false, warn),
    nativeSpanEvents: optionBoolean('nativeSpanEvents', options.nativeSpanEvents) ?? envBoolean(env, ['DD_TRACE_NATIVE_SPAN_EVENTS'], false, warn),
    propagation: resolvePropagationConfig(options.propagation, env, warn),
    ...resolveSamplingConfig(options, env, warn),
    openTelemetry:
      optionBoolean('openTelemetry', options.openTelemetry) ??
      (envText(env, 'DD_TRACE_OTEL_ENABLED') !== undefined || otelSdkDisabled === undefined
        ? envBoolean(env, ['DD_TRACE_OTEL_ENABLED'], true, warn)
        : !booleanText('OTEL_SDK_DISABLED', otelSdkDisabled, false, warn)),
    httpServer: resolveHttpServerConfig(env, warn),
    httpClient: resolveHttpClientConfig(env, warn),
    integrations: resolveIntegrations(options.integrations, options.httpClients, env, warn),
    naming: resolveNaming(options, env, warn),
    metrics: resolveMetricsConfig(options, env, warn, givenService === undefined),
    startupLogs: optionBoolean('startupLogs', options.startupLogs) ?? envBoolean(env, ['DD_TRACE_STARTUP_LOGS'], defaults.startupLogs, warn)
  })
}

/** The config of a tracer: `options` over the process's environment, the one place core reads it. */
export function loadConfig(options: ConfigOptions, warn: Warn, defaults?: ConfigDefaults): TracerConfig {
  return resolveConfig(options, process.env, warn, process.cwd(), defaults)
}
