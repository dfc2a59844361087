import { checkOptionNames, type OptionHints, type OptionNames, type ReportOnce } from '../base/option-names.js'
import type { PropagationOptions } from '../propagation/styles.js'
import type { ConfigOptions } from './config.js'
import type { HttpClientOptions } from './http-client-options.js'
import type { DatabaseIntegrationOptions, PgIntegrationOptions } from './integrations.js'
import type { DogStatsDOptions, RuntimeMetricsOptions } from './metrics-config.js'

// The names each options object of createTracer takes. Each table is typed against its options type:
// adding an option to the type without adding it here fails the build (see OptionNames). The resolver
// does not import this file: the tracer runs the check, with its own options added to the table.

export const CONFIG_OPTION_NAMES: OptionNames<ConfigOptions> = {
  service: true,
  env: true,
  version: true,
  tags: true,
  enabled: true,
  debug: true,
  url: true,
  hostname: true,
  port: true,
  flushIntervalMs: true,
  partialFlushMinSpans: true,
  traceId128BitGeneration: true,
  traceId128BitLogging: true,
  logInjection: true,
  maxQueueSpans: true,
  maxPayloadBytes: true,
  requestTimeoutMs: true,
  flushTimeoutMs: true,
  flushOnExit: true,
  protocolVersion: true,
  retryDeadlineMs: true,
  retryMaxDelayMs: true,
  agentDiscovery: true,
  statsComputation: true,
  sampleRate: true,
  samplingRules: true,
  rateLimit: true,
  spanSamplingRules: true,
  nativeSpanEvents: true,
  propagation: true,
  openTelemetry: true,
  httpClients: true,
  integrations: true,
  runtimeMetrics: true,
  dogstatsd: true,
  startupLogs: true,
  spanAttributeSchema: true,
  peerServiceDefaults: true,
  peerServiceMapping: true
}

export const PROPAGATION_OPTION_NAMES: OptionNames<PropagationOptions> = {
  style: true,
  extract: true,
  inject: true,
  extractFirst: true,
  behaviorExtract: true,
  tagsHeaderMaxLength: true,
  baggageMaxItems: true,
  baggageMaxBytes: true,
  baggageTagKeys: true
}

export const RUNTIME_METRICS_OPTION_NAMES: OptionNames<RuntimeMetricsOptions> = {
  enabled: true,
  eventLoop: true,
  gc: true,
  runtimeId: true,
  flushIntervalMs: true
}

export const DOGSTATSD_OPTION_NAMES: OptionNames<DogStatsDOptions> = { hostname: true, port: true }

export const HTTP_CLIENT_OPTION_NAMES: OptionNames<HttpClientOptions> = {
  propagationFilter: true,
  skip: true,
  validateStatus: true,
  service: true,
  patchNodeHttp: true
}

export const DATABASE_OPTION_NAMES: OptionNames<DatabaseIntegrationOptions> = { service: true }

export const PG_OPTION_NAMES: OptionNames<PgIntegrationOptions> = { service: true, dbmPropagationMode: true }

/** The request-span options of `datadog()` and the Fastify plugin, which createTracer does not take. */
const SERVER_SPAN_HINT = 'it is an option of datadog() (Express) and of the Fastify plugin, not of createTracer'

const NOT_SUPPORTED = "it is dd-trace's, and datadog-apm has no such feature"

/**
 * dd-trace's `tracer.init()` options that are spelled differently here, belong elsewhere, or have no
 * counterpart: code moved over from dd-trace is told where each one went rather than offered a near
 * name.
 */
export const DD_TRACE_OPTION_HINTS: OptionHints = {
  flushInterval: "dd-trace's flushInterval is flushIntervalMs here",
  flushMinSpans: "dd-trace's flushMinSpans is partialFlushMinSpans here",
  runtimeMetricsRuntimeId: "dd-trace's runtimeMetricsRuntimeId is runtimeMetrics: { runtimeId } here",
  tracePropagationStyle: "dd-trace's tracePropagationStyle is propagation: { style, inject, extract } here",
  baggageTagKeys: "dd-trace's baggageTagKeys is propagation: { baggageTagKeys } here",
  baggageMaxItems: "dd-trace's baggageMaxItems is propagation: { baggageMaxItems } here",
  baggageMaxBytes: "dd-trace's baggageMaxBytes is propagation: { baggageMaxBytes } here",
  serviceMapping: "dd-trace's serviceMapping is integrations: { <name>: { service } } here",
  dbmPropagationMode: "dd-trace's dbmPropagationMode is integrations: { pg: { dbmPropagationMode } } here",
  plugins: "dd-trace's plugins switch is integrations here (integrations: { http: false })",
  spanComputePeerService: "dd-trace's spanComputePeerService is peerServiceDefaults here",
  stats: "dd-trace's stats is statsComputation here",
  logger: "dd-trace's logger is diagnostics here (an object with write(line))",
  logLevel: 'set debug: true (or DD_TRACE_DEBUG) for the details of failures',
  ingestion: "dd-trace's ingestion.sampleRate is sampleRate here",
  clientIpEnabled: `dd-trace's clientIpEnabled is clientIp: ${SERVER_SPAN_HINT}`,
  clientIpHeader: SERVER_SPAN_HINT,
  headerTags: `dd-trace's headerTags is headers: ${SERVER_SPAN_HINT}`,
  headers: SERVER_SPAN_HINT,
  clientIp: SERVER_SPAN_HINT,
  queryStringObfuscation: SERVER_SPAN_HINT,
  validateStatus: SERVER_SPAN_HINT,
  skip: SERVER_SPAN_HINT,
  hooks: SERVER_SPAN_HINT,
  profiling: NOT_SUPPORTED,
  appsec: NOT_SUPPORTED,
  iast: NOT_SUPPORTED,
  llmobs: NOT_SUPPORTED,
  dynamicInstrumentation: NOT_SUPPORTED,
  remoteConfig: NOT_SUPPORTED,
  dsmEnabled: NOT_SUPPORTED,
  codeOriginForSpans: NOT_SUPPORTED,
  site: "it is dd-trace's agentless setting; datadog-apm sends to an agent (url)",
  experimental: NOT_SUPPORTED,
  lookup: NOT_SUPPORTED,
  reportHostname: NOT_SUPPORTED,
  apmTracingEnabled: NOT_SUPPORTED,
  cloudPayloadTagging: NOT_SUPPORTED,
  middlewareTracingEnabled: "Express middleware is not traced one by one here (one span per request)",
  traceWebsocketMessagesEnabled: NOT_SUPPORTED,
  inferredProxyServicesEnabled: NOT_SUPPORTED
}

const INTEGRATION_OPTION_NAMES: Readonly<Record<string, Readonly<Record<string, true>>>> = {
  http: HTTP_CLIENT_OPTION_NAMES,
  mysql2: DATABASE_OPTION_NAMES,
  ioredis: DATABASE_OPTION_NAMES,
  redis: DATABASE_OPTION_NAMES,
  pg: PG_OPTION_NAMES
}

function isPlainObject(value: unknown): value is object {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * Reports the keys of createTracer's options that no option has, the nested objects included
 * (`propagation`, `runtimeMetrics`, `dogstatsd`, `httpClients`, each `integrations` entry), once per key.
 * `known` is the top-level table, which the tracer extends with its own options.
 */
export function checkConfigOptionNames(options: ConfigOptions, known: Readonly<Record<string, true>>, where: string, report: ReportOnce): void {
  if (!isPlainObject(options)) return
  checkOptionNames(options, known, where, report, { hints: DD_TRACE_OPTION_HINTS })
  const nested = (value: unknown, names: Readonly<Record<string, true>>, prefix: string): void => {
    if (isPlainObject(value)) checkOptionNames(value, names, where, report, { prefix })
  }
  nested(options.propagation, PROPAGATION_OPTION_NAMES, 'propagation.')
  nested(options.runtimeMetrics, RUNTIME_METRICS_OPTION_NAMES, 'runtimeMetrics.')
  nested(options.dogstatsd, DOGSTATSD_OPTION_NAMES, 'dogstatsd.')
  nested(options.httpClients, HTTP_CLIENT_OPTION_NAMES, 'httpClients.')
  const integrations: unknown = options.integrations
  if (isPlainObject(integrations)) {
    for (const [name, value] of Object.entries(integrations)) {
      const names = Object.hasOwn(INTEGRATION_OPTION_NAMES, name) ? INTEGRATION_OPTION_NAMES[name] : undefined
      if (names !== undefined) nested(value, names, `integrations.${name}.`)
    }
  }
}
