import type { Span as CoreSpan, SpanAttributes, SpanContext as CoreContext } from '@datadog-apm/core'
import type { Attributes, Exception, Link, Span, SpanContext, SpanStatus, TimeInput } from '@opentelemetry/api'
import { setAttribute, setAttributes } from './attributes.js'
import { linkContext, LocalSpanContext } from './span-context.js'
import { epochMs, isTimeInput } from './time.js'

// SpanStatusCode: 0 UNSET, 1 OK, 2 ERROR.
const STATUS_OK = 1
const STATUS_ERROR = 2

/** Event and link attributes as core keeps them: primitives and arrays of them; the rest is dropped there. */
function extraAttributes(attributes: unknown): SpanAttributes | undefined {
  return attributes !== null && typeof attributes === 'object' ? (attributes as SpanAttributes) : undefined
}

/** Adds an OpenTelemetry link (or, as dd-trace 5 accepts, a bare span context with attributes). */
export function addOtelLink(span: CoreSpan, link: unknown, attributes?: Attributes): void {
  if (link === null || typeof link !== 'object') return
  const isLink = 'context' in link
  const context = linkContext((isLink ? (link as Link).context : link) as SpanContext)
  if (context !== undefined) span.addLink(context, extraAttributes(isLink ? (link as Link).attributes : attributes))
}

/**
 * An OpenTelemetry span over a span of this tracer. `bridged`: the bridge started it, so it ends it and
 * `updateName` renames the operation; otherwise it stands for a span this tracer started itself (the
 * request span of Express or Fastify, a `tracer.trace` span) as `trace.getActiveSpan()` returns it:
 * writes reach that span, `updateName` sets its resource, and `end` is left to its owner, as in
 * dd-trace's bridge. Methods never throw, and do nothing once the span has ended.
 */
export class BridgeSpan implements Span {
  /** The span of this tracer. */
  readonly core: CoreSpan
  readonly #bridged: boolean
  #status = 0
  #spanContext: LocalSpanContext | undefined

  constructor(core: CoreSpan, bridged: boolean) {
    this.core = core
    this.#bridged = bridged
    this.#spanContext = undefined
  }

  spanContext(): SpanContext {
    return (this.#spanContext ??= new LocalSpanContext(this.core))
  }

  setAttribute(key: string, value: unknown): this {
    if (!this.core.finished) setAttribute(this.core, key, value)
    return this
  }

  setAttributes(attributes: Attributes): this {
    if (!this.core.finished) setAttributes(this.core, attributes)
    return this
  }

  addEvent(name: string, attributesOrStartTime?: Attributes | TimeInput, startTime?: TimeInput): this {
    if (this.core.finished) return this
    let time = startTime
    let attributes: Attributes | undefined
    if (isTimeInput(attributesOrStartTime)) time = attributesOrStartTime
    else attributes = attributesOrStartTime
    this.core.addEvent(name, extraAttributes(attributes), epochMs(time))
    return this
  }

  /** An OpenTelemetry link; the `(spanContext, attributes)` form of older APIs is taken too. */
  addLink(link: Link, attributes?: Attributes): this {
    if (!this.core.finished) addOtelLink(this.core, link, attributes)
    return this
  }

  addLinks(links: Link[]): this {
    if (!this.core.finished && Array.isArray(links)) for (const link of links) addOtelLink(this.core, link)
    return this
  }

  /** UNSET changes nothing, OK is final, ERROR marks the span as failed (with the message, if any) and may be replaced. */
  setStatus(status: SpanStatus): this {
    const code: number | undefined = status?.code
    if (this.core.finished || this.#status === STATUS_OK || (code !== STATUS_OK && code !== STATUS_ERROR)) return this
    this.#status = code
    if (code === STATUS_ERROR) {
      this.core.setTag('error', 1)
      if (typeof status.message === 'string' && status.message !== '') this.core.setTag('error.message', status.message)
    }
    return this
  }

  updateName(name: string): this {
    if (this.#bridged) this.core.setOperationName(name)
    else this.core.setTag('resource.name', name)
    return this
  }

  end(endTime?: TimeInput): void {
    if (this.#bridged) this.core.finish(epochMs(endTime))
  }

  isRecording(): boolean {
    return !this.core.finished
  }

  /**
   * As dd-trace's bridge: `error.type`, `error.message` and `error.stack` from the exception, without
   * marking the span as failed (a status of ERROR does that), and an event named after the exception
   * (`Error` when it has no name) with `exception.message`, `exception.type`, `exception.escaped` and
   * `exception.stacktrace` where the exception has them.
   */
  recordException(exception: Exception, time?: TimeInput): void {
    if (this.core.finished) return
    const e: { name?: unknown; message?: unknown; stack?: unknown; type?: unknown; escaped?: unknown } =
      typeof exception === 'string' ? { message: exception } : exception !== null && typeof exception === 'object' ? exception : {}
    try {
      const attributes: Record<string, string | boolean> = {}
      if (typeof e.name === 'string' && e.name !== '') this.core.setTag('error.type', e.name)
      if (typeof e.message === 'string' && e.message !== '') {
        this.core.setTag('error.message', e.message)
        attributes['exception.message'] = e.message
      }
      if (typeof e.stack === 'string' && e.stack !== '') this.core.setTag('error.stack', e.stack)
      if (typeof e.type === 'string' && e.type !== '') attributes['exception.type'] = e.type
      if (e.escaped === true) attributes['exception.escaped'] = true
      if (typeof e.stack === 'string' && e.stack !== '') attributes['exception.stacktrace'] = e.stack
      this.core.addEvent(typeof e.name === 'string' && e.name !== '' ? e.name : 'Error', attributes, epochMs(time))
    } catch {
      // A hostile exception object (throwing getters) loses its event, never the app.
    }
  }
}

/**
 * A span that records nothing: a parent from another process (what `propagation.extract` puts in a
 * context, holding the tracer's own reading of the headers so nothing of them is lost), or what the
 * bridge hands out while tracing is off.
 */
export class NonRecordingSpan implements Span {
  readonly #spanContext: SpanContext
  /** The context the headers gave, when this span comes from extraction. */
  readonly remote: CoreContext | undefined

  constructor(spanContext: SpanContext, remote: CoreContext | undefined) {
    this.#spanContext = spanContext
    this.remote = remote
  }

  spanContext(): SpanContext {
    return this.#spanContext
  }

  setAttribute(): this {
    return this
  }

  setAttributes(): this {
    return this
  }

  addEvent(): this {
    return this
  }

  addLink(): this {
    return this
  }

  addLinks(): this {
    return this
  }

  setStatus(): this {
    return this
  }

  updateName(): this {
    return this
  }

  end(): void {}

  isRecording(): boolean {
    return false
  }

  recordException(): void {}
}
