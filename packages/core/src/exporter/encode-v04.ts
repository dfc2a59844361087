import type { Span } from '../span.js'
import { MsgpackWriter, PayloadTooLargeError, encodeString } from './msgpack-writer.js'

/** What the encoder adds to every span: the tracer's identity and global tags. */
export interface SpanDecorations {
  /** The tracer's service: spans of another service get `_dd.base_service`. */
  readonly service: string
  /** Meta on every span unless the span set the key itself: env, version, language, runtime-id, DD_TAGS. */
  readonly globalMeta: Readonly<Record<string, string>>
  readonly processId: number
}

const key = encodeString
const K = {
  traceId: key('trace_id'),
  spanId: key('span_id'),
  parentId: key('parent_id'),
  name: key('name'),
  resource: key('resource'),
  service: key('service'),
  type: key('type'),
  start: key('start'),
  duration: key('duration'),
  error: key('error'),
  meta: key('meta'),
  metrics: key('metrics'),
  tid: key('_dd.p.tid'),
  dm: key('_dd.p.dm'),
  origin: key('_dd.origin'),
  baseService: key('_dd.base_service'),
  priority: key('_sampling_priority_v1'),
  topLevel: key('_dd.top_level'),
  processId: key('process_id')
} as const

const TWO_32 = 0x1_0000_0000
// Span starts are performance.now() offsets; epoch ns = the process's time origin + offset. The origin
// (~1.7e18 ns) is past 2^53, so it is kept as two uint32 halves and the offset added with a carry:
// exact, and no BigInt per span.
const originNs = BigInt(Math.round(performance.timeOrigin * 1000)) * 1000n
const ORIGIN_HIGH = Number(originNs >> 32n)
const ORIGIN_LOW = Number(originNs & 0xffffffffn)

/**
 * The v0.4 layout (`array<trace>`, trace = `array<span>`, span = a map of 12 keys), written by hand:
 * 2.4–3× faster than @msgpack/msgpack per span (shared/reference/hotpath-costs.md, item 5) and exact for
 * 64-bit ids. One encoder builds one payload at a time: `begin`, `append` chunks, `finish`.
 */
export class V04Encoder {
  readonly #writer: MsgpackWriter
  readonly #decorations: SpanDecorations
  readonly #globalKeys: readonly string[]
  readonly #globalPairs: readonly Uint8Array[]
  #header = 0
  #traceCount = 0
  #spanCount = 0

  constructor(decorations: SpanDecorations, maxPayloadBytes: number) {
    this.#writer = new MsgpackWriter(Math.min(64 * 1024, maxPayloadBytes), maxPayloadBytes)
    this.#decorations = decorations
    this.#globalKeys = Object.keys(decorations.globalMeta)
    this.#globalPairs = this.#globalKeys.map((k) => {
      const w = new MsgpackWriter(256, 1 << 20)
      w.string(k)
      w.string(decorations.globalMeta[k])
      return w.bytes()
    })
  }

  get traceCount(): number {
    return this.#traceCount
  }

  get spanCount(): number {
    return this.#spanCount
  }

  get byteLength(): number {
    return this.#writer.length
  }

  begin(): void {
    this.#writer.reset()
    this.#header = this.#writer.reserveHeader32(0xdd)
    this.#traceCount = 0
    this.#spanCount = 0
  }

  /** Adds one trace chunk; false, with nothing written, when it does not fit under the payload cap. */
  append(chunk: readonly Span[]): boolean {
    const writer = this.#writer
    const mark = writer.length
    try {
      writer.arrayHeader(chunk.length)
      // Chunks hold spans in finishing order; written backwards, the local root (which finishes last)
      // comes first and carries the chunk's trace tags, as in dd-trace's payloads.
      const last = chunk.length - 1
      for (let i = last; i >= 0; i--) this.#span(chunk[i], i === last)
    } catch (err) {
      if (!(err instanceof PayloadTooLargeError)) throw err
      writer.truncate(mark)
      return false
    }
    this.#traceCount++
    this.#spanCount += chunk.length
    return true
  }

  /** The payload: a copy, so the encoder can start the next one at once. */
  finish(): Buffer {
    this.#writer.patchHeader32(this.#header, this.#traceCount)
    return this.#writer.bytes()
  }

  #span(span: Span, firstInChunk: boolean): void {
    const w = this.#writer
    const trace = span.trace
    const decorations = this.#decorations
    const name = span.name !== '' ? span.name : 'unnamed_operation'
    const service = span.service !== '' ? span.service : decorations.service
    const topLevel = span.parentService === undefined || span.parentService !== service

    w.mapHeader(12)
    w.raw(K.traceId)
    w.uint64(trace.traceId)
    w.raw(K.spanId)
    w.uint64(span.spanId)
    w.raw(K.parentId)
    w.uint64(span.parentId)
    w.raw(K.name)
    w.string(name)
    w.raw(K.resource)
    w.string(span.resource !== '' ? span.resource : name)
    w.raw(K.service)
    w.string(service)
    w.raw(K.type)
    w.string(span.type)

    w.raw(K.start)
    const rel = Math.round(span.start * 1e6)
    const relHigh = Math.floor(rel / TWO_32)
    let low = ORIGIN_LOW + (rel - relHigh * TWO_32)
    let high = ORIGIN_HIGH + relHigh
    if (low >= TWO_32) {
      low -= TWO_32
      high += 1
    }
    w.int64Parts(high, low)
    w.raw(K.duration)
    w.int64(Math.round(span.duration * 1e6))
    w.raw(K.error)
    w.fixint(span.error === 0 ? 0 : 1)

    w.raw(K.meta)
    const metaHeader = w.reserveHeader32(0xdf)
    let metaCount = 0
    // A key the span set itself is written once, from the span: the agent reads a repeated key as a
    // malformed payload.
    const meta = span.meta
    for (const k in meta) {
      w.string(k)
      w.string(meta[k])
      metaCount++
    }
    if (firstInChunk) {
      if (trace.traceIdHigh !== '' && meta['_dd.p.tid'] === undefined) {
        w.raw(K.tid)
        w.string(trace.traceIdHigh)
        metaCount++
      }
      if (trace.decisionMaker !== undefined && trace.samplingPriority !== undefined && trace.samplingPriority > 0 && meta['_dd.p.dm'] === undefined) {
        w.raw(K.dm)
        w.string(trace.decisionMaker)
        metaCount++
      }
      const tags = trace.tags
      for (const k in tags) {
        if (meta[k] !== undefined) continue
        w.string(k)
        w.string(tags[k])
        metaCount++
      }
    }
    if (trace.origin !== undefined && meta['_dd.origin'] === undefined) {
      w.raw(K.origin)
      w.string(trace.origin)
      metaCount++
    }
    if (service !== decorations.service && meta['_dd.base_service'] === undefined) {
      w.raw(K.baseService)
      w.string(decorations.service)
      metaCount++
    }
    const globalKeys = this.#globalKeys
    for (let i = 0; i < globalKeys.length; i++) {
      if (meta[globalKeys[i]] === undefined) {
        w.raw(this.#globalPairs[i])
        metaCount++
      }
    }
    w.patchHeader32(metaHeader, metaCount)

    w.raw(K.metrics)
    const metricsHeader = w.reserveHeader32(0xdf)
    let metricsCount = 0
    const metrics = span.metrics
    for (const k in metrics) {
      w.string(k)
      w.float64(metrics[k])
      metricsCount++
    }
    if (trace.samplingPriority !== undefined && metrics['_sampling_priority_v1'] === undefined) {
      w.raw(K.priority)
      w.float64(trace.samplingPriority)
      metricsCount++
    }
    if (topLevel && metrics['_dd.top_level'] === undefined) {
      w.raw(K.topLevel)
      w.float64(1)
      metricsCount++
    }
    if (topLevel && metrics.process_id === undefined) {
      w.raw(K.processId)
      w.float64(decorations.processId)
      metricsCount++
    }
    w.patchHeader32(metricsHeader, metricsCount)
  }
}
