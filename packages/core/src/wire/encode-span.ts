import type { CoreSpan } from '../model/span.js'
import type { SpanExtras } from '../model/span-extras.js'
import type { BufferPool } from './buffer-pool.js'
import { sendableDurationMs, sendableStartMs, writeEpochNs } from './epoch-time.js'
import { MsgpackWriter, PayloadTooLargeError } from './msgpack-writer.js'
import { Limits, NormalizeCache, asText, isSqlType, isValidStatusCode, normalizeName, normalizeService, sqlResourceToSend, truncateUtf8, truncateWithEllipsis } from './normalize.js'
import { OffsetList } from './offset-list.js'
import { FIELD, type EncodedPayload, type PayloadEncoder, type ProtocolVersion } from './payload-encoder.js'
import { EncodedDecorations, FIXED, type SpanDecorations, type SpanEventsMode } from './span-decorations.js'
import { EVENTS_KEY, spanEventsJson, writeNativeSpanEvents } from './span-events.js'
import { SPAN_LINKS_KEY, spanLinksJson } from './span-links.js'
import { SHORT_KEY, SHORT_RESOURCE, SHORT_TYPE, SHORT_VALUE, SPECIAL_LENGTH, fixMetaPair, isSpecialKey } from './span-fixes.js'

// The exporter takes the encoders' contract and options from the module of the encoder.
export type { EncodedPayload, PayloadEncoder, ProtocolVersion } from './payload-encoder.js'
export type { SpanDecorations, SpanEventsMode } from './span-decorations.js'

const SPAN_EVENTS_FIELD = 'span_events'

/**
 * The span walk shared by the v0.4 and v0.5 encoders, with the agent's normalization applied as spans
 * are written (never on the request path): every value gets a length or type check, and only a value
 * that fails it goes through the slower fix (span-fixes.ts). The subclasses decide how a string is
 * written (inline, or as an index into the string table) and what a field key looks like.
 */
export abstract class SpanEncoder implements PayloadEncoder {
  abstract readonly protocol: ProtocolVersion
  protected readonly writer: MsgpackWriter
  protected readonly maxPayloadBytes: number
  /** Where finished payloads are written; undefined: new memory each time. */
  protected readonly pool: BufferPool | undefined
  /** The fixed strings, in the order the decorations' fragments were built from. */
  protected readonly fixedStrings: readonly string[]
  readonly #decorations: EncodedDecorations
  readonly #fieldKeys: readonly Uint8Array[] | undefined
  readonly #spanHeader: number
  readonly #spanEvents: SpanEventsMode | undefined
  readonly #rawService: string
  readonly #service: string
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
    this.#decorations = new EncodedDecorations(decorations, constant)
    this.fixedStrings = this.#decorations.fixedStrings
    this.#rawService = this.#decorations.rawService
    this.#service = this.#decorations.service
    this.#fieldKeys = fieldKeys
    this.#spanHeader = spanHeader
    this.#spanEvents = decorations.spanEvents
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

  #normService(raw: unknown): string {
    if (raw === this.#rawService) return this.#service
    const text = typeof raw === 'string' ? raw : asText(raw)
    return text === '' ? this.#service : this.#services.get(text)
  }

  #span(span: CoreSpan, firstInChunk: boolean): void {
    const w = this.writer
    this.#spanStarts.push(w.length)
    const trace = span.trace
    const decorations = this.#decorations
    const consts = decorations.constants
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

    // Links and events are rare: one field read settles the common span.
    const extras = span.extras
    const nativeEvents = extras !== undefined && keys !== undefined && extras.events.length > 0 && this.#spanEvents?.native === true
    w.fixedHeader(nativeEvents ? this.#spanHeader + 1 : this.#spanHeader)
    if (keys !== undefined) w.raw(keys[FIELD.service])
    if (service === this.#service) w.raw(consts[FIXED.service])
    else this.str(service)
    if (keys !== undefined) w.raw(keys[FIELD.name])
    this.str(name)
    if (keys !== undefined) w.raw(keys[FIELD.resource])
    this.str(resource)
    if (keys !== undefined) w.raw(keys[FIELD.traceId])
    w.uint64(trace.traceId)
    if (keys !== undefined) w.raw(keys[FIELD.spanId])
    w.uint64(span.spanId)
    if (keys !== undefined) w.raw(keys[FIELD.parentId])
    // The agent resets a parent equal to both ids; only a hand-made span can look like that.
    w.uint64(span.parentId === span.spanId && span.parentId === trace.traceId ? 0n : span.parentId)

    const duration = sendableDurationMs(span.duration)
    if (keys !== undefined) w.raw(keys[FIELD.start])
    writeEpochNs(w, sendableStartMs(span.start, duration))
    if (keys !== undefined) w.raw(keys[FIELD.duration])
    // Numbers go in msgpack's smallest form: the agent reads int64 fields from any int or uint format
    // and metrics from any int, uint or float64 (pkg/proto/pbgo/trace/decoder_bytes.go), as Python's
    // tracer sends them. Meta and metrics headers take one byte below 16 entries.
    w.uintLong(Math.round(duration * 1e6))
    if (keys !== undefined) w.raw(keys[FIELD.error])
    w.fixint(span.error === 0 ? 0 : 1)

    if (keys !== undefined) w.raw(keys[FIELD.meta])
    const metaHeader = w.reserveMapHeader()
    let metaCount = 0
    const meta = span.meta
    // Global keys the span set itself, as bits of their place among the global keys, noted on the way:
    // looking each one up in meta afterwards was ~9% of the encoding time
    // (`node bench/micro/encode-traces.mjs ours-0.4`).
    const globalLength = decorations.globalLength
    let ownGlobals = 0
    for (const k in meta) {
      const v = meta[k]
      const len = k.length
      // The span's own links and events win over a tag of the same key, as in dd-trace.
      if (extras !== undefined && (k === SPAN_LINKS_KEY || k === EVENTS_KEY) && this.#hasExtra(extras, k, nativeEvents)) continue
      if (len <= SHORT_KEY && globalLength[len] === 1 && v !== undefined) ownGlobals |= decorations.globalBit(k)
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
    if (extras !== undefined) metaCount += this.#writeExtras(extras, nativeEvents)
    if (firstInChunk) {
      if (trace.traceIdHigh !== '' && meta['_dd.p.tid'] === undefined) {
        w.raw(consts[FIXED.tid])
        this.str(trace.traceIdHigh)
        metaCount++
      }
      if (trace.decisionMaker !== undefined && trace.samplingPriority !== undefined && trace.samplingPriority > 0 && meta['_dd.p.dm'] === undefined) {
        w.raw(consts[FIXED.dm])
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
      w.raw(consts[FIXED.origin])
      this.str(asText(trace.origin))
      metaCount++
    }
    if (service !== this.#service && meta['_dd.base_service'] === undefined) {
      w.raw(consts[FIXED.baseService])
      w.raw(consts[FIXED.service])
      metaCount++
    }
    metaCount += decorations.writeGlobals(w, ownGlobals, meta)
    w.patchMapHeader(metaHeader, metaCount)

    if (keys !== undefined) w.raw(keys[FIELD.metrics])
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
      w.raw(consts[FIXED.priority])
      w.number(trace.samplingPriority)
      metricsCount++
    }
    if (topLevel && metrics['_dd.top_level'] === undefined) {
      w.raw(consts[FIXED.topLevel])
      w.fixint(1)
      metricsCount++
    }
    if (topLevel && metrics.process_id === undefined) {
      w.raw(consts[FIXED.processId])
      w.number(decorations.processId)
      metricsCount++
    }
    w.patchMapHeader(metricsHeader, metricsCount)

    if (keys !== undefined) w.raw(keys[FIELD.type])
    this.str(type)
    if (nativeEvents && extras !== undefined) {
      w.string(SPAN_EVENTS_FIELD)
      writeNativeSpanEvents(w, extras.events)
    }
  }

  /** True when the span's links (or its events, unless native) take meta key `k`. */
  #hasExtra(extras: SpanExtras, k: string, nativeEvents: boolean): boolean {
    return k === SPAN_LINKS_KEY ? extras.links.length > 0 : !nativeEvents && extras.events.length > 0
  }

  /**
   * Writes the links (`_dd.span_links`) and, unless native, the events (`events`) as meta JSON, cut at
   * the meta value limit as the agent cuts them; returns how many pairs.
   */
  #writeExtras(extras: SpanExtras, nativeEvents: boolean): number {
    let count = 0
    const links = extras.links.length > 0 ? spanLinksJson(extras.links) : undefined
    if (links !== undefined) {
      this.str(SPAN_LINKS_KEY)
      this.str(truncateWithEllipsis(links, Limits.metaValueBytes))
      count++
    }
    const events = !nativeEvents ? spanEventsJson(extras.events) : undefined
    if (events !== undefined) {
      this.str(EVENTS_KEY)
      this.str(truncateWithEllipsis(events, Limits.metaValueBytes))
      count++
    }
    return count
  }
}
