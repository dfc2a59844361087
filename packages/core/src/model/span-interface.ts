import type { SpanContext } from './span-context.js'

/** A value of an event or link attribute, as OpenTelemetry types them. */
export type SpanAttributeValue = string | number | boolean | readonly string[] | readonly number[] | readonly boolean[]

/** Attributes of a span event or link; undefined values are left out. */
export type SpanAttributes = Readonly<Record<string, SpanAttributeValue | undefined>>

/** A point in time: epoch milliseconds, or a Date. */
export type SpanTime = number | Date

/**
 * A span as the tracer hands it out: a timed operation with tags, an error, links and events, that
 * ends with `finish`. Every method may be called on a finished span and then does nothing; none throws.
 * Spans come from a tracer (`startSpan`, `trace`); the interface is there to be called, not implemented.
 */
export interface Span {
  /** Operation name, e.g. `express.request`. */
  readonly name: string
  readonly service: string
  /** What the operation acted on, e.g. `GET /users/:id`; the operation name unless set. */
  readonly resource: string
  /** `web`, `http`, `sql`, `cache`, `custom`, ... or ''. */
  readonly type: string
  /** Epoch milliseconds. */
  readonly startTime: number
  readonly finished: boolean

  /**
   * Sets a tag, typed the way Datadog tracers do it: strings are string tags, numbers numeric ones,
   * booleans numbers 0/1, plain objects and arrays are flattened to dotted keys; values past 25,000
   * characters are cut. A few keys steer the span instead: `service.name`, `resource.name`,
   * `span.type`, `error`, `manual.keep`, `manual.drop`, `sampling.priority`. `http.status_code` stays
   * a string.
   */
  setTag(key: string, value: unknown): this
  setTags(tags: Readonly<Record<string, unknown>>): this
  /** A tag's value: a string tag, else a numeric one; undefined when the span has no such tag. */
  getTag(key: string): string | number | undefined
  /** A copy of every tag, string and numeric. */
  getTags(): Record<string, string | number>

  /** Renames the operation (`name`); the resource stays what it was. */
  setOperationName(name: string): this

  /** Marks the span as failed, with `error.type`, `error.message` and `error.stack` from `err`. */
  setError(err: unknown): this
  /**
   * Records an exception: marks the span as failed as `setError` does, and adds an `exception` event
   * with `exception.type`, `exception.message` and `exception.stacktrace`.
   */
  recordException(err: unknown, time?: SpanTime): this
  /**
   * Links this span to a span of another trace (a batch item, the trace a request restarted from).
   * At most 128 per span; sent as the `_dd.span_links` tag, as dd-trace sends them.
   */
  addLink(context: SpanContext, attributes?: SpanAttributes): this
  /**
   * Adds an event: something that happened at a point in the span, with attributes. Events are kept on
   * the span, at most 128; sent as the `events` tag (JSON) or, with `nativeSpanEvents`, in v0.4's
   * `span_events` field.
   */
  addEvent(name: string, attributes?: SpanAttributes, time?: SpanTime): this

  /** Keeps the whole trace (USER_KEEP), unless the decision was already sent to another service. */
  keep(): this
  /** Drops the whole trace (USER_REJECT), unless the decision was already sent to another service. */
  drop(): this

  /** The ids and trace-level state that propagate to other services. */
  context(): SpanContext
  /** Ends the span; `endTime` in epoch milliseconds, default now. Only the first call counts. */
  finish(endTime?: number): void
}
