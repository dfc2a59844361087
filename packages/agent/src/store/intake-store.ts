import { RingBuffer } from './ring-buffer.js'
import { TraceIndex, type StoredTrace } from './trace-index.js'
import { Waiters } from './waiters.js'
import type { ReceivedPayload, ReceivedSpan, ReceivedTrace, Violation } from '../intake/types.js'

export interface WaitForTracesOptions {
  /** Default 5000. */
  timeoutMs?: number
  filter?: (trace: ReceivedTrace) => boolean
}

const LISTED = 20

export const DEFAULT_MAX_SPANS = 250_000

/**
 * What the intake has received, bounded, and the means to wait for more of it. Trace chunks are kept in
 * arrival order, at most `capacity` of them and at most `maxSpans` spans in all (the oldest go first), so
 * the intake can run for days; they are also indexed by trace id, which joins the chunks of one trace.
 */
export class IntakeStore {
  readonly #capacity: number
  readonly #maxSpans: number
  readonly #traces: RingBuffer<ReceivedTrace>
  readonly #index = new TraceIndex()
  readonly #payloads: RingBuffer<ReceivedPayload>
  readonly #violations: RingBuffer<Violation>
  readonly #waiters = new Waiters()
  #spanCount = 0
  #payloadSeq = 0
  #version = 0

  constructor(capacity: number, maxSpans: number = DEFAULT_MAX_SPANS) {
    this.#capacity = capacity
    this.#maxSpans = maxSpans
    this.#traces = new RingBuffer(capacity)
    this.#payloads = new RingBuffer(capacity)
    this.#violations = new RingBuffer(capacity)
  }

  record(payload: ReceivedPayload, traces: readonly ReceivedTrace[], violations: readonly Violation[]): void {
    const id = ++this.#payloadSeq
    payload.id = id
    this.#payloads.push(payload)
    for (const trace of traces) {
      trace.payloadId = id
      this.#forget(this.#traces.push(trace))
      this.#index.add(trace)
      this.#spanCount += trace.spans.length
    }
    // The newest chunk stays even when it alone is over the budget: the client must be able to see it.
    while (this.#spanCount > this.#maxSpans && this.#traces.size > 1) this.#forget(this.#traces.shift())
    for (const violation of violations) {
      violation.payloadId = id
      this.#violations.push(violation)
    }
    this.#version++
    this.#waiters.changed()
  }

  #forget(chunk: ReceivedTrace | undefined): void {
    if (chunk === undefined) return
    this.#index.remove(chunk)
    this.#spanCount -= chunk.spans.length
  }

  /** Grows by one with every payload stored and every clear(): a cheap "has anything changed". */
  get version(): number {
    return this.#version
  }

  get capacity(): number {
    return this.#capacity
  }

  get maxSpans(): number {
    return this.#maxSpans
  }

  get spanCount(): number {
    return this.#spanCount
  }

  /** Chunks, payloads and violations held: what `/api/status` polls, without copying the rings. */
  counts(): { chunks: number; traces: number; payloads: number; violations: number } {
    return { chunks: this.#traces.size, traces: this.#index.size, payloads: this.#payloads.size, violations: this.#violations.size }
  }

  /** Held chunks joined by trace id, in the order each trace's first held chunk arrived. */
  storedTraces(): StoredTrace[] {
    return this.#index.all()
  }

  storedTrace(traceId: bigint): StoredTrace | undefined {
    return this.#index.get(traceId)
  }

  traces(filter?: (trace: ReceivedTrace) => boolean): ReceivedTrace[] {
    const all = this.#traces.toArray()
    return filter === undefined ? all : all.filter(filter)
  }

  spans(): ReceivedSpan[] {
    return this.#traces.toArray().flatMap((trace) => trace.spans)
  }

  payloads(): ReceivedPayload[] {
    return this.#payloads.toArray()
  }

  violations(): Violation[] {
    return this.#violations.toArray()
  }

  clear(): void {
    this.#traces.clear()
    this.#index.clear()
    this.#spanCount = 0
    this.#payloads.clear()
    this.#violations.clear()
    this.#version++
  }

  /** Rejects every pending wait; later waits that are not already satisfied reject at once. */
  close(): void {
    this.#waiters.close()
  }

  waitForTraces(count: number, options: WaitForTracesOptions = {}): Promise<ReceivedTrace[]> {
    const { timeoutMs = 5000, filter } = options
    if (!Number.isInteger(count) || count < 1) {
      return Promise.reject(new RangeError(`waitForTraces: count must be a positive integer, got ${count}`))
    }
    if (count > this.#capacity) {
      return Promise.reject(new RangeError(`waitForTraces: count ${count} exceeds maxTraces (${this.#capacity}); it could never be reached`))
    }
    const matching = (): ReceivedTrace[] | undefined => {
      const found = this.traces(filter)
      return found.length >= count ? found : undefined
    }
    return this.#waiters.wait(matching, timeoutMs, {
      closed: () => this.#describe(`the agent closed while waiting for ${count} traces`, filter),
      timedOut: () => this.#describe(`expected ${count} traces${filter ? ' matching the filter' : ''} within ${timeoutMs} ms`, filter)
    })
  }

  // The timeout message is most of what a failing end-to-end test has to go on, so it lists what did arrive.
  #describe(headline: string, filter: ((trace: ReceivedTrace) => boolean) | undefined): string {
    const traces = this.#traces.toArray()
    const payloads = this.#payloads.toArray()
    const violations = this.#violations.toArray()
    let matching = traces.length
    if (filter !== undefined) {
      try {
        matching = traces.filter(filter).length
      } catch {
        matching = NaN
      }
    }
    const lines = [
      `waitForTraces: ${headline}; got ${matching}${filter ? ` matching (of ${traces.length} received)` : ''}.`,
      `Traces (${traces.length}):`
    ]
    for (const [i, trace] of traces.slice(-LISTED).entries()) lines.push(`  ${describeTrace(trace, i)}`)
    lines.push(`Payloads (${payloads.length}):`)
    for (const p of payloads.slice(-LISTED)) {
      lines.push(`  ${p.method} ${p.path} -> ${p.status || 'no answer'}${p.error ? ` ${p.error}` : ''}, ${p.bytes} bytes, ${p.traceCount} traces`)
    }
    const byRule = new Map<string, number>()
    for (const v of violations) byRule.set(v.rule, (byRule.get(v.rule) ?? 0) + 1)
    lines.push(`Violations (${violations.length}): ${[...byRule].map(([rule, n]) => `${rule} x${n}`).join(', ') || 'none'}`)
    return lines.join('\n')
  }
}

function describeTrace(trace: ReceivedTrace, index: number): string {
  const root = trace.spans.find((s) => s.parent_id === 0n) ?? trace.spans[0]
  const head = root === undefined
    ? 'no spans'
    : `${root.service}/${root.name} ${JSON.stringify(root.resource)} trace_id=${root.trace_id}`
  const dropped = trace.dropReason ? ` [agent would drop: ${trace.dropReason}]` : ''
  return `#${index} ${head}, ${trace.spans.length} spans${dropped}`
}
