import { runSuppressed } from '../model/context.js'
import type { Diagnostics } from '../base/diagnostics.js'
import type { CoreSpan } from '../model/span.js'
import type { BufferPool } from '../wire/buffer-pool.js'
import type { EncodedPayload, ProtocolVersion, SpanDecorations } from '../wire/encode-span.js'
import { PayloadBuilder, type DropSink } from './payload-builder.js'

export interface BatcherOptions {
  readonly decorations: SpanDecorations
  readonly maxPayloadBytes: number
  /** Spans held at most, encoded or not; past it `add` refuses whole chunks. */
  readonly maxQueueSpans: number
  /** 0 sends each chunk on the next turn of the event loop. */
  readonly flushIntervalMs: number
  /** Encoded bytes in the open payload that make it due before the interval ends. */
  readonly flushThresholdBytes: number
  /** Where payloads are written; whoever sends them gives their bytes back to it. */
  readonly pool: BufferPool | undefined
  readonly drops: DropSink
  readonly diagnostics: Diagnostics
  /** Sees every chunk when it is encoded (client stats) and returns what of it to send. */
  readonly filter: ((chunk: readonly CoreSpan[]) => readonly CoreSpan[]) | undefined
  /**
   * Called with tracing suppressed on the turn after chunks were added (`due` false) and when the
   * flush interval ends (`due` true): the exporter then encodes and sends what it can.
   */
  readonly onTurn: (due: boolean) => void
}

/**
 * The bounded queue between the request path and the agent. `add` only pushes the chunk; on the next
 * turn of the event loop it is encoded into the open payload (so its spans die young and only bytes
 * wait), and the open payload closes when it is full, past the size threshold or at the end of the
 * interval (unref'd timer). Closed payloads wait here until the exporter has a request slot for them.
 */
export class Batcher {
  readonly #maxQueueSpans: number
  readonly #flushIntervalMs: number
  readonly #flushThresholdBytes: number
  readonly #builder: PayloadBuilder
  readonly #drops: DropSink
  readonly #diagnostics: Diagnostics
  readonly #filter: ((chunk: readonly CoreSpan[]) => readonly CoreSpan[]) | undefined
  readonly #onTurn: (due: boolean) => void
  /** Chunks added since the last turn, not yet encoded. */
  #pending: CoreSpan[][] = []
  #pendingSpans = 0
  /** Closed payloads waiting for a request slot. */
  readonly #ready: EncodedPayload[] = []
  #readySpans = 0
  readonly #closedNow: EncodedPayload[] = []
  /** The interval ended while no request slot was free: the open payload goes with the next slot. */
  #overdue = false
  #timer: NodeJS.Timeout | undefined
  #soon: NodeJS.Immediate | undefined
  readonly #onSoonBound = (): void => this.#onSoon()
  readonly #onTimerBound = (): void => this.#onTimer()
  readonly #turn = (): void => this.#onTurn(false)
  readonly #dueTurn = (): void => this.#onTurn(true)
  #stopped = false

  constructor(options: BatcherOptions) {
    this.#maxQueueSpans = options.maxQueueSpans
    this.#flushIntervalMs = options.flushIntervalMs
    this.#flushThresholdBytes = options.flushThresholdBytes
    this.#drops = options.drops
    this.#diagnostics = options.diagnostics
    this.#filter = options.filter
    this.#onTurn = options.onTurn
    this.#builder = new PayloadBuilder(options.decorations, options.maxPayloadBytes, options.drops, options.pool)
  }

  /** Queues a chunk for the next turn; false (nothing queued) when the queue is full. */
  add(chunk: CoreSpan[]): boolean {
    if (this.#pendingSpans + this.#readySpans + this.#builder.openSpans + chunk.length > this.#maxQueueSpans) return false
    this.#pending.push(chunk)
    this.#pendingSpans += chunk.length
    if (this.#soon === undefined && !this.#stopped) this.#scheduleSoon()
    return true
  }

  /** Spans added and not yet handed out: waiting for their turn, in the open payload, in closed payloads. */
  get queuedSpans(): number {
    return this.#pendingSpans + this.#builder.openSpans + this.#readySpans
  }

  /** Chunks wait for encoding or the open payload holds traces. */
  get hasTraces(): boolean {
    return this.#pending.length > 0 || this.#builder.openTraces > 0
  }

  get maxQueueSpans(): number {
    return this.#maxQueueSpans
  }

  get readyCount(): number {
    return this.#ready.length
  }

  get maxPayloadBytes(): number {
    return this.#builder.maxPayloadBytes
  }

  /** A lower (or, from `/info`, different) payload limit; the open payload is closed first. */
  setMaxPayload(bytes: number): void {
    const closed = this.#builder.setMaxPayload(bytes)
    if (closed !== undefined) this.#pushReady(closed)
  }

  /**
   * Encodes the chunks added since the last turn into the open payload; payloads that filled up are
   * closed. The filter (client stats) sees every chunk first and keeps of each what is still to be sent.
   */
  encode(protocol: ProtocolVersion): void {
    const pending = this.#pending
    if (pending.length === 0) return
    this.#pending = []
    this.#pendingSpans = 0
    const filter = this.#filter
    const closed = this.#closedNow
    for (let i = 0; i < pending.length; i++) {
      const chunk = pending[i]
      try {
        const kept = filter === undefined ? chunk : filter(chunk)
        if (kept.length > 0) this.#builder.add(kept, protocol, closed)
      } catch (err) {
        // A bug of ours must cost this trace at most, never the app.
        this.#drops.drop(1, chunk.length, 'internal')
        this.#diagnostics.warn('exporter-failed', 'encoding a trace failed unexpectedly; it was dropped', err instanceof Error ? err.stack : String(err))
      }
    }
    for (let i = 0; i < closed.length; i++) this.#pushReady(closed[i])
    closed.length = 0
  }

  /**
   * Closes the open payload when it is due: the interval ended (`due`, or earlier while no slot was
   * free), the threshold is passed, or the interval is 0. Only with a free slot (`canSend`): while the
   * agent is busy the open payload keeps growing, so a slow agent gets fewer, larger payloads.
   */
  closeIfDue(due: boolean, canSend: boolean): void {
    const builder = this.#builder
    if (builder.openSpans === 0) return
    if (due) this.#overdue = true
    if (canSend && (this.#overdue || this.#flushIntervalMs === 0 || builder.openBytes >= this.#flushThresholdBytes)) this.closeOpen()
  }

  closeOpen(): void {
    this.#overdue = false
    const closed = this.#builder.close()
    if (closed !== undefined) this.#pushReady(closed)
  }

  /** The oldest closed payload, taken off the queue. */
  next(): EncodedPayload | undefined {
    const payload = this.#ready.shift()
    if (payload !== undefined) this.#readySpans -= payload.spanCount
    return payload
  }

  /** A payload with no traces (it carries client stats' P0 drop counts); undefined while one is open. */
  empty(protocol: ProtocolVersion): EncodedPayload | undefined {
    return this.#builder.empty(protocol)
  }

  /** Arms the interval timer when the open payload holds spans, or when `also` (P0 counts to report). */
  armTimer(also: boolean): void {
    if (this.#timer !== undefined || this.#stopped || (this.#builder.openSpans === 0 && !also)) return
    // Created under the suppressed store, so the timer neither keeps a request's context alive nor
    // makes the flush look like part of that request.
    this.#timer = runSuppressed(() => setTimeout(this.#onTimerBound, this.#flushIntervalMs).unref())
  }

  /** Stops the timers and drops (and counts) everything queued: the exporter is shutting down. */
  stop(reason: string): void {
    this.#stopped = true
    if (this.#soon !== undefined) clearImmediate(this.#soon)
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#soon = undefined
    this.#timer = undefined
    for (const chunk of this.#pending) this.#drops.drop(1, chunk.length, reason)
    this.#pending = []
    this.#pendingSpans = 0
    const open = this.#builder.close()
    if (open !== undefined) this.#drops.drop(open.traceCount, open.spanCount, reason)
    for (const payload of this.#ready.splice(0)) this.#drops.drop(payload.traceCount, payload.spanCount, reason)
    this.#readySpans = 0
  }

  #pushReady(payload: EncodedPayload): void {
    this.#ready.push(payload)
    this.#readySpans += payload.spanCount
  }

  /**
   * Chunks are encoded on the next turn of the event loop, so that as few spans as possible are alive
   * when a scavenge comes: the bytes surviving scavenges are what makes V8 grow its young generation,
   * and RSS with it (a 1 ms timer here doubled them: 81 against 37 KB per scavenge, Fastify 5 on Node
   * 24). The immediate is armed in the request's context, which it keeps for that turn; the encoding
   * itself runs suppressed.
   */
  #scheduleSoon(): void {
    this.#soon = setImmediate(this.#onSoonBound).unref()
  }

  #onSoon(): void {
    this.#soon = undefined
    runSuppressed(this.#turn)
  }

  #onTimer(): void {
    this.#timer = undefined
    runSuppressed(this.#dueTurn)
  }
}
