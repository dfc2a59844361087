import type { TracerConfig } from '../config/config.js'
import { SamplingPriority, DecisionMaker } from './sampling-priority.js'
import type { SpanContext } from './span-context.js'
import type { TraceState } from './trace.js'
import { performance } from 'node:perf_hooks'

/** The agent truncates meta values past this length; holding more would only cost memory. */
export const MAX_META_VALUE_LENGTH = 25_000
/** Nested objects given to `setTag` are flattened this deep; deeper values are dropped. */
const MAX_TAG_DEPTH = 4

/** What a span needs from the tracer that made it. */
export interface SpanOwner {
  readonly config: TracerConfig
  finishSpan(span: CoreSpan): void
}

const timeOrigin = performance.timeOrigin

/** Any value as tag text; `String` is what dd-trace uses too, `[object Object]` included. */
function text(value: unknown): string {
  return typeof value === 'string' ? value : String(value)
}

function truncate(value: string): string {
  return value.length > MAX_META_VALUE_LENGTH ? value.slice(0, MAX_META_VALUE_LENGTH) : value
}

/**
 * One timed operation. Every field is set in the constructor so V8 keeps a single shape for all spans;
 * times are `performance.now()` milliseconds, turned into epoch nanoseconds only when encoded.
 * Operations on a finished span do nothing.
 */
export class CoreSpan {
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

  setTags(tags: Readonly<Record<string, unknown>>): this {
    if (this.duration >= 0 || tags === null || typeof tags !== 'object') return this
    for (const key of Object.keys(tags)) this.setTag(key, tags[key])
    return this
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
      traceTags
    }
  }
}

function addTag(meta: Record<string, string>, metrics: Record<string, number>, key: string, value: unknown, depth: number): void {
  switch (typeof value) {
    case 'string':
      meta[key] = truncate(value)
      return
    case 'number':
      if (Number.isFinite(value)) metrics[key] = value
      return
    case 'boolean':
      metrics[key] = value ? 1 : 0
      return
    case 'bigint':
      meta[key] = value.toString()
      return
    case 'object':
      if (value === null || depth >= MAX_TAG_DEPTH) return
      if (value instanceof Date) {
        meta[key] = Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString()
        return
      }
      try {
        for (const sub of Object.keys(value)) {
          addTag(meta, metrics, `${key}.${sub}`, (value as Record<string, unknown>)[sub], depth + 1)
        }
      } catch {
        // Throwing getters or revoked proxies in a tag value are skipped, never thrown into the app.
      }
      return
    default:
      // undefined, functions and symbols carry no tag.
      return
  }
}
