import { payloadBuffer, type BufferPool } from './buffer-pool.js'
import { MsgpackWriter } from './msgpack-writer.js'
import { SpanEncoder } from './encode-span.js'
import { FIELDS } from './payload-encoder.js'
import type { SpanDecorations } from './span-decorations.js'

/** Strings remembered for reuse in one payload, at most. */
const MAX_INTERNED = 4096

function indexBytes(index: number): Uint8Array {
  const writer = new MsgpackWriter(8, 8)
  writer.uint(index)
  return new Uint8Array(writer.bytes())
}

/**
 * The v0.5 layout: `[strings, traces]`, every string of the payload written once into the table and
 * referenced by index; a span is a fixed array of 12 in FIELDS order. Index 0 is "", then the fixed
 * strings (tag keys the encoder adds, the tracer's service, the global tags) at the same places in
 * every payload, so they are pre-encoded like v0.4's keys. Indexes are written in msgpack's smallest
 * unsigned form: the agent reads them with msgp's ReadUint32Bytes, which takes any unsigned width
 * (libdatadog and the test agent read any integer too). dd-trace always writes the 5-byte uint32;
 * a web span refers to ~36 strings, so this is ~140 of its ~260 bytes, and sending costs per byte.
 */
export class V05Encoder extends SpanEncoder {
  readonly protocol = '0.5' as const
  readonly #strings: MsgpackWriter
  /** Index of each string written once; at most MAX_INTERNED, later strings are written each time. */
  readonly #table = new Map<string, number>()
  /** Strings in the table (written), interned or not. */
  #count = 0
  /** Strings interned since `mark`, taken out again on `rollback`. */
  readonly #internedSinceMark: string[] = []
  #header = 0
  #markSpans = 0
  #markStrings = 0
  #markCount = 0

  /** `pool`: where finished payloads are written (see BufferPool); new memory each time without one. */
  constructor(decorations: SpanDecorations, maxPayloadBytes: number, pool?: BufferPool) {
    // Fixed string i sits at index i + 1, after "".
    super(decorations, maxPayloadBytes, (_s, i) => indexBytes(i + 1), undefined, 0x90 | FIELDS.length, pool)
    this.#strings = new MsgpackWriter(Math.min(16 * 1024, maxPayloadBytes), maxPayloadBytes)
  }

  /** Bytes of the payload as it stands: table and traces, plus the two headers. */
  protected get writerBase(): number {
    return 6 + this.#strings.length
  }

  get byteLength(): number {
    return 1 + 5 + this.#strings.length + this.writer.length
  }

  begin(): void {
    this.writer.reset()
    this.#header = this.writer.reserveHeader32(0xdd)
    this.#strings.reset()
    this.#table.clear()
    this.#count = 0
    this.#internedSinceMark.length = 0
    this.#add('')
    for (const s of this.fixedStrings) this.#add(s)
    this.resetCounts()
  }

  #add(s: string): number {
    const index = this.#count++
    // A fixed string that repeats (a global tag value equal to another) keeps its first index. Past
    // MAX_INTERNED a new string is written without being remembered: the strings that repeat (keys,
    // names, services, routes) are nearly all seen first, while URLs, ids and queries that do not
    // repeat would otherwise stay alive (and be promoted by V8) for as long as the payload is open.
    const table = this.#table
    if (table.size < MAX_INTERNED && !table.has(s)) {
      table.set(s, index)
      this.#internedSinceMark.push(s)
    }
    this.#strings.string(s)
    return index
  }

  finish(): Buffer {
    this.writer.patchHeader32(this.#header, this.traceCount)
    const out = payloadBuffer(this.byteLength, this.pool)
    out[0] = 0x92
    out[1] = 0xdd
    out.writeUInt32BE(this.#count, 2)
    this.#strings.copyTo(out, 6)
    this.writer.copyTo(out, 6 + this.#strings.length)
    return out
  }

  protected str(s: string): void {
    let index = this.#table.get(s)
    if (index === undefined) index = this.#add(s)
    this.writer.uint(index)
  }

  protected mark(): void {
    this.#markSpans = this.writer.length
    this.#markStrings = this.#strings.length
    this.#markCount = this.#count
    this.#internedSinceMark.length = 0
  }

  protected rollback(): void {
    this.writer.truncate(this.#markSpans)
    this.#strings.truncate(this.#markStrings)
    const interned = this.#internedSinceMark
    for (let i = 0; i < interned.length; i++) this.#table.delete(interned[i])
    interned.length = 0
    this.#count = this.#markCount
  }

  protected fits(): boolean {
    return this.byteLength <= this.maxPayloadBytes
  }
}
