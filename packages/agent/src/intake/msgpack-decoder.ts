import { Buffer, isUtf8 } from 'node:buffer'
import { setOwn } from './set-own.js'

// Written from the msgpack spec, independently of any encoder the tracer might use, so that an encoder bug
// cannot be mirrored by a decoder bug.

/**
 * One decoded value together with the wire format it came in, so callers can tell `error: 1` sent as a
 * positive fixint from one sent as a float64. `uint64` and `int64` values are always bigint; every
 * narrower integer format is a number.
 */
export type MsgpackNode =
  | { kind: 'nil'; format: 'nil' }
  | { kind: 'bool'; format: 'true' | 'false'; value: boolean }
  | { kind: 'uint'; format: 'positive-fixint' | 'uint8' | 'uint16' | 'uint32' | 'uint64'; value: number | bigint }
  | { kind: 'int'; format: 'negative-fixint' | 'int8' | 'int16' | 'int32' | 'int64'; value: number | bigint }
  | { kind: 'float'; format: 'float32' | 'float64'; value: number }
  | { kind: 'str'; format: 'fixstr' | 'str8' | 'str16' | 'str32'; value: string; validUtf8: boolean }
  | { kind: 'bin'; format: 'bin8' | 'bin16' | 'bin32'; value: Uint8Array }
  | { kind: 'array'; format: 'fixarray' | 'array16' | 'array32'; items: MsgpackNode[] }
  | { kind: 'map'; format: 'fixmap' | 'map16' | 'map32'; keys: MsgpackNode[]; values: MsgpackNode[] }

/** The msgpack format family of a value, as the spec names them (`positive-fixint`, `uint64`, `str8`, ...). */
export type MsgpackFormat = MsgpackNode['format']

export const DecodeErrorReason = {
  unexpectedEof: 'unexpected-eof',
  trailingBytes: 'trailing-bytes',
  invalidTypeByte: 'invalid-type-byte',
  extNotSupported: 'ext-not-supported',
  tooManyElements: 'too-many-elements',
  tooDeep: 'too-deep'
} as const
export type DecodeErrorReason = (typeof DecodeErrorReason)[keyof typeof DecodeErrorReason]

export class MsgpackDecodeError extends Error {
  readonly reason: DecodeErrorReason
  readonly offset: number

  constructor(reason: DecodeErrorReason, offset: number, detail: string) {
    super(`${reason} at byte ${offset}: ${detail}`)
    this.name = 'MsgpackDecodeError'
    this.reason = reason
    this.offset = offset
  }
}

export interface DecodeOptions {
  /** Largest element count an array or map header may claim; the Datadog Agent refuses more than 25e6. */
  maxElements?: number
  /** Deepest nesting accepted; guards the recursion against a body of nested fixarray bytes. */
  maxDepth?: number
}

export const DEFAULT_MAX_ELEMENTS = 25_000_000
export const DEFAULT_MAX_DEPTH = 64

class Reader {
  readonly #bytes: Buffer
  readonly #view: DataView
  readonly #end: number
  readonly #maxElements: number
  readonly #maxDepth: number
  #pos = 0

  constructor(input: Uint8Array, options: DecodeOptions) {
    this.#bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength)
    this.#view = new DataView(input.buffer, input.byteOffset, input.byteLength)
    this.#end = input.byteLength
    this.#maxElements = options.maxElements ?? DEFAULT_MAX_ELEMENTS
    this.#maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH
  }

  document(): MsgpackNode {
    const node = this.#value(0)
    if (this.#pos !== this.#end) {
      throw new MsgpackDecodeError('trailing-bytes', this.#pos, `${this.#end - this.#pos} bytes after the value`)
    }
    return node
  }

  #need(n: number): void {
    if (this.#end - this.#pos < n) {
      throw new MsgpackDecodeError('unexpected-eof', this.#end, `needed ${n} more bytes, ${this.#end - this.#pos} left`)
    }
  }

  #u8(): number {
    this.#need(1)
    return this.#view.getUint8(this.#pos++)
  }

  #u16(): number {
    this.#need(2)
    const v = this.#view.getUint16(this.#pos)
    this.#pos += 2
    return v
  }

  #u32(): number {
    this.#need(4)
    const v = this.#view.getUint32(this.#pos)
    this.#pos += 4
    return v
  }

  #value(depth: number): MsgpackNode {
    const b = this.#u8()
    if (b <= 0x7f) return { kind: 'uint', format: 'positive-fixint', value: b }
    if (b >= 0xe0) return { kind: 'int', format: 'negative-fixint', value: b - 0x100 }
    if (b <= 0x8f) return this.#map(b & 0x0f, 'fixmap', depth)
    if (b <= 0x9f) return this.#array(b & 0x0f, 'fixarray', depth)
    if (b <= 0xbf) return this.#str(b & 0x1f, 'fixstr')
    const view = this.#view
    switch (b) {
      case 0xc0:
        return { kind: 'nil', format: 'nil' }
      case 0xc2:
        return { kind: 'bool', format: 'false', value: false }
      case 0xc3:
        return { kind: 'bool', format: 'true', value: true }
      case 0xc4:
        return this.#bin(this.#u8(), 'bin8')
      case 0xc5:
        return this.#bin(this.#u16(), 'bin16')
      case 0xc6:
        return this.#bin(this.#u32(), 'bin32')
      case 0xca: {
        this.#need(4)
        const value = view.getFloat32(this.#pos)
        this.#pos += 4
        return { kind: 'float', format: 'float32', value }
      }
      case 0xcb: {
        this.#need(8)
        const value = view.getFloat64(this.#pos)
        this.#pos += 8
        return { kind: 'float', format: 'float64', value }
      }
      case 0xcc:
        return { kind: 'uint', format: 'uint8', value: this.#u8() }
      case 0xcd:
        return { kind: 'uint', format: 'uint16', value: this.#u16() }
      case 0xce:
        return { kind: 'uint', format: 'uint32', value: this.#u32() }
      case 0xcf: {
        this.#need(8)
        const value = view.getBigUint64(this.#pos)
        this.#pos += 8
        return { kind: 'uint', format: 'uint64', value }
      }
      case 0xd0:
        this.#need(1)
        return { kind: 'int', format: 'int8', value: view.getInt8(this.#pos++) }
      case 0xd1: {
        this.#need(2)
        const value = view.getInt16(this.#pos)
        this.#pos += 2
        return { kind: 'int', format: 'int16', value }
      }
      case 0xd2: {
        this.#need(4)
        const value = view.getInt32(this.#pos)
        this.#pos += 4
        return { kind: 'int', format: 'int32', value }
      }
      case 0xd3: {
        this.#need(8)
        const value = view.getBigInt64(this.#pos)
        this.#pos += 8
        return { kind: 'int', format: 'int64', value }
      }
      case 0xd9:
        return this.#str(this.#u8(), 'str8')
      case 0xda:
        return this.#str(this.#u16(), 'str16')
      case 0xdb:
        return this.#str(this.#u32(), 'str32')
      case 0xdc:
        return this.#array(this.#u16(), 'array16', depth)
      case 0xdd:
        return this.#array(this.#u32(), 'array32', depth)
      case 0xde:
        return this.#map(this.#u16(), 'map16', depth)
      case 0xdf:
        return this.#map(this.#u32(), 'map32', depth)
      case 0xc7:
      case 0xc8:
      case 0xc9:
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        // No Datadog span field is an ext type, and the agent's decoder refuses them as well.
        throw new MsgpackDecodeError('ext-not-supported', this.#pos - 1, `ext type byte 0x${b.toString(16)}`)
      default:
        throw new MsgpackDecodeError('invalid-type-byte', this.#pos - 1, `type byte 0x${b.toString(16)} is never used`)
    }
  }

  // Every element takes at least one byte (two for a map entry), so a count the remaining input cannot hold
  // is truncation, found before anything is allocated for it.
  #checkCount(count: number, bytesPerElement: number, depth: number): void {
    if (count > this.#maxElements) {
      throw new MsgpackDecodeError('too-many-elements', this.#pos, `header claims ${count} elements`)
    }
    if (count * bytesPerElement > this.#end - this.#pos) {
      throw new MsgpackDecodeError('unexpected-eof', this.#end, `header claims ${count} elements, ${this.#end - this.#pos} bytes left`)
    }
    if (depth >= this.#maxDepth) {
      throw new MsgpackDecodeError('too-deep', this.#pos, `nesting deeper than ${this.#maxDepth}`)
    }
  }

  #array(count: number, format: 'fixarray' | 'array16' | 'array32', depth: number): MsgpackNode {
    this.#checkCount(count, 1, depth)
    const items: MsgpackNode[] = []
    for (let i = 0; i < count; i++) items.push(this.#value(depth + 1))
    return { kind: 'array', format, items }
  }

  #map(count: number, format: 'fixmap' | 'map16' | 'map32', depth: number): MsgpackNode {
    this.#checkCount(count, 2, depth)
    const keys: MsgpackNode[] = []
    const values: MsgpackNode[] = []
    for (let i = 0; i < count; i++) {
      keys.push(this.#value(depth + 1))
      values.push(this.#value(depth + 1))
    }
    return { kind: 'map', format, keys, values }
  }

  #str(length: number, format: 'fixstr' | 'str8' | 'str16' | 'str32'): MsgpackNode {
    this.#need(length)
    const start = this.#pos
    this.#pos += length
    // Like the agent, repair invalid UTF-8 with U+FFFD; only a string holding U+FFFD needs the exact check.
    const value = this.#bytes.toString('utf8', start, this.#pos)
    const validUtf8 = !value.includes('\uFFFD') || isUtf8(this.#bytes.subarray(start, this.#pos))
    return { kind: 'str', format, value, validUtf8 }
  }

  #bin(length: number, format: 'bin8' | 'bin16' | 'bin32'): MsgpackNode {
    this.#need(length)
    const start = this.#pos
    this.#pos += length
    // A plain Uint8Array copy, so a stored span does not pin the whole request body in memory.
    const value = new Uint8Array(length)
    value.set(this.#bytes.subarray(start, this.#pos))
    return { kind: 'bin', format, value }
  }
}

/** Decodes exactly one msgpack value filling the whole input, keeping the wire format of every value. */
export function decodeMsgpackTree(input: Uint8Array, options: DecodeOptions = {}): MsgpackNode {
  return new Reader(input, options).document()
}

export interface PlainOptions extends DecodeOptions {
  /**
   * `bigint` (default): uint64/int64 formats always decode to bigint, so ids are exact whatever their value.
   * `auto`: they decode to number when the value is a safe integer, bigint otherwise.
   */
  int64?: 'bigint' | 'auto'
}

/**
 * Decodes to plain JavaScript values: maps become objects (keys converted with String()), bin becomes
 * Uint8Array.
 */
export function decodeMsgpack(input: Uint8Array, options: PlainOptions = {}): unknown {
  return toPlain(decodeMsgpackTree(input, options), options.int64 ?? 'bigint')
}

export function toPlain(node: MsgpackNode, int64: 'bigint' | 'auto' = 'bigint'): unknown {
  switch (node.kind) {
    case 'nil':
      return null
    case 'uint':
    case 'int':
      if (typeof node.value === 'bigint' && int64 === 'auto') {
        const n = Number(node.value)
        return Number.isSafeInteger(n) ? n : node.value
      }
      return node.value
    case 'bool':
    case 'float':
    case 'str':
    case 'bin':
      return node.value
    case 'array':
      return node.items.map((item) => toPlain(item, int64))
    case 'map': {
      const out: Record<string, unknown> = {}
      for (let i = 0; i < node.keys.length; i++) {
        setOwn(out, String(toPlain(node.keys[i], int64)), toPlain(node.values[i], int64))
      }
      return out
    }
  }
}
