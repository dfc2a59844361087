import { SamplingPriority, DecisionMaker } from './sampling-priority.js'
import type { SpanContext } from './span-context.js'
import { addEvent, addLink, SpanExtras } from './span-extras.js'
import type { Span, SpanAttributes, SpanTime } from './span-interface.js'
import { addTag, text, truncate } from './tag-values.js'
import { performance } from 'node:perf_hooks'

// A span and the trace it belongs to are one file: each holds the other.

/**
 * The CoreSpan behind a `Span`. Every Span comes from a tracer of this package, which makes only
 * CoreSpans (the interface is there to be called, not implemented): the code of ours that reads or
 * writes a span's fields directly, for speed, takes it through this one cast.
 */
export function coreSpan(span: Span): CoreSpan {
  return span as CoreSpan
}

/** What a span needs from the tracer that made it. */
export interface SpanOwner {
  finishSpan(span: CoreSpan): void
}

const timeOrigin = performance.timeOrigin

/**
 * One timed operation, the `Span` the tracer hands out. Every field is set in the constructor so V8
 * keeps a single shape for all spans; times are `performance.now()` milliseconds, turned into epoch
 * nanoseconds only when encoded. Operations on a finished span do nothing. The fields are internal:
 * the encoders, stats and samplers read them directly, users go through the `Span` methods.
 */
export class CoreSpan implements Span {
  readonly owner: SpanOwner
  readonly trace: TraceState
  readonly spanId: bigint
  /** 0n for the root of a trace. */
  readonly parentId: bigint
  /** The parent's service when the parent is a span of this process; decides `_dd.top_level`. */
  readonly parentService: string | undefined
  name: string
  service: string
  resource: string
  type: string
  /** `performance.now()` at start, in ms. */
  readonly start: number
  /** Milliseconds; −1 while the span is open. */
  duration: number
  /** 1 when the span records an error. */
  error: number
  /** String tags. */
  readonly meta: Record<string, string>
  /** Numeric tags. */
  readonly metrics: Record<string, number>
  /**
   * Links of the tracer's list of open spans (lifecycle/open-spans.ts), which the exit flush finishes:
   * fields of the span itself, so tracking it allocates nothing.
   */
  openPrev: CoreSpan | undefined
  openNext: CoreSpan | undefined
  /** Links and events, made with the first of them. */
  extras: SpanExtras | undefined

  constructor(
    owner: SpanOwner,
    trace: TraceState,
    spanId: bigint,
    parentId: bigint,
    parentService: string | undefined,
    name: string,
    service: string,
    resource: string,
    type: string,
    start: number
  ) {
    this.owner = owner
    this.trace = trace
    this.spanId = spanId
    this.parentId = parentId
    this.parentService = parentService
    this.name = name
    this.service = service
    this.resource = resource
    this.type = type
    this.start = start
    this.duration = -1
    this.error = 0
    this.meta = {}
    this.metrics = {}
    this.openPrev = undefined
    this.openNext = undefined
    this.extras = undefined
  }

  /** Low 64 bits of the trace id. */
  get traceId(): bigint {
    return this.trace.traceId
  }

  get finished(): boolean {
    return this.duration >= 0
  }

  /** Start time in epoch milliseconds. */
  get startTime(): number {
    return timeOrigin + this.start
  }

  /**
   * Sets a tag, typed the way Datadog tracers do it: strings go to meta, numbers to metrics, booleans to
   * metrics as 0/1, plain objects and arrays are flattened to dotted keys. A few keys steer the span:
   * `service.name`, `resource.name`, `span.type`, `error`, `manual.keep`, `manual.drop`,
   * `sampling.priority`. `http.status_code` is kept as a string, as the agent expects.
   */
  setTag(key: string, value: unknown): this {
    if (this.duration >= 0 || typeof key !== 'string') return this
    switch (key) {
      case 'service.name':
        if (typeof value === 'string' && value !== '') this.service = value
        return this
      case 'resource.name':
        if (typeof value === 'string') this.resource = value
        return this
      case 'span.type':
        if (typeof value === 'string') this.type = value
        return this
      case 'error':
        if (value === false || value === 0 || value === undefined || value === null) this.error = 0
        else if (value === true || typeof value === 'number' || typeof value === 'string') this.error = 1
        else this.setError(value)
        return this
      case 'manual.keep':
        if (value !== false) this.keep()
        return this
      case 'manual.drop':
        if (value !== false) this.drop()
        return this
      case 'sampling.priority': {
        const priority = Number(value)
        if (priority >= SamplingPriority.USER_KEEP) this.keep()
        else if (priority === SamplingPriority.AUTO_KEEP) this.#setPriority(SamplingPriority.AUTO_KEEP, DecisionMaker.MANUAL)
        else if (priority === SamplingPriority.AUTO_REJECT) this.#setPriority(SamplingPriority.AUTO_REJECT, undefined)
        else if (priority <= SamplingPriority.USER_REJECT) this.drop()
        return this
      }
      case 'http.status_code':
        if (value !== undefined && value !== null) this.meta[key] = text(value)
        return this
    }
    addTag(this.meta, this.metrics, key, value, 0)
    return this
  }

  setOperationName(name: string): this {
    if (this.duration < 0 && typeof name === 'string') this.name = name
    return this
  }

  setTags(tags: Readonly<Record<string, unknown>>): this {
    if (this.duration >= 0 || tags === null || typeof tags !== 'object') return this
    for (const key of Object.keys(tags)) this.setTag(key, tags[key])
    return this
  }

  getTag(key: string): string | number | undefined {
    if (Object.hasOwn(this.meta, key)) return this.meta[key]
    return Object.hasOwn(this.metrics, key) ? this.metrics[key] : undefined
  }

  getTags(): Record<string, string | number> {
    return { ...this.metrics, ...this.meta }
  }

  /** Marks the span as failed with `error.type`, `error.message` and `error.stack` from `err`. */
  setError(err: unknown): this {
    if (this.duration >= 0) return this
    this.error = 1
    try {
      if (err !== null && typeof err === 'object') {
        const e = err as { name?: unknown; message?: unknown; code?: unknown; stack?: unknown }
        const name = typeof e.name === 'string' && e.name !== '' ? e.name : err.constructor?.name
        if (typeof name === 'string' && name !== '' && name !== 'Object') this.meta['error.type'] = truncate(name)
        const message = typeof e.message === 'string' && e.message !== '' ? e.message : e.code
        if (message !== undefined && message !== null && message !== '') this.meta['error.message'] = truncate(text(message))
        if (typeof e.stack === 'string') this.meta['error.stack'] = truncate(e.stack)
      } else if (err !== undefined && err !== null) {
        this.meta['error.message'] = truncate(text(err))
      }
    } catch {
      // A hostile error object (throwing getters, a revoked proxy) still leaves the span marked as failed.
    }
    return this
  }

  recordException(err: unknown, time?: SpanTime): this {
    if (this.duration >= 0) return this
    this.setError(err)
    const meta = this.meta
    const attributes: Record<string, string> = {}
    const type = meta['error.type']
    if (type !== undefined) attributes['exception.type'] = type
    const message = meta['error.message']
    if (message !== undefined) attributes['exception.message'] = message
    const stack = meta['error.stack']
    if (stack !== undefined) attributes['exception.stacktrace'] = stack
    return this.addEvent('exception', attributes, time)
  }

  addLink(context: SpanContext, attributes?: SpanAttributes): this {
    if (this.duration >= 0) return this
    const extras = (this.extras ??= new SpanExtras())
    try {
      addLink(extras, context, attributes)
    } catch {
      // A hostile context or attributes object (throwing getters) loses the link, never the app.
      extras.droppedLinks++
    }
    return this
  }

  addEvent(name: string, attributes?: SpanAttributes, time?: SpanTime): this {
    if (this.duration >= 0) return this
    const extras = (this.extras ??= new SpanExtras())
    try {
      addEvent(extras, name, attributes, time)
    } catch {
      extras.droppedEvents++
    }
    return this
  }

  /** Keeps the whole trace (USER_KEEP), unless the decision was already sent to another service. */
  keep(): this {
    this.#setPriority(SamplingPriority.USER_KEEP, DecisionMaker.MANUAL)
    return this
  }

  /** Drops the whole trace (USER_REJECT), unless the decision was already sent to another service. */
  drop(): this {
    this.#setPriority(SamplingPriority.USER_REJECT, undefined)
    return this
  }

  #setPriority(priority: number, decisionMaker: string | undefined): void {
    const trace = this.trace
    if (trace.samplingLocked) return
    trace.samplingPriority = priority
    trace.decisionMaker = decisionMaker
  }

  /**
   * Ends the span. `endTime` is epoch ms (default: now). Only the first call counts.
   */
  finish(endTime?: number): void {
    if (this.duration >= 0) return
    const end = typeof endTime === 'number' && Number.isFinite(endTime) ? endTime - timeOrigin : performance.now()
    const duration = end - this.start
    this.duration = duration > 0 ? duration : 0
    this.owner.finishSpan(this)
  }

  /** The ids and trace-level state that propagate to other services. */
  context(): SpanContext {
    const trace = this.trace
    const traceTags: Record<string, string> = { ...trace.tags }
    if (trace.decisionMaker !== undefined) traceTags['_dd.p.dm'] = trace.decisionMaker
    return {
      traceId: trace.traceId,
      traceIdHigh: trace.traceIdHigh,
      spanId: this.spanId,
      samplingPriority: trace.samplingPriority,
      origin: trace.origin,
      traceTags,
      baggage: trace.baggage,
      tracestate: trace.tracestate,
      randomTraceId: trace.randomTraceId
    }
  }
}

/**
 * What the spans of one trace share inside this process: the trace id, the sampling decision, the
 * propagated trace tags, and the spans that finished but have not been handed to the exporter yet.
 * A chunk leaves when every span started in it has finished (or at the partial-flush threshold); a span
 * that finishes later goes out in a later chunk.
 */
export class TraceState {
  readonly traceId: bigint
  /** 16 hex digits of the high half, '' for a 64-bit trace. */
  readonly traceIdHigh: string
  samplingPriority: number | undefined
  /** `_dd.p.dm`, set with a kept decision. */
  decisionMaker: string | undefined
  /** Set once the decision was sent to another service: it may not change after that. */
  samplingLocked: boolean
  origin: string | undefined
  /**
   * Propagated `_dd.p.*` tags other than `_dd.p.tid` and `_dd.p.dm`. Read-only: a new trace shares one
   * frozen empty object (56 bytes less per request); `setTag` copies it on the first write.
   */
  tags: Readonly<Record<string, string>>
  /** W3C baggage received with the trace, propagated downstream as is. */
  baggage: Readonly<Record<string, string>> | undefined
  /** Other vendors' tracestate members received with the trace, propagated downstream. */
  tracestate: string | undefined
  /** The W3C random flag received with the trace, propagated downstream. */
  randomTraceId: boolean
  /** Spans started and not finished. */
  open: number
  /** Finished spans not exported yet; undefined when there are none. */
  finished: CoreSpan[] | undefined
  /** The first span started in this process: sampling rules match it, and the applied rates go on it. */
  localRoot: CoreSpan | undefined

  constructor(traceId: bigint, traceIdHigh: string, samplingPriority: number | undefined, origin: string | undefined, tags: Readonly<Record<string, string>>) {
    this.traceId = traceId
    this.traceIdHigh = traceIdHigh
    this.samplingPriority = samplingPriority
    this.decisionMaker = undefined
    this.samplingLocked = false
    this.origin = origin
    this.tags = tags
    this.baggage = undefined
    this.tracestate = undefined
    this.randomTraceId = false
    this.open = 0
    this.finished = undefined
    this.localRoot = undefined
  }

  /** Sets a propagated trace tag (`_dd.p.*`). */
  setTag(key: string, value: string): void {
    this.tags = { ...this.tags, [key]: value }
  }
}
