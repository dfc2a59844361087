// A deliberately small msgpack encoder for the tests, written apart from the decoder under test. Plain values
// are encoded in their smallest format; `Raw` splices exact bytes so a test can force any format.

export class Raw {
  constructor(readonly bytes: Uint8Array) {}
}

export type Encodable = null | boolean | number | bigint | string | Uint8Array | Raw | Encodable[] | Map<Encodable, Encodable> | { [key: string]: Encodable }

export const raw = (...bytes: number[]): Raw => new Raw(Uint8Array.from(bytes))

function be(width: number, value: bigint): number[] {
  const out: number[] = []
  for (let i = width - 1; i >= 0; i--) out.push(Number((value >> BigInt(i * 8)) & 0xffn))
  return out
}

export const uint8 = (v: number): Raw => raw(0xcc, v)
export const uint16 = (v: number): Raw => raw(0xcd, ...be(2, BigInt(v)))
export const uint32 = (v: number): Raw => raw(0xce, ...be(4, BigInt(v)))
export const uint64 = (v: bigint | number): Raw => raw(0xcf, ...be(8, BigInt(v)))
export const int8 = (v: number): Raw => raw(0xd0, ...be(1, BigInt.asUintN(8, BigInt(v))))
export const int16 = (v: number): Raw => raw(0xd1, ...be(2, BigInt.asUintN(16, BigInt(v))))
export const int32 = (v: number): Raw => raw(0xd2, ...be(4, BigInt.asUintN(32, BigInt(v))))
export const int64 = (v: bigint | number): Raw => raw(0xd3, ...be(8, BigInt.asUintN(64, BigInt(v))))
export function float32(v: number): Raw {
  const view = new DataView(new ArrayBuffer(5))
  view.setUint8(0, 0xca)
  view.setFloat32(1, v)
  return new Raw(new Uint8Array(view.buffer))
}
export function float64(v: number): Raw {
  const view = new DataView(new ArrayBuffer(9))
  view.setUint8(0, 0xcb)
  view.setFloat64(1, v)
  return new Raw(new Uint8Array(view.buffer))
}

function header(length: number, fix: number, fixMax: number, f8: number | undefined, f16: number, f32: number): number[] {
  if (length <= fixMax) return [fix | length]
  if (f8 !== undefined && length <= 0xff) return [f8, length]
  if (length <= 0xffff) return [f16, ...be(2, BigInt(length))]
  return [f32, ...be(4, BigInt(length))]
}

export function encode(value: Encodable): Uint8Array {
  const parts: number[] = []
  write(value, parts)
  return Uint8Array.from(parts)
}

function write(value: Encodable, out: number[]): void {
  if (value === null) out.push(0xc0)
  else if (value === true) out.push(0xc3)
  else if (value === false) out.push(0xc2)
  else if (value instanceof Raw) for (const b of value.bytes) out.push(b)
  else if (typeof value === 'bigint') {
    if (value >= 0n) out.push(...(value <= 0x7fn ? [Number(value)] : uint64(value).bytes))
    else out.push(...int64(value).bytes)
  } else if (typeof value === 'number') {
    if (!Number.isInteger(value)) out.push(...float64(value).bytes)
    else if (value >= 0 && value <= 0x7f) out.push(value)
    else if (value < 0 && value >= -32) out.push(value & 0xff)
    else if (value >= 0 && value <= 0xffff_ffff) out.push(...uint32(value).bytes)
    else if (value < 0 && value >= -0x8000_0000) out.push(...int32(value).bytes)
    else out.push(...(value >= 0 ? uint64(value) : int64(value)).bytes)
  } else if (typeof value === 'string') {
    const bytes = new TextEncoder().encode(value)
    out.push(...header(bytes.length, 0xa0, 31, 0xd9, 0xda, 0xdb))
    for (const b of bytes) out.push(b)
  } else if (value instanceof Uint8Array) {
    out.push(...header(value.length, 0xc4, -1, 0xc4, 0xc5, 0xc6))
    for (const b of value) out.push(b)
  } else if (Array.isArray(value)) {
    out.push(...header(value.length, 0x90, 15, undefined, 0xdc, 0xdd))
    for (const item of value) write(item, out)
  } else {
    const entries = value instanceof Map ? [...value] : Object.entries(value)
    out.push(...header(entries.length, 0x80, 15, undefined, 0xde, 0xdf))
    for (const [k, v] of entries) {
      write(k, out)
      write(v, out)
    }
  }
}

/** A span as a strict client writes it; `overrides` replace or add fields, `undefined` removes one. */
export function span(overrides: Record<string, Encodable | undefined> = {}): Record<string, Encodable> {
  const base: Record<string, Encodable | undefined> = {
    service: 'web',
    name: 'express.request',
    resource: 'GET /users/:id',
    trace_id: uint64(0x1234n),
    span_id: uint64(0x5678n),
    parent_id: uint64(0n),
    start: int64(1_700_000_000_000_000_000n),
    duration: int64(1_500_000n),
    error: 0,
    meta: { 'http.status_code': '200', 'span.kind': 'server' },
    metrics: { _sampling_priority_v1: float64(1), '_dd.top_level': float64(1) },
    type: 'web',
    ...overrides
  }
  const out: Record<string, Encodable> = {}
  for (const [k, v] of Object.entries(base)) if (v !== undefined) out[k] = v
  return out
}

/** The headers dd-trace-js sends with a v0.4 payload of `traceCount` traces. */
export function tracerHeaders(traceCount: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'Content-Type': 'application/msgpack',
    'X-Datadog-Trace-Count': String(traceCount),
    'Datadog-Meta-Lang': 'nodejs',
    'Datadog-Meta-Lang-Version': 'v20.19.0',
    'Datadog-Meta-Lang-Interpreter': 'v8',
    'Datadog-Meta-Tracer-Version': '0.1.0',
    ...extra
  }
}

/** A map from an entry list, so a test can repeat a key (a JS Map or object cannot). */
export function mapOf(entries: Array<[Encodable, Encodable]>): Raw {
  const out: number[] = header(entries.length, 0x80, 15, undefined, 0xde, 0xdf)
  for (const [k, v] of entries) {
    write(k, out)
    write(v, out)
  }
  return new Raw(Uint8Array.from(out))
}
