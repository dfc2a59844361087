import type { DropReason, ReceivedSpan, ReceivedTrace } from '../intake/types.js'

/** What a list of traces shows about one trace, computed once per change of the trace. */
export interface TraceOverview {
  /** The low 64 bits, as on the wire. */
  traceId: bigint
  /** `_dd.p.tid` (the high 64 bits in hex) when a chunk carries it. */
  traceIdHigh: string | undefined
  /** The earliest-starting span with no parent in the trace. */
  root: ReceivedSpan | undefined
  /** Spans with no parent in the trace: 1 for a whole trace, more when parts are missing or unlinked. */
  rootCount: number
  /** Services in the order their first span started. */
  services: string[]
  spanCount: number
  errorCount: number
  /** Earliest span start, ns since the epoch. */
  start: bigint
  /** Latest span end minus `start`, ns. */
  duration: bigint
  chunkCount: number
  firstReceivedAt: number
  lastReceivedAt: number
  /** The first reason the Datadog Agent would drop one of its chunks. */
  dropReason: DropReason | undefined
}

/**
 * One trace as the intake holds it: every chunk received with its trace id, whichever process or payload
 * it came in. A distributed trace arrives as one chunk per service, a partially flushed one as several.
 */
export class StoredTrace {
  readonly traceId: bigint
  readonly chunks: ReceivedTrace[] = []
  #spanCount = 0
  #spans: ReceivedSpan[] | undefined
  #overview: TraceOverview | undefined

  constructor(traceId: bigint) {
    this.traceId = traceId
  }

  get spanCount(): number {
    return this.#spanCount
  }

  add(chunk: ReceivedTrace): void {
    this.chunks.push(chunk)
    this.#spanCount += chunk.spans.length
    this.#spans = undefined
    this.#overview = undefined
  }

  /** Returns false when the chunk was not part of this trace. */
  remove(chunk: ReceivedTrace): boolean {
    const i = this.chunks.indexOf(chunk)
    if (i === -1) return false
    this.chunks.splice(i, 1)
    this.#spanCount -= chunk.spans.length
    this.#spans = undefined
    this.#overview = undefined
    return true
  }

  /** Every span of every chunk, ordered by start. Cached until the trace changes: do not modify it. */
  spans(): readonly ReceivedSpan[] {
    this.#spans ??= this.chunks.flatMap((chunk) => chunk.spans).sort(byStart)
    return this.#spans
  }

  overview(): TraceOverview {
    this.#overview ??= this.#computeOverview()
    return this.#overview
  }

  #computeOverview(): TraceOverview {
    const spans = this.spans()
    const ids = new Set<bigint>()
    for (const span of spans) ids.add(span.span_id)
    let root: ReceivedSpan | undefined
    let rootCount = 0
    let errorCount = 0
    let traceIdHigh: string | undefined
    let end: bigint | undefined
    const services = new Set<string>()
    for (const span of spans) {
      services.add(span.service)
      if (span.error !== 0) errorCount++
      traceIdHigh ??= span.meta['_dd.p.tid']
      const spanEnd = span.start + (span.duration > 0n ? span.duration : 0n)
      if (end === undefined || spanEnd > end) end = spanEnd
      if (span.parent_id === 0n || span.parent_id === span.span_id || !ids.has(span.parent_id)) {
        rootCount++
        root ??= span
      }
    }
    const start = spans[0]?.start ?? 0n
    let dropReason: DropReason | undefined
    let firstReceivedAt = Infinity
    let lastReceivedAt = 0
    for (const chunk of this.chunks) {
      dropReason ??= chunk.dropReason
      firstReceivedAt = Math.min(firstReceivedAt, chunk.receivedAt)
      lastReceivedAt = Math.max(lastReceivedAt, chunk.receivedAt)
    }
    return {
      traceId: this.traceId,
      traceIdHigh,
      root,
      rootCount,
      services: servicesFromRoot(services, root),
      spanCount: spans.length,
      errorCount,
      start,
      duration: end === undefined ? 0n : end - start,
      chunkCount: this.chunks.length,
      firstReceivedAt,
      lastReceivedAt,
      dropReason
    }
  }
}

function byStart(a: ReceivedSpan, b: ReceivedSpan): number {
  return a.start < b.start ? -1 : a.start > b.start ? 1 : 0
}

/** Chunks grouped by trace id (the low 64 bits: what every chunk of a trace carries on the wire). */
export class TraceIndex {
  readonly #byId = new Map<bigint, StoredTrace>()

  get size(): number {
    return this.#byId.size
  }

  /** Chunks without spans have no trace id and are not indexed. */
  add(chunk: ReceivedTrace): void {
    const id = chunk.spans[0]?.trace_id
    if (id === undefined) return
    let trace = this.#byId.get(id)
    if (trace === undefined) {
      trace = new StoredTrace(id)
      this.#byId.set(id, trace)
    }
    trace.add(chunk)
  }

  remove(chunk: ReceivedTrace): void {
    const id = chunk.spans[0]?.trace_id
    if (id === undefined) return
    const trace = this.#byId.get(id)
    if (trace?.remove(chunk) === true && trace.chunks.length === 0) this.#byId.delete(id)
  }

  get(traceId: bigint): StoredTrace | undefined {
    return this.#byId.get(traceId)
  }

  /** In the order each trace's first chunk arrived. */
  all(): StoredTrace[] {
    return [...this.#byId.values()]
  }

  clear(): void {
    this.#byId.clear()
  }
}

/**
 * The trace's services in order of start, the root's first: the clocks of two processes can be a few
 * milliseconds apart, so a service called early in the trace may seem to start before its caller.
 */
function servicesFromRoot(services: Set<string>, root: ReceivedSpan | undefined): string[] {
  const list = [...services]
  if (root === undefined || list[0] === root.service) return list
  return [root.service, ...list.filter((service) => service !== root.service)]
}
