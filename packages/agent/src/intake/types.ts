import type { RuleId } from './rules.js'

export interface ReceivedSpan {
  trace_id: bigint
  span_id: bigint
  parent_id: bigint
  name: string
  service: string
  resource: string
  type: string
  start: bigint
  duration: bigint
  error: number
  meta: Record<string, string>
  metrics: Record<string, number>
  /** Present only when the client sent the field. Values are the raw bin payloads (msgpack inside). */
  meta_struct?: Record<string, Uint8Array>
  /** Present only when the client sent the field; plain decoded values, 64-bit integers as bigint. */
  span_links?: unknown[]
  span_events?: unknown[]
}

/** Why the real agent would drop the whole trace (`TracesDropped.<reason>`); the intake stores it anyway. */
export type DropReason = 'empty_trace' | 'trace_id_zero' | 'span_id_zero' | 'foreign_span'

export interface ReceivedTrace {
  spans: ReceivedSpan[]
  /** Request headers, keys lowercased. */
  headers: Record<string, string>
  receivedAt: number
  endpoint: string
  /** Set when the Datadog Agent would have dropped this trace; see the README. */
  dropReason?: DropReason
  /** The `id` of the payload it came in, assigned when stored. */
  payloadId?: number
}

export interface ReceivedPayload {
  method: string
  path: string
  /** Request headers, keys lowercased; repeated headers joined with ", ". */
  headers: Record<string, string>
  /** Body bytes read (0 when refused on Content-Length alone). */
  bytes: number
  /** Traces decoded from the body (0 when it could not be decoded). */
  traceCount: number
  /** HTTP status answered; 0 when the client went away before an answer was possible. */
  status: number
  receivedAt: number
  /** The reason sent with a 400 or 413. */
  error?: string
  /** A sequence number, assigned when stored: 1 for the first payload the intake received. */
  id?: number
}

export interface Violation {
  rule: RuleId
  message: string
  /** Index of the trace in the payload's array of traces. */
  traceIndex?: number
  /** The trace's id (low 64 bits), when the violation concerns one trace or span. */
  traceId?: bigint
  spanId?: bigint
  receivedAt: number
  endpoint: string
  /** The `id` of the payload it was found in, assigned when stored. */
  payloadId?: number
}
