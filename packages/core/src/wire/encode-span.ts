import type { CoreSpan } from '../model/span.js'
import type { BufferPool } from './buffer-pool.js'
import { MsgpackWriter, PayloadTooLargeError } from './msgpack-writer.js'
import {
  Limits,
  NormalizeCache,
  asText,
  isSqlType,
  isValidStatusCode,
  normalizeName,
  normalizePeerService,
  normalizeService,
  normalizeTagValue,
  sqlResourceToSend,
  truncateUtf8,
  truncateWithEllipsis
} from './normalize.js'

/** What the encoder adds to every span: the tracer's identity and global tags. */
export interface SpanDecorations {
  /** The tracer's service: spans of another service get `_dd.base_service`. */
  readonly service: string
  /** Meta on every span unless the span set the key itself: env, version, language, runtime-id, DD_TAGS. */
  readonly globalMeta: Readonly<Record<string, string>>
  readonly processId: number
}

export type ProtocolVersion = '0.4' | '0.5'

/** Builds one payload at a time: `begin`, `append` chunks, `finish`. */
export interface PayloadEncoder {
  readonly protocol: ProtocolVersion
  readonly traceCount: number
  readonly spanCount: number
  readonly byteLength: number
  begin(): void
  /** Adds one trace chunk; false, with nothing written, when it does not fit under the payload cap. */
  append(chunk: readonly CoreSpan[]): boolean
  /** The payload: a copy, so the encoder can start the next one at once. */
  finish(): Buffer
  /** The payload with where each trace and span sits in it, so it can be split without its spans. */
  finishPayload(): EncodedPayload
}

/**
 * An encoded payload and its layout. Everything before `tracesAt` is shared by any part of it (v0.5's
 * string table); at `tracesAt` the traces array begins (0xdd and a uint32 count), then each trace as an
 * array header and its spans. The offsets let a payload the agent refused as too large be split in
 * halves at trace or span boundaries, byte for byte, once its spans are long gone.
 */
export interface EncodedPayload {
  readonly protocol: ProtocolVersion
  readonly bytes: Buffer
  readonly traceCount: number
  readonly spanCount: number
  readonly tracesAt: number
  /**
   * Offset in `bytes` of each trace's array header. The offsets are typed arrays: their contents live
   * outside V8's heap, so a payload waiting for the agent adds nothing for scavenges to copy.
   */
  readonly traceStarts: Uint32Array
  /** Offset in `bytes` of each span, in payload order. */
  readonly spanStarts: Uint32Array
  /** Index in `spanStarts` of each trace's first span. */
  readonly traceFirstSpan: Uint32Array
}

/** Span fields in the order both layouts write them: v0.5's fixed array order. */
export const FIELDS = ['service', 'name', 'resource', 'trace_id', 'span_id', 'parent_id', 'start', 'duration', 'error', 'meta', 'metrics', 'type'] as const
const F = { service: 0, name: 1, resource: 2, traceId: 3, spanId: 4, parentId: 5, start: 6, duration: 7, error: 8, meta: 9, metrics: 10, type: 11 } as const

/** Strings every payload may use; v0.5 puts them at fixed places in its string table. */
const K = { tid: 0, dm: 1, origin: 2, baseService: 3, priority: 4, topLevel: 5, processId: 6, service: 7 } as const
const FIXED_STRINGS = ['_dd.p.tid', '_dd.p.dm', '_dd.origin', '_dd.base_service', '_sampling_priority_v1', '_dd.top_level', 'process_id'] as const

const TWO_32 = 0x1_0000_0000
// Span starts are performance.now() offsets; epoch ns = the process's time origin + offset. The origin
// (~1.7e18 ns) is past 2^53, so it is kept as two uint32 halves and the offset added with a carry:
// exact, and no BigInt per span.
const originNs = BigInt(Math.round(performance.timeOrigin * 1000)) * 1000n
const ORIGIN_HIGH = Number(originNs >> 32n)
const ORIGIN_LOW = Number(originNs & 0xffffffffn)
// The agent replaces a start before 2000-01-01 with now - duration; past 2262 int64 ns overflow.
const MIN_START_MS = 946_684_800_000 - performance.timeOrigin
const MAX_START_MS = 9_200_000_000_000 - performance.timeOrigin
const MAX_DURATION_MS = Number.MAX_SAFE_INTEGER / 1e6

// Lengths below these are within the agent's byte limits whatever the characters (3 bytes per unit at most).
const SHORT_TYPE = Math.floor(Limits.typeBytes / 3)
const SHORT_RESOURCE = Math.floor(Limits.resourceBytes / 3)
const SHORT_KEY = Math.floor(Limits.metaKeyBytes / 3)
const SHORT_VALUE = Math.floor(Limits.metaValueBytes / 3)

// Meta keys the agent rewrites. Most keys differ from them in length, so a table lookup settles most
// keys before any string comparison.
const SPECIAL_KEYS = ['http.status_code', 'env', 'peer.service', '_dd.base_service'] as const
const SPECIAL_LENGTH = new Uint8Array(SHORT_KEY + 1)
for (const key of SPECIAL_KEYS) SPECIAL_LENGTH[key.length] = 1

function isSpecialKey(k: string): boolean {
  return k === 'http.status_code' || k === 'env' || k === 'peer.service' || k === '_dd.base_service'
}

/**
 * A meta pair as the agent leaves it: `http.status_code` only when valid, `env` and peer services
 * normalized, keys and values cut. Undefined when the pair goes.
 */
export function fixMetaPair(key: string, value: unknown): [string, string] | undefined {
  if (value === undefined || value === null) return undefined
  let v = typeof value === 'string' ? value : asText(value)
  switch (key) {
    case 'http.status_code':
      if (!isValidStatusCode(v)) return undefined
      break
    case 'env':
      if (v !== '') v = normalizeTagValue(v)
      break
    case 'peer.service':
    case '_dd.base_service':
      if (v !== '') v = normalizePeerService(v)
      break
  }
  return [truncateWithEllipsis(key, Limits.metaKeyBytes), truncateWithEllipsis(v, Limits.metaValueBytes)]
}

/**
 * A growable list of byte offsets in a Uint32Array that is kept from one payload to the next. A payload
 * of 10,000 spans would otherwise regrow a JS array of 10,000 numbers each time, in V8's young
 * generation, where it survives scavenges for the payload's whole life and makes V8 grow that
 * generation (+50 MB of RSS measured with 1 MiB payloads).
 */
class OffsetList {
  #items = new Uint32Array(1024)
  length = 0

  push(offset: number): void {
    if (this.length === this.#items.length) {
      const grown = new Uint32Array(this.#items.length * 2)
      grown.set(this.#items)
      this.#items = grown
    }
    this.#items[this.length++] = offset
  }

  /** The offsets plus `base`, in a new array of their own. */
  copy(base: number): Uint32Array {
    const out = this.#items.slice(0, this.length)
    if (base !== 0) for (let i = 0; i < out.length; i++) out[i] += base
    return out
  }
}

/**
 * The span walk shared by the v0.4 and v0.5 encoders, with the agent's normalization applied as spans
 * are written (never on the request path): every value gets a length or
 * type check, and only a value that fails it goes through the slower fix. The subclasses decide how a
 * string is written (inline, or as an index into the string table) and what a field key looks like.
 */
export abstract class SpanEncoder implements PayloadEncoder {
  abstract readonly protocol: ProtocolVersion
  protected readonly writer: MsgpackWriter
  protected readonly maxPayloadBytes: number
  /** Where finished payloads are written; undefined: new memory each time. */
  protected readonly pool: BufferPool | undefined
  /** The fixed strings, in the order the `constants` fragments were built from. */
  protected readonly fixedStrings: readonly string[]
  readonly #constants: readonly Uint8Array[]
  readonly #globalPairs: readonly Uint8Array[]
  /** Every global pair, one after the other: what a span that set none of them itself gets. */
  readonly #allGlobalPairs: Uint8Array
  readonly #globalKeys: readonly string[]
  /** 1 at the length of each global key (≤ 31 keys; more are looked up in meta span by span). */
  readonly #globalLength = new Uint8Array(SHORT_KEY + 1)
  readonly #fieldKeys: readonly Uint8Array[] | undefined
  readonly #spanHeader: number
  readonly #rawService: string
  readonly #service: string
  readonly #processId: number
  readonly #services = new NormalizeCache(normalizeService)
  readonly #names = new NormalizeCache(normalizeName)
  #traceCount = 0
  #spanCount = 0
  // Writer offsets of each trace and span of the open payload (see EncodedPayload).
  readonly #traceStarts = new OffsetList()
  readonly #spanStarts = new OffsetList()

  /**
   * `constant(s, i)` encodes the i-th fixed string as the subclass writes it; `fieldKeys` are the
   * pre-encoded key of each field in FIELDS order (v0.4), or undefined when the layout has no keys (v0.5).
   */
  protected constructor(
    decorations: SpanDecorations,
    maxPayloadBytes: number,
    constant: (s: string, index: number) => Uint8Array,
    fieldKeys: readonly Uint8Array[] | undefined,
    spanHeader: number,
    pool: BufferPool | undefined
  ) {
    this.maxPayloadBytes = maxPayloadBytes
    this.pool = pool
    this.writer = new MsgpackWriter(Math.min(64 * 1024, maxPayloadBytes), maxPayloadBytes)
    this.#rawService = decorations.service
    this.#service = normalizeService(asText(decorations.service))
    this.#processId = decorations.processId
    this.#fieldKeys = fieldKeys
    this.#spanHeader = spanHeader
    const pairs: [string, string][] = []
    for (const key of Object.keys(decorations.globalMeta)) {
      const pair = fixMetaPair(key, decorations.globalMeta[key])
      if (pair !== undefined) pairs.push(pair)
    }
    this.#globalKeys = pairs.map(([k]) => k)
    if (this.#globalKeys.length <= 31) for (const k of this.#globalKeys) if (k.length <= SHORT_KEY) this.#globalLength[k.length] = 1
    const fixed: string[] = [...FIXED_STRINGS, this.#service]
    for (const [k, v] of pairs) fixed.push(k, v)
    this.fixedStrings = fixed
    const encoded = fixed.map((s, i) => constant(s, i))
    this.#constants = encoded.slice(0, K.service + 1)
    this.#globalPairs = pairs.map((_, i) => {
      const a = encoded[K.service + 1 + 2 * i]
      const b = encoded[K.service + 2 + 2 * i]
      const both = new Uint8Array(a.length + b.length)
      both.set(a, 0)
      both.set(b, a.length)
      return both
    })
    this.#allGlobalPairs = new Uint8Array(this.#globalPairs.reduce((n, pair) => n + pair.length, 0))
    let at = 0
    for (const pair of this.#globalPairs) {
      this.#allGlobalPairs.set(pair, at)
      at += pair.length
    }
  }

  get traceCount(): number {
    return this.#traceCount
  }

  get spanCount(): number {
    return this.#spanCount
  }

  abstract get byteLength(): number

  /** Writes one string value. */
  protected abstract str(s: string): void
  /** Remembers where a chunk starts, so a chunk that does not fit can be taken back. */
  protected abstract mark(): void
  /** Takes back everything written since `mark`. */
  protected abstract rollback(): void
  /** True while what was written fits the payload cap. */
  protected abstract fits(): boolean
  abstract begin(): void
  abstract finish(): Buffer

  protected resetCounts(): void {
    this.#traceCount = 0
    this.#spanCount = 0
    this.#traceStarts.length = 0
    this.#spanStarts.length = 0
  }

  /** Where the writer's bytes start in the finished payload. */
  protected abstract get writerBase(): number

  finishPayload(): EncodedPayload {
    const bytes = this.finish()
    const base = this.writerBase
    const traceStarts = this.#traceStarts.copy(base)
    const spanStarts = this.#spanStarts.copy(base)
    const traceFirstSpan = new Uint32Array(traceStarts.length)
    for (let t = 0, s = 0; t < traceStarts.length; t++) {
      while (s < spanStarts.length && spanStarts[s] < traceStarts[t]) s++
      traceFirstSpan[t] = s
    }
    return { protocol: this.protocol, bytes, traceCount: this.#traceCount, spanCount: this.#spanCount, tracesAt: base, traceStarts, spanStarts, traceFirstSpan }
  }

  append(chunk: readonly CoreSpan[]): boolean {
    const writer = this.writer
    const traceStarts = this.#traceStarts
    const spanStarts = this.#spanStarts
    const spansBefore = spanStarts.length
    this.mark()
    traceStarts.push(writer.length)
    try {
      writer.arrayHeader(chunk.length)
      // Chunks hold spans in finishing order; written backwards, the local root (which finishes last)
      // comes first and carries the chunk's trace tags, as in dd-trace's payloads.
      const last = chunk.length - 1
      for (let i = last; i >= 0; i--) this.#span(chunk[i], i === last)
    } catch (err) {
      // Whatever went wrong, the payload is left as it was before this chunk.
      traceStarts.length--
      spanStarts.length = spansBefore
      this.rollback()
      if (!(err instanceof PayloadTooLargeError)) throw err
      return false
    }
    if (!this.fits()) {
      traceStarts.length--
      spanStarts.length = spansBefore
      this.rollback()
      return false
    }
    this.#traceCount++
    this.#spanCount += chunk.length
    return true
  }

  /** The bit of a global key in `ownGlobals`; 0 for a key of a global key's length that is none. */
  #globalBit(k: string): number {
    const globalKeys = this.#globalKeys
    for (let i = 0; i < globalKeys.length; i++) if (globalKeys[i] === k) return 1 << i
    return 0
  }

  #normService(raw: unknown): string {
    if (raw === this.#rawService) return this.#service
    const text = typeof raw === 'string' ? raw : asText(raw)
    return text === '' ? this.#service : this.#services.get(text)
  }

  #span(span: CoreSpan, firstInChunk: boolean): void {
    const w = this.writer
    this.#spanStarts.push(w.length)
    const trace = span.trace
    const consts = this.#constants
    // v0.4 field keys; undefined for v0.5, whose span is a positional array.
    const keys = this.#fieldKeys

    const service = this.#normService(span.service)
    const parentService = span.parentService
    const topLevel = parentService === undefined || (parentService !== span.service && this.#normService(parentService) !== service)
    const rawName = span.name
    const name = this.#names.get(typeof rawName === 'string' ? rawName : asText(rawName))
    let resource: string = typeof span.resource === 'string' ? span.resource : asText(span.resource)
    if (resource === '') resource = name
    let type: string = typeof span.type === 'string' ? span.type : asText(span.type)
    if (type.length > SHORT_TYPE) type = truncateUtf8(type, Limits.typeBytes)
    // SQL goes as written, as dd-trace sends it: the agent obfuscates it (and fills `sql.query`) before
    // it truncates, so it is not cut here at the resource limit.
    if (isSqlType(type)) resource = sqlResourceToSend(resource)
    else if (resource.length > SHORT_RESOURCE) resource = truncateUtf8(resource, Limits.resourceBytes)

    w.fixedHeader(this.#spanHeader)
    if (keys !== undefined) w.raw(keys[F.service])
    if (service === this.#service) w.raw(consts[K.service])
    else this.str(service)
    if (keys !== undefined) w.raw(keys[F.name])
    this.str(name)
    if (keys !== undefined) w.raw(keys[F.resource])
    this.str(resource)
    if (keys !== undefined) w.raw(keys[F.traceId])
    w.uint64(trace.traceId)
    if (keys !== undefined) w.raw(keys[F.spanId])
    w.uint64(span.spanId)
    if (keys !== undefined) w.raw(keys[F.parentId])
    // The agent resets a parent equal to both ids; only a hand-made span can look like that.
    w.uint64(span.parentId === span.spanId && span.parentId === trace.traceId ? 0n : span.parentId)

    let duration = span.duration
    if (!(duration >= 0) || duration > MAX_DURATION_MS) duration = 0
    let start = span.start
    if (!(start >= MIN_START_MS && start <= MAX_START_MS)) start = performance.now() - duration
    if (keys !== undefined) w.raw(keys[F.start])
    const rel = Math.round(start * 1e6)
    const relHigh = Math.floor(rel / TWO_32)
    let low = ORIGIN_LOW + (rel - relHigh * TWO_32)
    let high = ORIGIN_HIGH + relHigh
    if (low >= TWO_32) {
      low -= TWO_32
      high += 1
    }
    w.int64Parts(high, low)
    if (keys !== undefined) w.raw(keys[F.duration])
    // Numbers go in msgpack's smallest form: the agent reads int64 fields from any int or uint format
    // and metrics from any int, uint or float64 (pkg/proto/pbgo/trace/decoder_bytes.go), as Python's
    // tracer sends them. Meta and metrics headers take one byte below 16 entries.
    w.uintLong(Math.round(duration * 1e6))
    if (keys !== undefined) w.raw(keys[F.error])
    w.fixint(span.error === 0 ? 0 : 1)

    if (keys !== undefined) w.raw(keys[F.meta])
    const metaHeader = w.reserveMapHeader()
    let metaCount = 0
    const meta = span.meta
    // Global keys the span set itself, as bits of their place in #globalKeys, noted on the way: looking
    // each one up in meta afterwards was ~9% of the encoding time (bench/micro/encode-traces.mjs).
    const globalLength = this.#globalLength
    let ownGlobals = 0
    for (const k in meta) {
      const v = meta[k]
      const len = k.length
      if (len <= SHORT_KEY && globalLength[len] === 1 && v !== undefined) ownGlobals |= this.#globalBit(k)
      if (typeof v !== 'string' || len > SHORT_KEY || v.length > SHORT_VALUE || (SPECIAL_LENGTH[len] === 1 && isSpecialKey(k))) {
        if (k === 'http.status_code' && typeof v === 'string' && v.length <= SHORT_VALUE) {
          // On every HTTP span: checked here rather than through fixMetaPair's pair.
          if (!isValidStatusCode(v)) continue
          this.str(k)
          this.str(v)
          metaCount++
          continue
        }
        const pair = fixMetaPair(k, v)
        if (pair === undefined) continue
        this.str(pair[0])
        this.str(pair[1])
      } else {
        this.str(k)
        this.str(v)
      }
      metaCount++
    }
    if (firstInChunk) {
      if (trace.traceIdHigh !== '' && meta['_dd.p.tid'] === undefined) {
        w.raw(consts[K.tid])
        this.str(trace.traceIdHigh)
        metaCount++
      }
      if (trace.decisionMaker !== undefined && trace.samplingPriority !== undefined && trace.samplingPriority > 0 && meta['_dd.p.dm'] === undefined) {
        w.raw(consts[K.dm])
        this.str(trace.decisionMaker)
        metaCount++
      }
      const tags = trace.tags
      for (const k in tags) {
        if (meta[k] !== undefined) continue
        const pair = fixMetaPair(k, tags[k])
        if (pair === undefined) continue
        this.str(pair[0])
        this.str(pair[1])
        metaCount++
      }
    }
    if (trace.origin !== undefined && meta['_dd.origin'] === undefined) {
      w.raw(consts[K.origin])
      this.str(asText(trace.origin))
      metaCount++
    }
    if (service !== this.#service && meta['_dd.base_service'] === undefined) {
      w.raw(consts[K.baseService])
      w.raw(consts[K.service])
      metaCount++
    }
    const globalKeys = this.#globalKeys
    if (ownGlobals === 0 && globalKeys.length <= 31) {
      // The usual case: the span set none of the global keys, so they go in one copy.
      w.raw(this.#allGlobalPairs)
      metaCount += globalKeys.length
    } else if (globalKeys.length <= 31) {
      for (let i = 0; i < globalKeys.length; i++) {
        if ((ownGlobals & (1 << i)) === 0) {
          w.raw(this.#globalPairs[i])
          metaCount++
        }
      }
    } else {
      for (let i = 0; i < globalKeys.length; i++) {
        if (meta[globalKeys[i]] === undefined) {
          w.raw(this.#globalPairs[i])
          metaCount++
        }
      }
    }
    w.patchMapHeader(metaHeader, metaCount)

    if (keys !== undefined) w.raw(keys[F.metrics])
    const metricsHeader = w.reserveMapHeader()
    let metricsCount = 0
    const metrics = span.metrics
    for (const k in metrics) {
      const v = metrics[k]
      // `v - v` is 0 only for a finite number: NaN and Infinity cannot be sent.
      if (typeof v !== 'number' || v - v !== 0) continue
      this.str(k.length > SHORT_KEY ? truncateWithEllipsis(k, Limits.metricsKeyBytes) : k)
      w.number(v)
      metricsCount++
    }
    if (trace.samplingPriority !== undefined && metrics._sampling_priority_v1 === undefined) {
      w.raw(consts[K.priority])
      w.number(trace.samplingPriority)
      metricsCount++
    }
    if (topLevel && metrics['_dd.top_level'] === undefined) {
      w.raw(consts[K.topLevel])
      w.fixint(1)
      metricsCount++
    }
    if (topLevel && metrics.process_id === undefined) {
      w.raw(consts[K.processId])
      w.number(this.#processId)
      metricsCount++
    }
    w.patchMapHeader(metricsHeader, metricsCount)

    if (keys !== undefined) w.raw(keys[F.type])
    this.str(type)
  }
}
