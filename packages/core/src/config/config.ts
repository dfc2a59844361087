import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { DiagnosticSink } from '../base/diagnostics.js'
import type { Exporter } from '../export/exporter.js'
import type { HttpClientOptions } from '../integrations/client-span.js'
import { resolvePropagationConfig, type PropagationConfig, type PropagationOptions } from '../propagation/styles.js'
import { resolveSamplingConfig } from '../sampling/sampling-config.js'
import type { SamplingRule, SpanSamplingRule } from '../sampling/sampling-rules.js'

export type TagValue = string | number | boolean

/** Options of `createTracer`. Every field is optional; each one wins over its `DD_*` variable. */
export interface TracerOptions {
  /** Service name. Env `DD_SERVICE` (`DD_SERVICE_NAME`, `OTEL_SERVICE_NAME`); default: the `name` in the working directory's package.json, else `node`. */
  service?: string
  /** Env `DD_ENV`. */
  env?: string
  /** Env `DD_VERSION`; default: the `version` in the working directory's package.json. */
  version?: string
  /** Tags on every span. Env `DD_TAGS` (`key:value` pairs separated by commas or spaces); options are merged over it. */
  tags?: Record<string, TagValue>
  /** Env `DD_TRACE_ENABLED`; default true. A disabled tracer hands out a no-op span and sends nothing. */
  enabled?: boolean
  /** Env `DD_TRACE_DEBUG`; default false. Prints details of the tracer's own failures. */
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
  /** Header styles, limits and baggage tags of context propagation; each field has its `DD_TRACE_PROPAGATION_*` variable. */
  propagation?: PropagationOptions
  /** Trace outgoing fetch/undici (and node:http where Node allows) requests, as `tracer.instrumentHttpClients(options)`. Default false. */
  httpClients?: boolean | HttpClientOptions
  /** Replaces the agent exporter (tests use the in-memory one from `@datadog-apm/core/testing`). */
  exporter?: Exporter
  /** Where warnings go; default stderr. */
  diagnostics?: DiagnosticSink
}

/** Options after merging over the environment, checked once. */
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
  readonly propagation: PropagationConfig
  readonly sampleRate: number | undefined
  readonly samplingRules: readonly SamplingRule[]
  readonly rateLimit: number
  readonly spanSamplingRules: readonly SpanSamplingRule[]
}

const DEFAULT_SOCKET = '/var/run/datadog/apm.socket'

type Env = Record<string, string | undefined>
type Warn = (message: string) => void

function envValue(env: Env, names: readonly string[]): [string, string] | undefined {
  for (const name of names) {
    const value = env[name]
    if (value !== undefined && value.trim() !== '') return [name, value.trim()]
  }
  return undefined
}

function envBoolean(env: Env, names: readonly string[], fallback: boolean, warn: Warn): boolean {
  const found = envValue(env, names)
  if (found === undefined) return fallback
  const value = found[1].toLowerCase()
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  warn(`${found[0]}=${JSON.stringify(found[1])} is not true or false; using ${fallback}`)
  return fallback
}

function envInteger(env: Env, name: string, fallback: number, min: number, max: number, warn: Warn): number {
  const found = envValue(env, [name])
  if (found === undefined) return fallback
  const value = Number(found[1])
  if (Number.isInteger(value) && value >= min && value <= max) return value
  warn(`${name}=${JSON.stringify(found[1])} is not a whole number from ${min} to ${max}; using ${fallback}`)
  return fallback
}

function optionInteger(name: string, value: number | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`datadog-apm: option ${name} must be a whole number from ${min} to ${max}, got ${String(value)}`)
  }
  return value
}

function optionBoolean(name: string, value: boolean | undefined): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  throw new TypeError(`datadog-apm: option ${name} must be true or false, got ${String(value)}`)
}

function optionString(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`datadog-apm: option ${name} must be a non-empty string, got ${JSON.stringify(value)}`)
  }
  return value
}

/** `DD_TAGS`: `key:value` pairs separated by commas, or by spaces when there is no comma. */
export function parseTags(text: string): Record<string, string> {
  const tags: Record<string, string> = {}
  const parts = text.includes(',') ? text.split(',') : text.split(' ')
  for (const part of parts) {
    const item = part.trim()
    if (item === '') continue
    const colon = item.indexOf(':')
    const key = (colon === -1 ? item : item.slice(0, colon)).trim()
    if (key === '') continue
    tags[key] = colon === -1 ? '' : item.slice(colon + 1).trim()
  }
  return tags
}

function agentUrl(options: TracerOptions, env: Env, warn: Warn): URL {
  const explicit = optionString('url', options.url)
  const fromEnv = explicit === undefined ? envValue(env, ['DD_TRACE_AGENT_URL', 'DD_TRACE_URL']) : undefined
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
  const hostEnv = envValue(env, ['DD_AGENT_HOST', 'DD_TRACE_AGENT_HOSTNAME'])
  const portEnvSet = envValue(env, ['DD_TRACE_AGENT_PORT']) !== undefined
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

function protocolVersion(options: TracerOptions, env: Env, warn: Warn): '0.4' | '0.5' | 'auto' {
  const option = options.protocolVersion
  if (option !== undefined) {
    if (!PROTOCOLS.includes(option)) throw new TypeError(`datadog-apm: option protocolVersion must be '0.4', '0.5' or 'auto', got ${JSON.stringify(option)}`)
    return option
  }
  const found = envValue(env, ['DD_TRACE_AGENT_PROTOCOL_VERSION'])
  if (found === undefined) return 'auto'
  const value = PROTOCOLS.find((p) => p === found[1])
  if (value !== undefined) return value
  warn(`DD_TRACE_AGENT_PROTOCOL_VERSION=${JSON.stringify(found[1])} is not 0.4, 0.5 or auto; using auto`)
  return 'auto'
}

/**
 * Merges options over `DD_*` variables. A bad variable gets one warning naming it and the default; a bad
 * option is a TypeError, since the code that passed it can be fixed.
 */
export function resolveConfig(options: TracerOptions, env: Env, warn: Warn, cwd: string = process.cwd()): TracerConfig {
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
  const service =
    optionString('service', options.service) ??
    envValue(env, ['DD_SERVICE', 'DD_SERVICE_NAME', 'OTEL_SERVICE_NAME'])?.[1] ??
    pkgName() ??
    'node'
  const tags: Record<string, string> = {}
  const tagsEnv = envValue(env, ['DD_TAGS', 'DD_TRACE_TAGS', 'DD_TRACE_GLOBAL_TAGS'])
  if (tagsEnv !== undefined) Object.assign(tags, parseTags(tagsEnv[1]))
  if (options.tags !== undefined) {
    if (options.tags === null || typeof options.tags !== 'object') {
      throw new TypeError('datadog-apm: option tags must be an object of tag names to values')
    }
    for (const [key, value] of Object.entries(options.tags)) tags[key] = String(value)
  }
  // env and version are fields of their own; as in dd-trace, `DD_TAGS=env:x` stands in for DD_ENV.
  const envName = optionString('env', options.env) ?? envValue(env, ['DD_ENV'])?.[1] ?? nonEmpty(tags.env)
  const version = optionString('version', options.version) ?? envValue(env, ['DD_VERSION'])?.[1] ?? nonEmpty(tags.version) ?? pkgVersion()
  delete tags.env
  delete tags.version

  const flushIntervalMs =
    optionInteger('flushIntervalMs', options.flushIntervalMs, 0, 3_600_000) ??
    envInteger(env, 'DD_TRACE_FLUSH_INTERVAL', 2000, 0, 3_600_000, warn)
  const partialFlushMinSpans =
    optionInteger('partialFlushMinSpans', options.partialFlushMinSpans, 1, 1_000_000) ??
    envInteger(env, 'DD_TRACE_PARTIAL_FLUSH_MIN_SPANS', 1000, 1, 1_000_000, warn)

  return {
    service,
    env: envName,
    version,
    tags,
    enabled: optionBoolean('enabled', options.enabled) ?? envBoolean(env, ['DD_TRACE_ENABLED'], true, warn),
    debug: optionBoolean('debug', options.debug) ?? envBoolean(env, ['DD_TRACE_DEBUG'], false, warn),
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
    propagation: resolvePropagationConfig(options.propagation, env, warn),
    ...resolveSamplingConfig(options, env, warn)
  }
}
