import { Buffer } from 'node:buffer'
import type { MsgpackNode } from './msgpack-decoder.js'
import { readSpan, type SpanIssue } from './read-span.js'
import { Limits, Rule, type RuleId } from './rules.js'
import { isSqlSpan, obfuscatedResourceBytes } from '../store/span-display.js'
import type { DropReason, ReceivedSpan, ReceivedTrace, Violation } from './types.js'

export interface ValidationInput {
  /** Request headers, keys lowercased. */
  headers: Record<string, string>
  /** Body bytes read, or undefined when the body was not read to its end (refused or aborted). */
  bytes: number | undefined
  /** The decoded body; undefined when there is none to look at (refused, aborted, undecodable). */
  root: MsgpackNode | undefined
  endpoint: string
  receivedAt: number
}

export interface ValidationResult {
  traces: ReceivedTrace[]
  violations: Violation[]
  /** Set when the body is not an array of traces: nothing can be stored and the answer is a 400. */
  rejection?: string
}

const REQUIRED_HEADERS: ReadonlyArray<readonly [string, RuleId]> = [
  ['datadog-meta-lang', Rule.metaLangHeaderMissing],
  ['datadog-meta-lang-version', Rule.metaLangVersionHeaderMissing],
  ['datadog-meta-lang-interpreter', Rule.metaLangInterpreterHeaderMissing],
  ['datadog-meta-tracer-version', Rule.tracerVersionHeaderMissing]
]

const TRACE_ID_HIGH = /^[0-9a-f]{16}$/
const DECIMAL = /^\d+$/
// The agent's normalizer treats any start before this as bogus.
const YEAR_2000_NS = 946_684_800_000_000_000n

/** Checks one trace-intake request; also turns its body into ReceivedTraces. */
export function validateRequest(input: ValidationInput): ValidationResult {
  const violations: Violation[] = []
  const add = (rule: RuleId, message: string, traceIndex?: number, spanId?: bigint, traceId?: bigint): void => {
    const v: Violation = { rule, message, receivedAt: input.receivedAt, endpoint: input.endpoint }
    if (traceIndex !== undefined) v.traceIndex = traceIndex
    if (traceId !== undefined) v.traceId = traceId
    if (spanId !== undefined) v.spanId = spanId
    violations.push(v)
  }
  checkHeaders(input, add)
  if (input.root === undefined) return { traces: [], violations }
  const root = input.root
  if (root.kind !== 'array') {
    add(Rule.payloadNotArray, `body is ${root.kind} (${root.format}), expected an array of traces`)
    return { traces: [], violations, rejection: Rule.payloadNotArray }
  }
  checkTraceCount(input.headers['x-datadog-trace-count'], root.items.length, add)
  const traces: ReceivedTrace[] = []
  root.items.forEach((traceNode, traceIndex) => {
    if (traceNode.kind !== 'array') {
      add(Rule.traceNotArray, `trace ${traceIndex} is ${traceNode.kind} (${traceNode.format}), expected an array of spans`, traceIndex)
      return
    }
    const spans: ReceivedSpan[] = []
    for (const spanNode of traceNode.items) {
      const issues: SpanIssue[] = []
      const span = readSpan(spanNode, issues)
      if (span !== undefined) {
        checkSpanValues(span, issues)
        spans.push(span)
      }
      for (const issue of issues) add(issue.rule, issue.message, traceIndex, span?.span_id, span?.trace_id)
    }
    const trace: ReceivedTrace = { spans, headers: input.headers, receivedAt: input.receivedAt, endpoint: input.endpoint }
    const dropReason = checkTrace(spans, traceIndex, add)
    if (dropReason !== undefined) trace.dropReason = dropReason
    traces.push(trace)
  })
  return { traces, violations }
}

type Add = (rule: RuleId, message: string, traceIndex?: number, spanId?: bigint, traceId?: bigint) => void

function checkHeaders(input: ValidationInput, add: Add): void {
  const { headers } = input
  const contentType = headers['content-type']
  const mediaType = contentType?.split(';')[0].trim().toLowerCase()
  if (mediaType !== 'application/msgpack') {
    add(Rule.contentTypeNotMsgpack, contentType === undefined
      ? 'Content-Type is missing; the agent would decode the body as JSON'
      : `Content-Type is ${JSON.stringify(contentType)}, expected application/msgpack (decoded as msgpack anyway)`)
  }
  const contentLength = headers['content-length']
  if (contentLength === undefined) {
    add(Rule.contentLengthMissing, 'Content-Length is missing (chunked upload?)')
  } else if (input.bytes !== undefined && contentLength !== String(input.bytes)) {
    add(Rule.contentLengthMismatch, `Content-Length is ${contentLength}, the body had ${input.bytes} bytes`)
  }
  for (const [name, rule] of REQUIRED_HEADERS) {
    if (!headers[name]) add(rule, `${name} header is missing or empty`)
  }
  const traceCount = headers['x-datadog-trace-count']
  if (traceCount === undefined) {
    add(Rule.traceCountHeaderMissing, 'X-Datadog-Trace-Count header is missing; the test agent fails such requests')
  } else if (!DECIMAL.test(traceCount.trim())) {
    add(Rule.traceCountHeaderInvalid, `X-Datadog-Trace-Count is ${JSON.stringify(traceCount)}, not an integer`)
  }
}

function checkTraceCount(header: string | undefined, count: number, add: Add): void {
  if (header === undefined || !DECIMAL.test(header.trim())) return
  if (Number(header) !== count) {
    add(Rule.traceCountHeaderMismatch, `X-Datadog-Trace-Count is ${header.trim()}, the body holds ${count} traces`)
  }
}

// The agent's normalizer drops the whole trace for any of these; report every offending span, keep the
// first reason as the trace's drop reason.
function checkTrace(spans: ReceivedSpan[], traceIndex: number, add: Add): DropReason | undefined {
  let dropReason: DropReason | undefined
  const drop = (reason: DropReason): void => {
    dropReason ??= reason
  }
  const first = spans[0]
  if (first === undefined) {
    add(Rule.traceEmpty, `trace ${traceIndex} has no spans; the agent drops it (empty_trace)`, traceIndex)
    return 'empty_trace'
  }
  const seen = new Set<bigint>()
  for (const span of spans) {
    if (span.trace_id === 0n) {
      add(Rule.traceIdZero, 'trace_id is 0; the agent drops the whole trace (trace_id_zero)', traceIndex, span.span_id, first.trace_id)
      drop('trace_id_zero')
    }
    if (span.span_id === 0n) {
      add(Rule.spanIdZero, 'span_id is 0; the agent drops the whole trace (span_id_zero)', traceIndex, span.span_id, first.trace_id)
      drop('span_id_zero')
    }
    if (span.trace_id !== first.trace_id) {
      add(Rule.foreignSpan, `trace_id ${span.trace_id} differs from the first span's ${first.trace_id}; the agent drops the whole trace (foreign_span)`, traceIndex, span.span_id, first.trace_id)
      drop('foreign_span')
    }
    if (seen.has(span.span_id)) {
      add(Rule.duplicateSpanId, `span_id ${span.span_id} appears more than once in the trace`, traceIndex, span.span_id, first.trace_id)
    }
    seen.add(span.span_id)
  }
  return dropReason
}

function checkLength(value: string, limit: number, rule: RuleId, what: string, issues: SpanIssue[]): void {
  if (value.length * 3 <= limit) return
  const bytes = Buffer.byteLength(value, 'utf8')
  if (bytes > limit) issues.push({ rule, message: `${what} is ${bytes} bytes, over the agent's limit of ${limit}; it truncates` })
}

/** The checks the agent's normalizer and truncator imply, made on an already-read span. */
export function checkSpanValues(span: ReceivedSpan, issues: SpanIssue[]): void {
  const push = (rule: RuleId, message: string): void => {
    issues.push({ rule, message })
  }
  if (span.service === '') push(Rule.serviceEmpty, 'service is empty; the agent renames it unnamed-<lang>-service')
  if (span.name === '') push(Rule.nameEmpty, 'name is empty; the agent renames it unnamed_operation')
  if (span.resource === '') push(Rule.resourceEmpty, 'resource is empty; the agent copies the name into it')
  checkLength(span.service, Limits.serviceBytes, Rule.serviceTooLong, 'service', issues)
  checkLength(span.name, Limits.nameBytes, Rule.nameTooLong, 'name', issues)
  checkLength(span.type, Limits.typeBytes, Rule.typeTooLong, 'type', issues)
  if (!isSqlSpan(span)) checkLength(span.resource, Limits.resourceBytes, Rule.resourceTooLong, 'resource', issues)
  else if (span.resource.length * 6 > Limits.resourceBytes) {
    // The agent obfuscates SQL before it truncates: a long statement is fine if its obfuscation fits.
    // Obfuscation at most doubles a statement's length (a space around each token), so a statement
    // under a sixth of the limit in UTF-16 units fits whatever its characters.
    const bytes = obfuscatedResourceBytes(span)
    if (bytes > Limits.resourceBytes) issues.push({ rule: Rule.resourceTooLong, message: `resource is ${bytes} bytes once obfuscated, over the agent's limit of ${Limits.resourceBytes}; it truncates` })
  }
  if (span.start < YEAR_2000_NS) {
    push(Rule.startBefore2000, `start is ${span.start} ns, before 2000-01-01 (a unit other than ns?); the agent replaces it with now - duration`)
  }
  if (span.duration < 0n) push(Rule.durationNegative, `duration is ${span.duration}; the agent sets it to 0`)
  for (const [key, value] of Object.entries(span.meta)) {
    checkLength(key, Limits.metaKeyBytes, Rule.metaKeyTooLong, `meta key ${JSON.stringify(key.slice(0, 40))}…`, issues)
    checkLength(value, Limits.metaValueBytes, Rule.metaValueTooLong, `meta[${JSON.stringify(key)}]`, issues)
  }
  for (const key of Object.keys(span.metrics)) {
    checkLength(key, Limits.metricsKeyBytes, Rule.metricsKeyTooLong, `metrics key ${JSON.stringify(key.slice(0, 40))}…`, issues)
  }
  const status = span.meta['http.status_code']
  if (status !== undefined && !(DECIMAL.test(status) && Number(status) >= 100 && Number(status) <= 599)) {
    push(Rule.httpStatusCodeInvalid, `meta http.status_code is ${JSON.stringify(status)}, not an integer in 100-599; the agent removes it`)
  }
  const high = span.meta['_dd.p.tid']
  if (high !== undefined && !TRACE_ID_HIGH.test(high)) {
    push(Rule.traceIdHighInvalid, `meta _dd.p.tid is ${JSON.stringify(high)}, expected 16 lowercase hex characters`)
  }
}
