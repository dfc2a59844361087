import { activeSpan, logIds, tracerConfigOf, type Span, type TracerConfig } from '@datadog-apm/core'

/** The `dd` object of a log record, as dd-trace writes it; env and version only when they are set. */
export interface DdFields {
  trace_id?: string
  span_id?: string
  service?: string
  env?: string
  version?: string
}

/** What one tracer config contributes to every line, worked out once per config. */
interface ConfigParts {
  /** `,"service":…,"env":…,"version":…` (each only when set), to follow the ids inside `dd`. */
  readonly tail: string
  /** The whole `,"dd":{…}` of a line outside any span; '' with log injection off or nothing to say. */
  readonly idleLine: string
  readonly logInjection: boolean
  readonly service: string | undefined
  readonly env: string | undefined
  readonly version: string | undefined
}

const configParts = new WeakMap<TracerConfig, ConfigParts>()

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function partsOf(config: TracerConfig): ConfigParts {
  let parts = configParts.get(config)
  if (parts !== undefined) return parts
  const service = nonEmpty(config.service)
  const env = nonEmpty(config.env)
  const version = nonEmpty(config.version)
  const fields: string[] = []
  if (service !== undefined) fields.push('"service":' + JSON.stringify(service))
  if (env !== undefined) fields.push('"env":' + JSON.stringify(env))
  if (version !== undefined) fields.push('"version":' + JSON.stringify(version))
  const logInjection = config.logInjection !== false
  parts = {
    tail: fields.map((field) => ',' + field).join(''),
    idleLine: logInjection && fields.length > 0 ? ',"dd":{' + fields.join(',') + '}' : '',
    logInjection,
    service,
    env,
    version
  }
  configParts.set(config, parts)
  return parts
}

// One-entry caches keyed by span: consecutive lines of one request (the common case) format the ids
// once. A WeakMap per span would also catch interleaved requests, but its insert costs more than
// logIds itself. Holding the last span keeps one finished span alive until the next line; its trace
// has handed its spans to the exporter by then, so that is a few hundred bytes.
let lineSpan: Span | undefined
let lineFragment = ''
let idsSpan: Span | undefined
let idsTraceId = ''
let idsSpanId = ''

/** The active span, unless it is a disabled tracer's placeholder, which names no trace. */
export function correlatedSpan(): Span | undefined {
  const span = activeSpan()
  return span === undefined || tracerConfigOf(span) === undefined ? undefined : span
}

/** `,"dd":{…}` for a line written while `span` is active; '' when its tracer has log injection off. */
export function spanLineFragment(span: Span): string {
  if (span === lineSpan) return lineFragment
  const config = tracerConfigOf(span)
  if (config === undefined) return ''
  const parts = partsOf(config)
  let fragment = ''
  if (parts.logInjection) {
    const ids = logIds(span)
    fragment = ',"dd":{"trace_id":"' + ids.traceId + '","span_id":"' + ids.spanId + '"' + parts.tail + '}'
  }
  lineSpan = span
  lineFragment = fragment
  return fragment
}

/** `,"dd":{…}` for a line outside any span: service, env and version of `config`, or ''. */
export function idleLineFragment(config: TracerConfig): string {
  return partsOf(config).idleLine
}

/**
 * A fresh `dd` object for a record built by another logger, or undefined when there is nothing to add.
 * Fresh on every call: pino and winston hand records to user formatters that may change them.
 */
export function ddObject(span: Span | undefined, idleConfig: () => TracerConfig): DdFields | undefined {
  const parts = partsOf((span === undefined ? undefined : tracerConfigOf(span)) ?? idleConfig())
  if (!parts.logInjection) return undefined
  const dd: DdFields = {}
  if (span !== undefined) {
    if (span !== idsSpan) {
      const ids = logIds(span)
      idsSpan = span
      idsTraceId = ids.traceId
      idsSpanId = ids.spanId
    }
    dd.trace_id = idsTraceId
    dd.span_id = idsSpanId
  } else if (parts.service === undefined && parts.env === undefined && parts.version === undefined) {
    return undefined
  }
  if (parts.service !== undefined) dd.service = parts.service
  if (parts.env !== undefined) dd.env = parts.env
  if (parts.version !== undefined) dd.version = parts.version
  return dd
}
