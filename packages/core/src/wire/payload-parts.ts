import { FIELDS, type EncodedPayload } from './payload-encoder.js'
import { MsgpackWriter, encodeString } from './msgpack-writer.js'

/** A run of spans of one trace of a payload: spans `from` (inclusive) to `to` (exclusive), by index. */
interface Piece {
  readonly trace: number
  readonly from: number
  readonly to: number
}

function traceEnd(p: EncodedPayload, trace: number): number {
  return trace + 1 < p.traceCount ? p.traceStarts[trace + 1] : p.bytes.length
}

function firstSpan(p: EncodedPayload, trace: number): number {
  return trace < p.traceCount ? p.traceFirstSpan[trace] : p.spanCount
}

/** A payload of the same format made of `pieces` of `p`, each written as a trace of its own. */
function assemble(p: EncodedPayload, pieces: readonly Piece[]): EncodedPayload {
  const bytes = p.bytes
  const w = new MsgpackWriter(bytes.length, Math.max(bytes.length, 1024) * 2)
  w.raw(bytes.subarray(0, p.tracesAt))
  const tracesAt = p.tracesAt
  // The count, patched below, in the 5-byte form the encoders use.
  const header = w.reserveHeader32(0xdd)
  const traceStarts: number[] = []
  const spanStarts: number[] = []
  const traceFirstSpan: number[] = []
  let spanCount = 0
  for (const piece of pieces) {
    traceStarts.push(w.length)
    traceFirstSpan.push(spanStarts.length)
    w.arrayHeader(piece.to - piece.from)
    const from = p.spanStarts[piece.from]
    const to = piece.to < firstSpan(p, piece.trace + 1) ? p.spanStarts[piece.to] : traceEnd(p, piece.trace)
    const shift = w.length - from
    for (let s = piece.from; s < piece.to; s++) spanStarts.push(p.spanStarts[s] + shift)
    w.raw(bytes.subarray(from, to))
    spanCount += piece.to - piece.from
  }
  w.patchHeader32(header, pieces.length)
  return {
    protocol: p.protocol,
    bytes: w.bytes(),
    traceCount: pieces.length,
    spanCount,
    tracesAt,
    traceStarts: Uint32Array.from(traceStarts),
    spanStarts: Uint32Array.from(spanStarts),
    traceFirstSpan: Uint32Array.from(traceFirstSpan)
  }
}

/**
 * Splits a payload the agent refused as too large into two, each with fewer spans: by traces when it
 * has several, by the spans of its one trace otherwise (the agent takes a trace in several chunks, as
 * partial flushes send it). v0.5 halves both carry the whole string table. Undefined for a single span.
 */
export function splitPayload(p: EncodedPayload): [EncodedPayload, EncodedPayload] | undefined {
  const whole = (trace: number): Piece => ({ trace, from: firstSpan(p, trace), to: firstSpan(p, trace + 1) })
  if (p.traceCount > 1) {
    const half = p.traceCount >> 1
    const first: Piece[] = []
    const second: Piece[] = []
    for (let t = 0; t < p.traceCount; t++) (t < half ? first : second).push(whole(t))
    return [assemble(p, first), assemble(p, second)]
  }
  if (p.traceCount === 1 && p.spanCount > 1) {
    const half = p.spanCount >> 1
    return [assemble(p, [{ trace: 0, from: 0, to: half }]), assemble(p, [{ trace: 0, from: half, to: p.spanCount }])]
  }
  return undefined
}

const V04_KEYS = FIELDS.map((name) => encodeString(name))
const META = FIELDS.indexOf('meta')
const METRICS = FIELDS.indexOf('metrics')

/** Thrown when bytes are not a v0.5 payload as our encoder writes them. */
class MalformedPayload extends Error {}

/**
 * The same traces as a v0.4 payload, for an agent that refused v0.5 after saying it took it. Reads the
 * payload as our v0.5 encoder writes it (string indexes as unsigned ints, a span as a fixed array of 12) and
 * writes each span as v0.4's map, copying numbers byte for byte. Undefined if the bytes are not such a
 * payload.
 */
export function transcodeV05ToV04(p: EncodedPayload): EncodedPayload | undefined {
  try {
    return transcode(p)
  } catch (err) {
    if (err instanceof MalformedPayload || err instanceof RangeError) return undefined
    throw err
  }
}

function transcode(p: EncodedPayload): EncodedPayload {
  const b = p.bytes
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  let pos = 0
  const need = (ok: boolean): void => {
    if (!ok) throw new MalformedPayload()
  }
  need(b[pos++] === 0x92 && b[pos++] === 0xdd)
  const stringCount = view.getUint32(pos)
  pos += 4
  // Each string of the table as its msgpack bytes, copied as they are into the v0.4 payload.
  const strings: Buffer[] = new Array<Buffer>(stringCount)
  for (let i = 0; i < stringCount; i++) {
    const start = pos
    const marker = b[pos++]
    let length: number
    if (marker >= 0xa0 && marker <= 0xbf) length = marker & 0x1f
    else if (marker === 0xd9) length = b[pos++]
    else if (marker === 0xda) {
      length = view.getUint16(pos)
      pos += 2
    } else if (marker === 0xdb) {
      length = view.getUint32(pos)
      pos += 4
    } else throw new MalformedPayload()
    pos += length
    need(pos <= b.length)
    strings[i] = b.subarray(start, pos)
  }
  need(pos === p.tracesAt && b[pos++] === 0xdd)
  const traceCount = view.getUint32(pos)
  pos += 4
  const w = new MsgpackWriter(b.length * 2, Math.max(b.length, 1024) * 8)
  const header = w.reserveHeader32(0xdd)
  const traceStarts: number[] = []
  const spanStarts: number[] = []
  const traceFirstSpan: number[] = []

  const string = (): void => {
    // A string index, in any unsigned width.
    const marker = b[pos]
    let index: number
    if (marker < 0x80) {
      index = marker
      pos += 1
    } else if (marker === 0xcc) {
      index = b[pos + 1]
      pos += 2
    } else if (marker === 0xcd) {
      index = view.getUint16(pos + 1)
      pos += 3
    } else {
      need(marker === 0xce)
      index = view.getUint32(pos + 1)
      pos += 5
    }
    need(index < stringCount)
    w.raw(strings[index])
  }
  const number = (): void => {
    const marker = b[pos]
    const size = marker < 0x80 || marker >= 0xe0 ? 1 : marker === 0xcc || marker === 0xd0 ? 2 : marker === 0xcd || marker === 0xd1 ? 3 : marker === 0xce || marker === 0xd2 || marker === 0xca ? 5 : marker === 0xcf || marker === 0xd3 || marker === 0xcb ? 9 : 0
    need(size > 0 && pos + size <= b.length)
    w.raw(b.subarray(pos, pos + size))
    pos += size
  }
  const mapHeader = (): number => {
    const marker = b[pos]
    let n: number
    let size = 1
    if (marker >= 0x80 && marker <= 0x8f) n = marker & 0x0f
    else if (marker === 0xde) {
      n = view.getUint16(pos + 1)
      size = 3
    } else if (marker === 0xdf) {
      n = view.getUint32(pos + 1)
      size = 5
    } else throw new MalformedPayload()
    w.raw(b.subarray(pos, pos + size))
    pos += size
    return n
  }
  const arrayHeader = (): number => {
    const marker = b[pos++]
    if (marker >= 0x90 && marker <= 0x9f) return marker & 0x0f
    if (marker === 0xdc) {
      pos += 2
      return view.getUint16(pos - 2)
    }
    need(marker === 0xdd)
    pos += 4
    return view.getUint32(pos - 4)
  }

  for (let t = 0; t < traceCount; t++) {
    traceStarts.push(w.length)
    traceFirstSpan.push(spanStarts.length)
    const spans = arrayHeader()
    w.arrayHeader(spans)
    for (let s = 0; s < spans; s++) {
      spanStarts.push(w.length)
      need(b[pos++] === (0x90 | FIELDS.length))
      w.fixedHeader(0x80 | FIELDS.length)
      for (let f = 0; f < FIELDS.length; f++) {
        w.raw(V04_KEYS[f])
        if (f === META) {
          for (let n = mapHeader(); n > 0; n--) {
            string()
            string()
          }
        } else if (f === METRICS) {
          for (let n = mapHeader(); n > 0; n--) {
            string()
            number()
          }
        } else if (f <= 2 || f === FIELDS.length - 1) string()
        else number()
      }
    }
  }
  need(pos === b.length)
  w.patchHeader32(header, traceCount)
  return {
    protocol: '0.4',
    bytes: w.bytes(),
    traceCount,
    spanCount: spanStarts.length,
    tracesAt: 0,
    traceStarts: Uint32Array.from(traceStarts),
    spanStarts: Uint32Array.from(spanStarts),
    traceFirstSpan: Uint32Array.from(traceFirstSpan)
  }
}
