import type { Diagnostics } from '../base/diagnostics.js'
import type { SpanContext } from '../model/span-context.js'
import type { Span } from '../model/span-interface.js'
import { CoreSpan, type TraceState } from '../model/span.js'
import { setOnHeaders, setOnObject, type HeaderSetter } from '../propagation/carrier.js'
import { outgoingFromContext, outgoingFromSpan } from '../propagation/outgoing-context.js'
import { Propagator } from '../propagation/propagator.js'
import type { PropagationConfig } from '../propagation/styles.js'

/** Makes a trace's sampling decision if none was made yet: the tracer's, which owns the sampler. */
export type DecideSampling = (trace: TraceState, span: CoreSpan) => void

/**
 * A tracer's trace headers, in and out: the caller's context from a request's headers, and a span's
 * (or a forwarded context's) into an outgoing request's. Never throws into the app: a failure is
 * reported once on the tracer's diagnostics and the request goes on without the headers.
 */
export class TracePropagation {
  readonly #propagator: Propagator
  readonly #tagsHeaderMaxLength: number
  readonly #diagnostics: Diagnostics
  readonly #decide: DecideSampling

  constructor(config: PropagationConfig, diagnostics: Diagnostics, decide: DecideSampling) {
    this.#propagator = new Propagator(config)
    this.#tagsHeaderMaxLength = config.tagsHeaderMaxLength
    this.#diagnostics = diagnostics
    this.#decide = decide
  }

  extract(carrier: unknown): SpanContext | null {
    try {
      return this.#propagator.extract(carrier)
    } catch (err) {
      this.#diagnostics.warn('extract-failed', 'reading trace headers failed; a new trace starts', String(err))
      return null
    }
  }

  inject(spanOrContext: Span | SpanContext, carrier: Record<string, unknown> | Headers): void {
    if (carrier === null || typeof carrier !== 'object' || spanOrContext === null || typeof spanOrContext !== 'object') return
    try {
      if (typeof Headers === 'function' && carrier instanceof Headers) this.#inject(spanOrContext, carrier, setOnHeaders)
      else this.#inject(spanOrContext, carrier as Record<string, unknown>, setOnObject)
    } catch (err) {
      this.#diagnostics.warn('inject-failed', 'writing trace headers failed; the request goes out without them', String(err))
    }
  }

  #inject<C>(spanOrContext: Span | SpanContext, carrier: C, set: HeaderSetter<C>): void {
    if (spanOrContext instanceof CoreSpan) {
      this.injectSpan(spanOrContext, carrier, set)
      return
    }
    const outgoing = outgoingFromContext(spanOrContext as SpanContext)
    if (outgoing !== undefined && !this.#propagator.inject(outgoing, carrier, set)) this.#tagsTooLong()
  }

  /**
   * Writes `span`'s context with `set`. The sampling decision is made now if it was not, and locked: the
   * next service acts on it, so it may not change.
   */
  injectSpan<C>(span: CoreSpan, carrier: C, set: HeaderSetter<C>): void {
    const trace = span.trace
    if (trace.traceId === 0n) return
    if (trace.samplingPriority === undefined) this.#decide(trace, span)
    trace.samplingLocked = true
    if (!this.#propagator.inject(outgoingFromSpan(span), carrier, set)) this.#tagsTooLong()
  }

  #tagsTooLong(): void {
    this.#diagnostics.warn(
      'propagation:tags-too-long',
      `x-datadog-tags would be longer than ${this.#tagsHeaderMaxLength} characters (DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH); it was left out`
    )
  }
}
