import { attachFrame, ContextFrame, contextStore, runInFrame, type Span as CoreSpan } from '@datadog-apm/core'
import type { Context, ContextManagementToken, ContextManager } from '@opentelemetry/api'
import { BAGGAGE_KEY, BridgeBaggage } from './baggage.js'
import { BridgeSpan, NonRecordingSpan } from './bridge-span.js'
import { parentContext } from './span-context.js'

/** The context key OpenTelemetry keeps the active span under (a global symbol, shared by every copy of the API). */
export const SPAN_KEY = Symbol.for('OpenTelemetry Context Key SPAN')

/** The span of this tracer an OpenTelemetry context holds, if it holds one. */
export function coreSpanOf(context: Context): CoreSpan | undefined {
  const span = context.getValue(SPAN_KEY)
  return span instanceof BridgeSpan ? span.core : undefined
}

/**
 * OpenTelemetry's context on this tracer's one AsyncLocalStorage. The store is what it always is on the
 * request path, the active span itself, until OpenTelemetry code enters a context: then it is a frame
 * holding that context and the span of this tracer it stands for (or a parent from another process),
 * so that spans of either API started inside are children of it, and the context's other values
 * (baggage, other libraries' keys) stay active under spans this tracer enters itself.
 */
export class BridgeContextManager implements ContextManager {
  readonly #root: Context
  /** The context `active()` returns under a span this tracer entered without OpenTelemetry, made once per span. */
  readonly #spanContexts = new WeakMap<CoreSpan, Context>()
  /** The OpenTelemetry span standing for such a span, made once per span. */
  readonly #proxies = new WeakMap<CoreSpan, BridgeSpan>()

  constructor(root: Context) {
    this.#root = root
  }

  /** The OpenTelemetry span for a span this tracer started itself. */
  proxyOf(span: CoreSpan): BridgeSpan {
    let proxy = this.#proxies.get(span)
    if (proxy === undefined) {
      proxy = new BridgeSpan(span, false)
      this.#proxies.set(span, proxy)
    }
    return proxy
  }

  active(): Context {
    const store = contextStore()
    if (store === undefined) return this.#root
    if (store instanceof ContextFrame) {
      const carried = store.carried as Context
      const span = store.span
      if (span === undefined || coreSpanOf(carried) === span) return carried
      // A span this tracer entered inside an OpenTelemetry context: that context, with the span as its span.
      return (store.derived ??= carried.setValue(SPAN_KEY, this.proxyOf(span))) as Context
    }
    let context = this.#spanContexts.get(store)
    if (context === undefined) {
      context = this.#root.setValue(SPAN_KEY, this.proxyOf(store))
      // The trace's baggage, received with its headers, is the OpenTelemetry baggage of its spans.
      const baggage = BridgeBaggage.of(store.context().baggage)
      if (baggage !== undefined) context = context.setValue(BAGGAGE_KEY, baggage)
      this.#spanContexts.set(store, context)
    }
    return context
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const frame = frameOf(context)
    if (thisArg === undefined) return runInFrame(frame, fn, ...args)
    return runInFrame(frame, (...inner: A): ReturnType<F> => fn.apply(thisArg, inner), ...args)
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const manager = this
    const fn = target as unknown as (...args: unknown[]) => unknown
    return function (this: unknown, ...args: unknown[]): unknown {
      return manager.with(context, fn, this, ...args)
    } as unknown as T
  }

  attach(context: Context): ContextManagementToken {
    return { dispose: attachFrame(frameOf(context)) }
  }

  enable(): this {
    return this
  }

  disable(): this {
    return this
  }
}

/** The frame for an OpenTelemetry context: its span of this tracer, or the remote parent its span stands for. */
function frameOf(context: Context): ContextFrame {
  if (context === null || typeof context !== 'object' || typeof context.getValue !== 'function') return new ContextFrame(undefined, undefined, context)
  const span = context.getValue(SPAN_KEY)
  if (span instanceof BridgeSpan) return new ContextFrame(span.core, undefined, context)
  if (span instanceof NonRecordingSpan) return new ContextFrame(undefined, span.remote ?? parentContext(span.spanContext()) ?? undefined, context)
  if (span !== undefined && span !== null && typeof (span as { spanContext?: unknown }).spanContext === 'function') {
    let parent
    try {
      parent = parentContext((span as { spanContext(): Parameters<typeof parentContext>[0] }).spanContext())
    } catch {
      parent = null
    }
    return new ContextFrame(undefined, parent ?? undefined, context)
  }
  return new ContextFrame(undefined, undefined, context)
}
