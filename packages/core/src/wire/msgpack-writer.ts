import { payloadBuffer, type BufferPool } from './buffer-pool.js'

/** Thrown when a payload would pass the writer's hard cap; the caller drops or splits what it was writing. */
export class PayloadTooLargeError extends Error {
  readonly code = 'ERR_DATADOG_APM_PAYLOAD_TOO_LARGE'
  constructor(limit: number) {
    super(`msgpack payload over the ${limit}-byte cap`)
    this.name = 'PayloadTooLargeError'
  }
}

const TWO_32 = 0x1_0000_0000

/**
 * A growable msgpack byte writer with a hard cap. It knows msgpack's formats, nothing of spans: the span
 * layout lives in the encoders. Buffers are reused across payloads.
 */
export class MsgpackWriter {
  #buf: Buffer
  #view: DataView
  #pos = 0
  readonly #maxBytes: number

  constructor(initialBytes: number, maxBytes: number) {
    this.#maxBytes = maxBytes
    this.#buf = Buffer.allocUnsafe(Math.min(initialBytes, maxBytes))
    this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength)
  }

  get length(): number {
    return this.#pos
  }

  reset(): void {
    this.#pos = 0
  }

  /** Goes back to an earlier length, dropping what was written after it. */
  truncate(length: number): void {
    this.#pos = length
  }

  /** A copy of the bytes written so far, in a buffer from `pool` when one is given. */
  bytes(pool?: BufferPool): Buffer {
    // allocUnsafe + copy: Buffer.from(subarray) zero-fills first, which measured as much as half the
    // encode time of a large payload.
    const out = payloadBuffer(this.#pos, pool)
    this.#buf.copy(out, 0, 0, this.#pos)
    return out
  }

  #ensure(extra: number): void {
    const needed = this.#pos + extra
    if (needed <= this.#buf.length) return
    if (needed > this.#maxBytes) throw new PayloadTooLargeError(this.#maxBytes)
    let size = this.#buf.length * 2
    while (size < needed) size *= 2
    const grown = Buffer.allocUnsafe(Math.min(size, this.#maxBytes))
    this.#buf.copy(grown, 0, 0, this.#pos)
    this.#buf = grown
    this.#view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength)
  }

  /** Copies pre-encoded bytes (keys, fixed fragments). */
  raw(bytes: Uint8Array): void {
    const n = bytes.length
    this.#ensure(n)
    const buf = this.#buf
    let pos = this.#pos
    // A loop beats TypedArray#set for the short key fragments this is mostly used for.
    if (n < 24) for (let i = 0; i < n; i++) buf[pos++] = bytes[i]!
    else {
      buf.set(bytes, pos)
      pos += n
    }
    this.#pos = pos
  }

  /** One byte: a fixarray / fixmap header whose size is known in advance. */
  fixedHeader(byte: number): void {
    this.#ensure(1)
    this.#buf[this.#pos++] = byte
  }

  /** uint32 always in its 5-byte form (0xce), as v0.5 string indexes are written by dd-trace. */
  uint32(value: number): void {
    this.#ensure(5)
    this.#buf[this.#pos] = 0xce
    this.#view.setUint32(this.#pos + 1, value)
    this.#pos += 5
  }

  /** Copies the bytes written so far into `target` at `offset`. */
  copyTo(target: Buffer, offset: number): void {
    this.#buf.copy(target, offset, 0, this.#pos)
  }

  nil(): void {
    this.#ensure(1)
    this.#buf[this.#pos++] = 0xc0
  }

  arrayHeader(n: number): void {
    this.#ensure(5)
    if (n < 16) this.#buf[this.#pos++] = 0x90 | n
    else if (n < 0x10000) {
      this.#buf[this.#pos] = 0xdc
      this.#view.setUint16(this.#pos + 1, n)
      this.#pos += 3
    } else {
      this.#buf[this.#pos] = 0xdd
      this.#view.setUint32(this.#pos + 1, n)
      this.#pos += 5
    }
  }

  mapHeader(n: number): void {
    this.#ensure(5)
    if (n < 16) this.#buf[this.#pos++] = 0x80 | n
    else if (n < 0x10000) {
      this.#buf[this.#pos] = 0xde
      this.#view.setUint16(this.#pos + 1, n)
      this.#pos += 3
    } else {
      this.#buf[this.#pos] = 0xdf
      this.#view.setUint32(this.#pos + 1, n)
      this.#pos += 5
    }
  }

  /** Writes an array32 or map32 header whose count is patched later; returns where it is. */
  reserveHeader32(marker: 0xdd | 0xdf): number {
    this.#ensure(5)
    const at = this.#pos
    this.#buf[at] = marker
    this.#pos += 5
    return at
  }

  patchHeader32(at: number, n: number): void {
    this.#view.setUint32(at + 1, n)
  }

  /**
   * Reserves one byte for a map header whose count is known only once its entries are written (a
   * span's meta or metrics, almost always under 16 entries); returns where it is.
   */
  reserveMapHeader(): number {
    this.#ensure(1)
    return this.#pos++
  }

  /**
   * Writes the map header reserved at `at` for `n` entries: a fixmap in place, or for 16 entries and
   * more a map16/map32, with the entries moved up to make room.
   */
  patchMapHeader(at: number, n: number): void {
    if (n < 16) {
      this.#buf[at] = 0x80 | n
      return
    }
    const extra = n < 0x10000 ? 2 : 4
    this.#ensure(extra)
    const buf = this.#buf
    buf.copyWithin(at + 1 + extra, at + 1, this.#pos)
    this.#pos += extra
    if (extra === 2) {
      buf[at] = 0xde
      this.#view.setUint16(at + 1, n)
    } else {
      buf[at] = 0xdf
      this.#view.setUint32(at + 1, n)
    }
  }

  string(s: string): void {
    const len = s.length
    // ASCII strings under 256 characters (names, keys, tag values, URLs, user agents) are copied char by
    // char: cheaper than a byte-length pass plus a utf8 write, two calls into C++ each.
    if (len < 0x100) {
      const header = len < 32 ? 1 : 2
      this.#ensure(header + len * 3)
      const buf = this.#buf
      const start = this.#pos
      let pos = start + header
      let i = 0
      for (; i < len; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        buf[pos++] = c
      }
      if (i === len) {
        if (header === 1) buf[start] = 0xa0 | len
        else {
          buf[start] = 0xd9
          buf[start + 1] = len
        }
        this.#pos = pos
        return
      }
    }
    const size = Buffer.byteLength(s, 'utf8')
    this.#ensure(5 + size)
    const buf = this.#buf
    let pos = this.#pos
    if (size < 32) buf[pos++] = 0xa0 | size
    else if (size < 0x100) {
      buf[pos++] = 0xd9
      buf[pos++] = size
    } else if (size < 0x10000) {
      buf[pos++] = 0xda
      this.#view.setUint16(pos, size)
      pos += 2
    } else {
      buf[pos++] = 0xdb
      this.#view.setUint32(pos, size)
      pos += 4
    }
    pos += buf.write(s, pos, size, 'utf8')
    this.#pos = pos
  }

  /** uint64 as 0xcf: exact for every 64-bit id. */
  uint64(value: bigint): void {
    this.#ensure(9)
    this.#buf[this.#pos] = 0xcf
    this.#view.setBigUint64(this.#pos + 1, value)
    this.#pos += 9
  }

  /** int64 (0xd3) from high and low 32-bit halves, for values past 2^53 such as epoch nanoseconds. */
  int64Parts(high: number, low: number): void {
    this.#word64(0xd3, high, low)
  }

  /** A 64-bit format (`marker`, then the value as two big-endian uint32 halves). */
  #word64(marker: number, high: number, low: number): void {
    this.#ensure(9)
    this.#buf[this.#pos] = marker
    this.#view.setUint32(this.#pos + 1, high)
    this.#view.setUint32(this.#pos + 5, low)
    this.#pos += 9
  }

  /** A small non-negative integer (< 128) as a positive fixint. */
  fixint(value: number): void {
    this.#ensure(1)
    this.#buf[this.#pos++] = value & 0x7f
  }

  /** Any integer up to 2^32 in the smallest unsigned format. */
  uint(value: number): void {
    this.#ensure(5)
    const buf = this.#buf
    if (value < 0x80) buf[this.#pos++] = value
    else if (value < 0x100) {
      buf[this.#pos++] = 0xcc
      buf[this.#pos++] = value
    } else if (value < 0x10000) {
      buf[this.#pos] = 0xcd
      this.#view.setUint16(this.#pos + 1, value)
      this.#pos += 3
    } else {
      buf[this.#pos] = 0xce
      this.#view.setUint32(this.#pos + 1, value)
      this.#pos += 5
    }
  }

  float64(value: number): void {
    this.#ensure(9)
    this.#buf[this.#pos] = 0xcb
    this.#view.setFloat64(this.#pos + 1, value)
    this.#pos += 9
  }

  /**
   * A number in msgpack's smallest form: integers of up to 32 bits as ints (a metric of 1 takes one
   * byte instead of nine; -0 goes as 0), anything else as float64. Readers of span metrics take any
   * numeric format.
   */
  number(value: number): void {
    if (value >= 0) {
      if (value < 0x1_0000_0000 && Math.floor(value) === value) {
        this.uint(value)
        return
      }
    } else if (value >= -0x8000_0000 && Math.floor(value) === value) {
      this.#ensure(5)
      const buf = this.#buf
      if (value >= -32) buf[this.#pos++] = value & 0xff
      else if (value >= -0x80) {
        buf[this.#pos] = 0xd0
        this.#view.setInt8(this.#pos + 1, value)
        this.#pos += 2
      } else if (value >= -0x8000) {
        buf[this.#pos] = 0xd1
        this.#view.setInt16(this.#pos + 1, value)
        this.#pos += 3
      } else {
        buf[this.#pos] = 0xd2
        this.#view.setInt32(this.#pos + 1, value)
        this.#pos += 5
      }
      return
    }
    this.float64(value)
  }

  /** A non-negative integer below 2^53, given as a double, in the smallest unsigned form. */
  uintLong(value: number): void {
    if (value < 0x1_0000_0000) {
      this.uint(value)
      return
    }
    this.#word64(0xcf, Math.floor(value / TWO_32), value % TWO_32)
  }
}

/**
 * Pre-encodes a string as msgpack, for keys and fixed fragments. A plain Uint8Array, not a Buffer, like
 * every fragment given to `raw`: one array type keeps raw's copy loop monomorphic.
 */
export function encodeString(s: string): Uint8Array {
  const writer = new MsgpackWriter(64, 1 << 20)
  writer.string(s)
  return new Uint8Array(writer.bytes())
}
