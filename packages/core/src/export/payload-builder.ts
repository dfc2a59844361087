import type { CoreSpan } from '../model/span.js'
import type { BufferPool } from '../wire/buffer-pool.js'
import type { EncodedPayload, PayloadEncoder, ProtocolVersion, SpanDecorations } from '../wire/encode-span.js'
import { V04Encoder } from '../wire/encode-v04.js'
import { V05Encoder } from '../wire/encode-v05.js'

/** What the builder drops, for the exporter's counters and warnings. */
export interface DropSink {
  /** Whole traces (chunks) dropped, with their spans. */
  drop(traces: number, spans: number, reason: string): void
  /** Spans dropped on their own, their trace kept. */
  dropSpans(spans: number, reason: string): void
  /** A span larger than a whole payload. */
  tooLarge(name: string): void
}

/**
 * Encodes chunks into one open payload as they come, so spans die young: the exporter hands each chunk
 * over on the turn after it finished, and only bytes wait for the agent. A payload is closed when the
 * next chunk does not fit under the payload limit, or when the exporter sends it. Chunks the agent
 * would refuse are repaired first; a chunk larger than a payload is split into halves of its spans,
 * and a single span larger than a payload is dropped.
 */
export class PayloadBuilder {
  readonly #decorations: SpanDecorations
  readonly #drops: DropSink
  #maxPayload: number
  #encoders: Partial<Record<ProtocolVersion, PayloadEncoder>> = {}
  #open: PayloadEncoder | undefined
  readonly #pool: BufferPool | undefined

  /** `pool`: where payloads are written; whoever sends them gives their bytes back to it. */
  constructor(decorations: SpanDecorations, maxPayloadBytes: number, drops: DropSink, pool?: BufferPool) {
    this.#decorations = decorations
    this.#maxPayload = maxPayloadBytes
    this.#drops = drops
    this.#pool = pool
  }

  get maxPayloadBytes(): number {
    return this.#maxPayload
  }

  /** Spans and traces in the open payload. */
  get openSpans(): number {
    return this.#open?.spanCount ?? 0
  }

  /** Bytes the open payload would have if closed now. */
  get openBytes(): number {
    return this.#open?.byteLength ?? 0
  }

  get openTraces(): number {
    return this.#open?.traceCount ?? 0
  }

  /**
   * A new payload limit; the open payload is closed first (and returned) since it was built for the
   * old one.
   */
  setMaxPayload(bytes: number): EncodedPayload | undefined {
    const closed = this.close()
    this.#maxPayload = bytes
    this.#encoders = {}
    return closed
  }

  /** Closes the open payload: undefined when it holds nothing. */
  close(): EncodedPayload | undefined {
    const open = this.#open
    this.#open = undefined
    if (open === undefined || open.traceCount === 0) return undefined
    return open.finishPayload()
  }

  /** A payload with no traces (it carries the P0 drop counts of client stats); undefined while one is open. */
  empty(protocol: ProtocolVersion): EncodedPayload | undefined {
    if (this.openTraces > 0) return undefined
    this.#open = undefined
    const encoder = this.#encoder(protocol)
    encoder.begin()
    return encoder.finishPayload()
  }

  /** Encodes `chunk` into the open payload; payloads closed because they were full go to `closed`. */
  add(chunk: readonly CoreSpan[], protocol: ProtocolVersion, closed: EncodedPayload[]): void {
    if (this.#open !== undefined && this.#open.protocol !== protocol) this.#push(this.close(), closed)
    if (isClean(chunk)) this.#append(chunk, protocol, closed)
    else for (const part of this.#repair(chunk)) this.#append(part, protocol, closed)
  }

  #push(payload: EncodedPayload | undefined, closed: EncodedPayload[]): void {
    if (payload !== undefined) closed.push(payload)
  }

  #append(chunk: readonly CoreSpan[], protocol: ProtocolVersion, closed: EncodedPayload[]): void {
    let open = this.#open
    if (open === undefined) {
      open = this.#encoder(protocol)
      open.begin()
      this.#open = open
    }
    if (open.append(chunk)) return
    if (open.traceCount > 0) {
      // Full: this payload is done, the chunk starts the next one.
      this.#push(this.close(), closed)
      this.#append(chunk, protocol, closed)
      return
    }
    if (chunk.length > 1) {
      const half = chunk.length >> 1
      this.#append(chunk.slice(0, half), protocol, closed)
      this.#append(chunk.slice(half), protocol, closed)
      return
    }
    this.#drops.drop(1, 1, 'too_large')
    this.#drops.tooLarge(chunk[0]?.name ?? '?')
  }

  #encoder(protocol: ProtocolVersion): PayloadEncoder {
    let encoder = this.#encoders[protocol]
    if (encoder === undefined) {
      encoder = protocol === '0.5' ? new V05Encoder(this.#decorations, this.#maxPayload, this.#pool) : new V04Encoder(this.#decorations, this.#maxPayload, this.#pool)
      this.#encoders[protocol] = encoder
    }
    return encoder
  }

  /**
   * A chunk that is not clean, as the agent takes it: spans with a zero span id removed, a zero trace
   * id dropped, spans of another trace moved to a chunk of their own (the agent drops a whole trace
   * for any of these). Empty when nothing of it is left.
   */
  #repair(chunk: readonly CoreSpan[]): (readonly CoreSpan[])[] {
    const kept = chunk.filter((span) => span.spanId !== 0n && span.trace.traceId !== 0n)
    const zeroSpan = chunk.filter((span) => span.spanId === 0n).length
    if (zeroSpan > 0) this.#drops.dropSpans(zeroSpan, 'span_id_zero')
    const zeroTrace = chunk.length - zeroSpan - kept.length
    if (zeroTrace > 0) this.#drops.drop(1, zeroTrace, 'trace_id_zero')
    if (kept.length === 0) return []
    const groups = new Map<bigint, CoreSpan[]>()
    for (const span of kept) {
      const group = groups.get(span.trace.traceId)
      if (group === undefined) groups.set(span.trace.traceId, [span])
      else group.push(span)
    }
    return [...groups.values()]
  }
}

/** True when the agent takes the chunk as it is: non-zero ids, every span of the same trace. */
function isClean(chunk: readonly CoreSpan[]): boolean {
  const first = chunk[0]
  if (first === undefined || first.trace.traceId === 0n) return false
  const trace = first.trace
  for (let s = 0; s < chunk.length; s++) {
    const span = chunk[s]
    if (span.spanId === 0n || (span.trace !== trace && span.trace.traceId !== trace.traceId)) return false
  }
  return true
}
