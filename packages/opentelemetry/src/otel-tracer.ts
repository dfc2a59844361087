import type { Span as CoreSpan, SpanContext as CoreContext, Tracer as CoreTracer } from '@datadog-apm/core'
import type { Context, Span, SpanOptions, Tracer } from '@opentelemetry/api'
import { setAttributes } from './attributes.js'
import { addOtelLink, BridgeSpan, NonRecordingSpan } from './bridge-span.js'
import { SPAN_KEY } from './context-manager.js'
import { parentContext } from './span-context.js'
import { KIND_NAMES, Kind, operationName } from './span-name.js'
import { epochMs } from './time.js'

/** What a provider's tracers share: the tracer of this package, and the API's context to run in. */
export interface BridgeHost {
  readonly tracer: CoreTracer
  /** The active context, as the registered context manager has it. */
  active(): Context
  /** Runs `fn(span)` with `context` active, through the registered context manager. */
  with<R>(context: Context, fn: (span: Span) => R, span: Span): R
}

const INVALID_SPAN_CONTEXT = Object.freeze({ traceId: '00000000000000000000000000000000', spanId: '0000000000000000', traceFlags: 0 })

/** The parent a context names: a span of this tracer, a context from another process, or none (a new trace). */
function parentOf(context: Context): CoreSpan | CoreContext | null {
  const span = context?.getValue?.(SPAN_KEY)
  if (span instanceof BridgeSpan) return span.core
  if (span instanceof NonRecordingSpan && span.remote !== undefined) return span.remote
  if (span === undefined || span === null || typeof (span as Span).spanContext !== 'function') return null
  try {
    return parentContext((span as Span).spanContext())
  } catch {
    return null
  }
}

/**
 * An OpenTelemetry tracer whose spans are this tracer's, mapped as dd-trace's bridge maps them: the
 * span's name is its operation name and resource (an unnamed span is named from its kind and
 * attributes), its service the tracer's, `span.kind` from its kind (non-internal kinds measured),
 * `_dd.integration` `otel` (`otel.library` for OpenTelemetry's instrumentations).
 */
export class BridgeTracer implements Tracer {
  readonly #host: BridgeHost
  readonly #integration: string

  constructor(host: BridgeHost, name: string) {
    this.#host = host
    this.#integration = name.startsWith('@opentelemetry/instrumentation-') ? 'otel.library' : 'otel'
  }

  startSpan(name: string, options: SpanOptions = {}, context: Context = this.#host.active()): Span {
    const tracer = this.#host.tracer
    const parent = options?.root === true ? null : parentOf(context)
    if (!tracer.enabled || !tracer.config.openTelemetry) {
      // Nothing recorded; the parent's context still goes on through propagation.
      const parentSpan = context?.getValue?.(SPAN_KEY) as Span | undefined
      const remote = parent === null || typeof (parent as CoreSpan).finish === 'function' ? undefined : (parent as CoreContext)
      return new NonRecordingSpan(parentSpan?.spanContext?.() ?? INVALID_SPAN_CONTEXT, remote)
    }
    const rawKind: number | undefined = options?.kind
    const kind = typeof rawKind === 'number' && rawKind >= Kind.INTERNAL && rawKind <= Kind.CONSUMER ? rawKind : Kind.INTERNAL
    const attributes = options?.attributes !== null && typeof options?.attributes === 'object' ? options.attributes : {}
    const spanName = typeof name === 'string' ? name : ''
    const span = tracer.startSpan(operationName(spanName, kind, attributes), {
      childOf: parent,
      service: tracer.config.service,
      resource: spanName === '' ? undefined : spanName,
      startTime: epochMs(options?.startTime),
      measured: kind === Kind.INTERNAL ? undefined : true,
      tags: { 'span.kind': KIND_NAMES[kind], '_dd.integration': this.#integration }
    })
    setAttributes(span, attributes)
    const links = options?.links
    if (Array.isArray(links)) for (const link of links) addOtelLink(span, link)
    return new BridgeSpan(span, true)
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, context: Context, fn: F): ReturnType<F>
  startActiveSpan<F extends (span: Span) => unknown>(name: string, a?: SpanOptions | F, b?: Context | F, c?: F): ReturnType<F> | undefined {
    let options: SpanOptions | undefined
    let context: Context | undefined
    let fn: F | undefined
    if (typeof a === 'function') fn = a
    else if (typeof b === 'function') {
      options = a
      fn = b
    } else {
      options = a
      context = b
      fn = c
    }
    if (typeof fn !== 'function') return undefined
    const parent = context ?? this.#host.active()
    const span = this.startSpan(name, options, parent)
    return this.#host.with(parent.setValue(SPAN_KEY, span), fn as (span: Span) => ReturnType<F>, span)
  }
}
