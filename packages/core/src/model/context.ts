import { AsyncLocalStorage } from 'node:async_hooks'
import type { SpanContext } from './span-context.js'
import type { Span } from './span-interface.js'
import type { CoreSpan } from './span.js'

/** The store the exporter runs under, so nothing it does is traced or gets headers injected. */
export const SUPPRESSED = Object.freeze({ suppressed: true as const })

/**
 * The store while a context that holds more than a span is active: an OpenTelemetry `Context` (baggage,
 * other libraries' keys, the OTel span) entered through the OpenTelemetry bridge. It carries that context
 * as an opaque object next to what this tracer needs from it: the active span, or a parent from another
 * process to continue. Core never looks into `carried`.
 */
export class ContextFrame {
  /** The span `activeSpan()` returns and new spans are children of. */
  readonly span: Span | undefined
  /** With no span: the context new spans continue (a caller's, extracted from headers). */
  readonly remoteParent: SpanContext | undefined
  /** The context as its owner made it. */
  readonly carried: object
  /**
   * What the owner of `carried` derived from it for this frame (the bridge: `carried` with `span` set as
   * its span, when a span of this tracer was entered inside it), kept so it is made once.
   */
  derived: object | undefined

  constructor(span: Span | undefined, remoteParent: SpanContext | undefined, carried: object) {
    this.span = span
    this.remoteParent = remoteParent
    this.carried = carried
    this.derived = undefined
    framed = true
  }
}

/**
 * What the store holds: on the request path the active span itself, so entering a span allocates
 * nothing; a frame only once the OpenTelemetry bridge enters a context; SUPPRESSED in the exporter.
 */
export type ContextStore = CoreSpan | ContextFrame | typeof SUPPRESSED

// One AsyncLocalStorage for the whole process, registered under a global symbol: every tracer, the
// logger and the framework packages read the same context even when a bundle carries two copies of
// core. One instance also matters for speed: on Node 24 the cost of `run` grows with the number of
// AsyncLocalStorage instances (AsyncContextFrame copies every store on each `run`).
const KEY = Symbol.for('@datadog-apm/core.context')
const holder = globalThis as { [KEY]?: AsyncLocalStorage<ContextStore> }
export const storage: AsyncLocalStorage<ContextStore> = (holder[KEY] ??= new AsyncLocalStorage<ContextStore>())

/**
 * False until the first frame is made: until then no store can be a frame, and entering a span is one
 * `storage.run` with nothing read first (a process that never uses the bridge pays one boolean test).
 */
let framed = false

/** The span active in the current async context, if any. */
export function activeSpan(): CoreSpan | undefined {
  const store = storage.getStore()
  if (store === undefined || store === SUPPRESSED) return undefined
  // Read on every log line: without frames, no type check.
  if (!framed || !(store instanceof ContextFrame)) return store as CoreSpan
  return store.span as CoreSpan | undefined
}

/** What a new span's parent is by default: the active span, else a frame's remote parent. */
export function activeParent(): CoreSpan | SpanContext | undefined {
  const store = storage.getStore()
  if (store === undefined || store === SUPPRESSED) return undefined
  if (!framed || !(store instanceof ContextFrame)) return store as CoreSpan
  return (store.span as CoreSpan | undefined) ?? store.remoteParent
}

/**
 * Runs `fn(arg)` with `span` active. Inside a frame, the span goes in a new frame that keeps the
 * frame's context, so what else that context holds (an OTel context's baggage, say) stays active.
 */
export function enterSpan<A, R>(span: CoreSpan, fn: (arg: A) => R, arg: A): R {
  if (framed) {
    const store = storage.getStore()
    if (store instanceof ContextFrame) return storage.run(new ContextFrame(span, undefined, store.carried), fn, arg)
  }
  return storage.run(span, fn, arg)
}

/** The store as the bridge reads it: the active span, a frame, or undefined (none, or suppressed). */
export function contextStore(): Span | ContextFrame | undefined {
  const store = storage.getStore()
  return store === SUPPRESSED ? undefined : (store as CoreSpan | ContextFrame | undefined)
}

/** Runs `fn` with `frame` as the store. */
export function runInFrame<A extends unknown[], R>(frame: ContextFrame, fn: (...args: A) => R, ...args: A): R {
  return storage.run(frame, fn, ...args)
}

/**
 * Makes `frame` the store of the current async context from now on (OpenTelemetry's `attach`, for code
 * that cannot pass a callback); the returned function puts back the store it replaced.
 */
export function attachFrame(frame: ContextFrame): () => void {
  const previous = storage.getStore()
  storage.enterWith(frame)
  return () => storage.enterWith(previous as ContextStore)
}

/** True while the exporter (or anything else that must not be traced) is running. */
export function isSuppressed(): boolean {
  return storage.getStore() === SUPPRESSED
}

/** Runs `fn` with tracing suppressed: no spans are parented to the caller and nothing is injected. */
export function runSuppressed<R>(fn: () => R): R {
  return storage.run(SUPPRESSED, fn)
}
