import { channel, subscribe, unsubscribe, type Channel } from 'node:diagnostics_channel'
import { performance } from 'node:perf_hooks'
import { storage, type ContextStore } from '../model/context.js'
import type { CoreSpan } from '../model/span.js'

// A TracingChannel `<name>` publishes `tracing:<name>:start`, `end`, `asyncStart`, `asyncEnd` and
// `error`, all with the one context object the driver made for the operation. The span rides on that
// object under a symbol: the object exists only for observers, lives exactly as long as the operation,
// and a property costs less than a WeakMap lookup on every event.
const SPAN = Symbol('datadog-apm.span')
const PARENT = Symbol('datadog-apm.parent')

/** A driver's context object as these handlers see it. */
export interface OperationContext {
  [SPAN]?: CoreSpan
  [PARENT]?: ContextStore
  error?: unknown
  [field: string]: unknown
}

/** Makes the span of one operation from the driver's context, or returns undefined (none to make). */
/** A field of a channel's context when it is a number (a port), else undefined. */
export const numberField = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined)
/** A field of a channel's context when it is a string, else undefined. */
export const stringField = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

export type SpanFactory = (context: OperationContext) => CoreSpan | undefined

function onError(context: OperationContext): void {
  context[SPAN]?.setError(context.error)
}

/** The span ends when the result arrives, before the caller's callback or promise reaction runs. */
function onAsyncStart(context: OperationContext): void {
  context[SPAN]?.finish()
}

/** Acquire spans also say how long the caller waited, in milliseconds (0 when a connection was idle). */
function finishWithWait(span: CoreSpan, metric: string): void {
  if (span.finished) return
  span.metrics[metric] = performance.now() - span.start
  span.finish()
}

/** A synchronous throw ends the operation with no async events. */
function onEnd(context: OperationContext): void {
  if (context.error !== undefined) context[SPAN]?.finish()
}

function restoreCaller(context: OperationContext): ContextStore | undefined {
  return PARENT in context ? context[PARENT] : storage.getStore()
}

/**
 * Spans from one TracingChannel: a span per operation, made by `factory` at `start`, failed by `error`,
 * finished at `asyncStart` (or at `end` after a synchronous throw). With `restoreContext`, the callback
 * the driver calls at `asyncStart` runs in the caller's context: drivers that queue callbacks (a pool
 * waiting for a free connection, a socket's data event) would otherwise run them in whichever context
 * happened to release the connection or open the socket.
 */
export class ChannelSpans {
  readonly #name: string
  readonly #start: (context: OperationContext) => void
  readonly #asyncStart: Channel | undefined
  #on = false

  readonly #onAsyncStart: (context: OperationContext) => void
  readonly #onEnd: (context: OperationContext) => void

  /** `waitMetric`: the metric that receives the span's duration in milliseconds (acquire spans). */
  constructor(name: string, factory: SpanFactory, restoreContext: boolean, waitMetric?: string) {
    this.#name = name
    if (waitMetric === undefined) {
      this.#onAsyncStart = onAsyncStart
      this.#onEnd = onEnd
    } else {
      this.#onAsyncStart = (context) => {
        const span = context[SPAN]
        if (span !== undefined) finishWithWait(span, waitMetric)
      }
      this.#onEnd = (context) => {
        const span = context[SPAN]
        if (span !== undefined && context.error !== undefined) finishWithWait(span, waitMetric)
      }
    }
    this.#start = restoreContext
      ? (context) => {
          context[PARENT] = storage.getStore()
          const span = factory(context)
          if (span !== undefined) context[SPAN] = span
        }
      : (context) => {
          const span = factory(context)
          if (span !== undefined) context[SPAN] = span
        }
    this.#asyncStart = restoreContext ? channel(`tracing:${name}:asyncStart`) : undefined
  }

  subscribe(): void {
    if (this.#on) return
    this.#on = true
    const name = this.#name
    subscribe(`tracing:${name}:start`, this.#start as (message: unknown) => void)
    subscribe(`tracing:${name}:error`, onError as (message: unknown) => void)
    subscribe(`tracing:${name}:end`, this.#onEnd as (message: unknown) => void)
    subscribe(`tracing:${name}:asyncStart`, this.#onAsyncStart as (message: unknown) => void)
    this.#asyncStart?.bindStore(storage, restoreCaller as (message: unknown) => ContextStore)
  }

  unsubscribe(): void {
    if (!this.#on) return
    this.#on = false
    const name = this.#name
    unsubscribe(`tracing:${name}:start`, this.#start as (message: unknown) => void)
    unsubscribe(`tracing:${name}:error`, onError as (message: unknown) => void)
    unsubscribe(`tracing:${name}:end`, this.#onEnd as (message: unknown) => void)
    unsubscribe(`tracing:${name}:asyncStart`, this.#onAsyncStart as (message: unknown) => void)
    this.#asyncStart?.unbindStore(storage)
  }
}
