// The protobuf DDSketch inside client stats (`OkSummary`, `ErrorSummary`; sketches-go `ddsketch.proto`),
// decoded from the wire format by hand: the intake depends on nothing, and a tracer's encoder bug
// cannot be mirrored here.

/** One decoded sketch: its mapping and its bins, as values with counts. */
export interface ReceivedSketch {
  gamma: number
  indexOffset: number
  /** 0 NONE (exact log), 1 LINEAR, 2 QUADRATIC, 3 CUBIC. Values are computed as for NONE. */
  interpolation: number
  zeroCount: number
  /** Total count: bins of both stores and the zero count. */
  count: number
  /** Non-empty bins in ascending value order: the value a bin stands for, and its count. */
  bins: { value: number; count: number }[]
}

export class SketchDecodeError extends Error {
  constructor(message: string) {
    super(`invalid DDSketch protobuf: ${message}`)
    this.name = 'SketchDecodeError'
  }
}

class ProtoReader {
  readonly #bytes: Uint8Array
  readonly #view: DataView
  #pos: number
  readonly #end: number

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.#bytes = bytes
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.#pos = start
    this.#end = end
  }

  get done(): boolean {
    return this.#pos >= this.#end
  }

  varint(): number {
    let result = 0
    let scale = 1
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= this.#end) throw new SketchDecodeError('truncated varint')
      const byte = this.#bytes[this.#pos++]
      result += (byte & 0x7f) * scale
      if (byte < 0x80) return result
      scale *= 128
    }
    throw new SketchDecodeError('varint longer than 10 bytes')
  }

  sint32(): number {
    const n = this.varint() % 0x1_0000_0000
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2
  }

  double(): number {
    if (this.#pos + 8 > this.#end) throw new SketchDecodeError('truncated double')
    const value = this.#view.getFloat64(this.#pos, true)
    this.#pos += 8
    return value
  }

  /** A length-delimited field: a reader over its bytes. */
  sub(): ProtoReader {
    const length = this.varint()
    if (this.#pos + length > this.#end) throw new SketchDecodeError('a length runs past the end')
    const reader = new ProtoReader(this.#bytes, this.#pos, this.#pos + length)
    this.#pos += length
    return reader
  }

  skip(wire: number): void {
    if (wire === 0) this.varint()
    else if (wire === 1) this.#advance(8)
    else if (wire === 2) this.sub()
    else if (wire === 5) this.#advance(4)
    else throw new SketchDecodeError(`unsupported wire type ${wire}`)
  }

  #advance(n: number): void {
    if (this.#pos + n > this.#end) throw new SketchDecodeError('truncated field')
    this.#pos += n
  }
}

function readMapping(r: ProtoReader, out: ReceivedSketch): void {
  while (!r.done) {
    const tag = r.varint()
    const field = Math.floor(tag / 8)
    const wire = tag % 8
    if (field === 1 && wire === 1) out.gamma = r.double()
    else if (field === 2 && wire === 1) out.indexOffset = r.double()
    else if (field === 3 && wire === 0) out.interpolation = r.varint()
    else r.skip(wire)
  }
}

/** Bin index → count, sparse and contiguous encodings summed (the proto allows both at once). */
function readStore(r: ProtoReader): Map<number, number> {
  const bins = new Map<number, number>()
  const contiguous: number[] = []
  let offset = 0
  const add = (index: number, count: number): void => {
    if (count !== 0) bins.set(index, (bins.get(index) ?? 0) + count)
  }
  while (!r.done) {
    const tag = r.varint()
    const field = Math.floor(tag / 8)
    const wire = tag % 8
    if (field === 1 && wire === 2) {
      const entry = r.sub()
      let key = 0
      let value = 0
      while (!entry.done) {
        const t = entry.varint()
        if (t === 8) key = entry.sint32()
        else if (t === 17) value = entry.double()
        else entry.skip(t % 8)
      }
      add(key, value)
    } else if (field === 2 && wire === 2) {
      const packed = r.sub()
      while (!packed.done) contiguous.push(packed.double())
    } else if (field === 2 && wire === 1) {
      contiguous.push(r.double())
    } else if (field === 3 && wire === 0) {
      offset = r.sint32()
    } else r.skip(wire)
  }
  for (let i = 0; i < contiguous.length; i++) add(offset + i, contiguous[i])
  return bins
}

/** Decodes a sketch; throws SketchDecodeError on bytes that are not one. An empty byte string is an empty sketch. */
export function decodeSketch(bytes: Uint8Array): ReceivedSketch {
  const out: ReceivedSketch = { gamma: 0, indexOffset: 0, interpolation: 0, zeroCount: 0, count: 0, bins: [] }
  let positive = new Map<number, number>()
  let negative = new Map<number, number>()
  const r = new ProtoReader(bytes)
  while (!r.done) {
    const tag = r.varint()
    const field = Math.floor(tag / 8)
    const wire = tag % 8
    if (field === 1 && wire === 2) readMapping(r.sub(), out)
    else if (field === 2 && wire === 2) positive = readStore(r.sub())
    else if (field === 3 && wire === 2) negative = readStore(r.sub())
    else if (field === 4 && wire === 1) out.zeroCount = r.double()
    else r.skip(wire)
  }
  if ((positive.size > 0 || negative.size > 0) && !(out.gamma > 1)) throw new SketchDecodeError(`gamma must be above 1, got ${out.gamma}`)
  const logGamma = Math.log(out.gamma)
  // A bin's value as sketches-go's logarithmic mapping computes it: γ^(i − offset) · 2γ/(1 + γ).
  const factor = (2 * out.gamma) / (1 + out.gamma)
  const value = (index: number): number => Math.exp((index - out.indexOffset) * logGamma) * factor
  let count = out.zeroCount
  for (const [index, c] of negative) {
    out.bins.push({ value: -value(index), count: c })
    count += c
  }
  if (out.zeroCount > 0) out.bins.push({ value: 0, count: out.zeroCount })
  for (const [index, c] of positive) {
    out.bins.push({ value: value(index), count: c })
    count += c
  }
  out.bins.sort((a, b) => a.value - b.value)
  out.count = count
  return out
}

/**
 * The value at quantile q over one or more sketches (merged by value, so sketches of different mappings
 * combine), with the rank rule of sketches-go: the first bin whose cumulative count passes q·(n − 1).
 */
export function sketchQuantile(sketches: readonly ReceivedSketch[], q: number): number {
  const bins = sketches.length === 1 ? sketches[0].bins : sketches.flatMap((s) => s.bins).sort((a, b) => a.value - b.value)
  let total = 0
  for (const bin of bins) total += bin.count
  if (total === 0) return 0
  const rank = Math.max(0, Math.min(1, q)) * (total - 1)
  let seen = 0
  for (const bin of bins) {
    seen += bin.count
    if (seen > rank) return bin.value
  }
  return bins[bins.length - 1]?.value ?? 0
}
