import { Buffer } from 'node:buffer'
import { isSqlSpan, shownMeta, shownResource } from './span-display.js'
import { shownEvents, shownLinks, type ShownEvent, type ShownLink } from './span-extras.js'
import type { StoredTrace, TraceOverview } from './trace-index.js'
import type { ReceivedPayload, ReceivedSpan, Violation } from '../intake/types.js'

// The JSON the intake's API answers. 64-bit ids and epoch-ns timestamps are decimal strings (a JSON number
// past 2^53 is rounded by every reader); durations and offsets are numbers of ns (exact below 104 days).

export interface TraceListItemJson {
  /** Low 64 bits, decimal: what `/api/traces/<id>` takes. */
  traceId: string
  /** 32 hex digits when the high half (`_dd.p.tid`) arrived, else 16. */
  traceIdHex: string
  /** Of the root span (see `rootCount`). */
  service: string
  name: string
  resource: string
  /** The root span's `http.status_code`, if any. */
  status: string | null
  error: boolean
  errorCount: number
  spanCount: number
  services: string[]
  /** Spans without a parent in the trace: 1 when the trace is whole. */
  rootCount: number
  /** Earliest span start, ns since the epoch. */
  start: string
  startMs: number
  durationNs: number
  chunkCount: number
  /** When its last chunk arrived, ms since the epoch. */
  receivedAt: number
  dropReason: string | null
  violationCount: number
}

export interface SpanJson {
  trace_id: string
  span_id: string
  parent_id: string
  service: string
  name: string
  /** As the Datadog Agent shows it: on `sql` and `cassandra` spans, obfuscated (and `meta['sql.query']` too). */
  resource: string
  /** On `sql` and `cassandra` spans only: the resource as the tracer sent it. */
  resource_raw?: string
  type: string
  /** ns since the epoch. */
  start: string
  /** ns from the start of the trace. */
  offsetNs: number
  duration: number
  error: number
  meta: Record<string, string>
  metrics: Record<string, number>
  /** Each value's bytes, base64 (msgpack inside). */
  meta_struct?: Record<string, string>
  span_links?: unknown[]
  span_events?: unknown[]
  /** The span's events, from `span_events` or the JSON of meta `events`, oldest first. */
  events?: ShownEvent[]
  /** The span's links, from the JSON of meta `_dd.span_links` or `span_links`. */
  links?: ShownLink[]
}

export interface ViolationJson {
  rule: string
  message: string
  endpoint: string
  receivedAt: number
  payloadId: number | null
  traceIndex: number | null
  traceId: string | null
  spanId: string | null
}

export interface PayloadJson {
  id: number | null
  method: string
  path: string
  status: number
  bytes: number
  traceCount: number
  receivedAt: number
  error: string | null
  headers: Record<string, string>
}

export function traceIdHex(overview: TraceOverview): string {
  const low = overview.traceId.toString(16).padStart(16, '0')
  const high = overview.traceIdHigh
  return high !== undefined && /^[0-9a-f]{16}$/.test(high) ? high + low : low
}

export function traceListItem(trace: StoredTrace, violationCount: number): TraceListItemJson {
  const o = trace.overview()
  const root = o.root
  return {
    traceId: o.traceId.toString(),
    traceIdHex: traceIdHex(o),
    service: root?.service ?? '',
    name: root?.name ?? '',
    resource: root === undefined ? '' : shownResource(root),
    status: root?.meta['http.status_code'] ?? null,
    error: o.errorCount > 0,
    errorCount: o.errorCount,
    spanCount: o.spanCount,
    services: o.services,
    rootCount: o.rootCount,
    start: o.start.toString(),
    startMs: Number(o.start / 1_000_000n),
    durationNs: Number(o.duration),
    chunkCount: o.chunkCount,
    receivedAt: o.lastReceivedAt,
    dropReason: o.dropReason ?? null,
    violationCount
  }
}

export function spanJson(span: ReceivedSpan, traceStart: bigint): SpanJson {
  const out: SpanJson = {
    trace_id: span.trace_id.toString(),
    span_id: span.span_id.toString(),
    parent_id: span.parent_id.toString(),
    service: span.service,
    name: span.name,
    resource: shownResource(span),
    type: span.type,
    start: span.start.toString(),
    offsetNs: Number(span.start - traceStart),
    duration: Number(span.duration),
    error: span.error,
    meta: shownMeta(span),
    metrics: span.metrics
  }
  if (isSqlSpan(span)) out.resource_raw = span.resource
  if (span.meta_struct !== undefined) {
    const metaStruct: Record<string, string> = {}
    for (const [key, bytes] of Object.entries(span.meta_struct)) {
      Object.defineProperty(metaStruct, key, { value: Buffer.from(bytes).toString('base64'), enumerable: true, writable: true, configurable: true })
    }
    out.meta_struct = metaStruct
  }
  if (span.span_links !== undefined) out.span_links = span.span_links
  if (span.span_events !== undefined) out.span_events = span.span_events
  const events = shownEvents(span)
  if (events !== undefined) out.events = events
  const links = shownLinks(span)
  if (links !== undefined) out.links = links
  return out
}

export function violationJson(v: Violation): ViolationJson {
  return {
    rule: v.rule,
    message: v.message,
    endpoint: v.endpoint,
    receivedAt: v.receivedAt,
    payloadId: v.payloadId ?? null,
    traceIndex: v.traceIndex ?? null,
    traceId: v.traceId?.toString() ?? null,
    spanId: v.spanId?.toString() ?? null
  }
}

export function payloadJson(p: ReceivedPayload): PayloadJson {
  return {
    id: p.id ?? null,
    method: p.method,
    path: p.path,
    status: p.status,
    bytes: p.bytes,
    traceCount: p.traceCount,
    receivedAt: p.receivedAt,
    error: p.error ?? null,
    headers: p.headers
  }
}

/** JSON.stringify that writes the bigints decoded from span links and events as decimal strings. */
export function stringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
}
