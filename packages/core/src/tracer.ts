import { randomUUID } from 'node:crypto'
import { activeSpan, storage } from './context.js'
import { resolveConfig, type TracerConfig, type TracerOptions } from './config.js'
import { Diagnostics } from './diagnostics.js'
import { registerExitFlush, unregisterExitFlush, type Flushable } from './exit-hooks.js'
import { AgentExporter, type ExporterHealth } from './exporter/agent-exporter.js'
import type { Exporter } from './exporter/exporter.js'
import { randomId, traceIdHighHex } from './ids.js'
import { DecisionMaker, SamplingPriority } from './sampling-priority.js'
import type { SpanContext } from './span-context.js'
import { Span, type SpanOwner } from './span.js'
import { TraceState } from './trace.js'

/** Options of `startSpan` and `trace`. */
export interface SpanOptions {
  /** Default: the operation name. */
  resource?: string
  /** Default: the parent's service, else the tracer's. */
  service?: string
  /** `web`, `http`, `sql`, `cache`, `custom`, ... Default ''. */
  type?: string
  tags?: Readonly<Record<string, unknown>>
  /** The parent: a span, a context extracted from another process, or null for a new trace. Default: the active span. */
  childOf?: Span | SpanContext | null
  /** Epoch milliseconds. Default: now. */
  startTime?: number
}

export type SpanCallback<R> = (span: Span) => R

let runtimeId: string | undefined

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function'
}

/** A tracer: makes spans, keeps them in context, sends them to the agent. */
export interface Tracer {
  readonly config: TracerConfig
  /** False when disabled (`DD_TRACE_ENABLED=false`) or shut down. */
  readonly enabled: boolean
  startSpan(name: string, options?: SpanOptions): Span
  trace<R>(name: string, fn: SpanCallback<R>): R
  trace<R>(name: string, options: SpanOptions, fn: SpanCallback<R>): R
  activeSpan(): Span | undefined
  withSpan<R>(span: Span, fn: () => R): R
  flush(): Promise<void>
  shutdown(options?: { timeoutMs?: number }): Promise<void>
  /** Counters of the agent exporter; undefined with a custom exporter. */
  health(): ExporterHealth | undefined
  /** The tracer's own diagnostic logger: warnings print once, then at most once a minute. */
  readonly diagnostics: Diagnostics
}

/**
 * Makes spans, keeps them in context and hands complete trace chunks to its exporter. Nothing here does
 * I/O: a finished chunk is queued, and the exporter sends it later.
 */
export class CoreTracer implements Tracer, SpanOwner, Flushable {
  readonly config: TracerConfig
  readonly diagnostics: Diagnostics
  readonly #diagnostics: Diagnostics
  readonly #exporter: Exporter
  readonly #noopSpan: Span
  #exitHooks = false
  #rates: Readonly<Record<string, number>> = {}
  #shutdown = false

  constructor(options: TracerOptions = {}) {
    const early: string[] = []
    this.config = resolveConfig(options, process.env, (message) => early.push(message))
    this.#diagnostics = new Diagnostics(this.config.debug, options.diagnostics)
    this.diagnostics = this.#diagnostics
    for (const message of early) this.#diagnostics.warn(`config:${message}`, message)
    const config = this.config
    runtimeId ??= randomUUID()
    const globalMeta: Record<string, string> = { language: 'javascript', 'runtime-id': runtimeId, ...config.tags }
    if (config.env !== undefined) globalMeta.env = config.env
    if (config.version !== undefined) globalMeta.version = config.version
    this.#exporter =
      options.exporter ??
      new AgentExporter({
        url: config.url,
        flushIntervalMs: config.flushIntervalMs,
        maxQueueSpans: config.maxQueueSpans,
        maxPayloadBytes: config.maxPayloadBytes,
        requestTimeoutMs: config.requestTimeoutMs,
        decorations: { service: config.service, globalMeta, processId: process.pid },
        diagnostics: this.#diagnostics,
        onRates: (rates) => {
          this.#rates = rates
        }
      })
    const noopTrace = new TraceState(0n, '', undefined, undefined, {})
    this.#noopSpan = new Span(this, noopTrace, 0n, 0n, undefined, '', config.service, '', '', 0)
    // A finished span ignores every operation: the disabled tracer's one shared span stays empty.
    this.#noopSpan.duration = 0
  }

  get enabled(): boolean {
    return this.config.enabled && !this.#shutdown
  }

  /** The agent's latest `rate_by_service`, for the sampler. */
  get agentRates(): Readonly<Record<string, number>> {
    return this.#rates
  }

  /** Starts a span; its parent is `options.childOf`, else the active span, else none (a new trace). */
  startSpan(name: string, options?: SpanOptions): Span {
    if (!this.config.enabled || this.#shutdown) return this.#noopSpan
    const parent = options?.childOf === undefined ? activeSpan() : options.childOf
    let trace: TraceState
    let parentId: bigint
    let parentService: string | undefined
    if (parent === null || parent === undefined) {
      trace = this.#newTrace()
      parentId = 0n
      parentService = undefined
    } else if (parent instanceof Span) {
      trace = parent.trace
      parentId = parent.spanId
      parentService = parent.service
    } else if (typeof parent.traceId === 'bigint' && parent.traceId !== 0n && typeof parent.spanId === 'bigint') {
      trace = this.#continueTrace(parent)
      parentId = parent.spanId
      parentService = undefined
    } else {
      trace = this.#newTrace()
      parentId = 0n
      parentService = undefined
    }
    if (trace.traceId === 0n) return this.#noopSpan
    const service = options?.service ?? parentService ?? this.config.service
    const start =
      options?.startTime !== undefined && Number.isFinite(options.startTime) ? options.startTime - performance.timeOrigin : performance.now()
    const span = new Span(this, trace, randomId(), parentId, parentService, name, service, options?.resource ?? name, options?.type ?? '', start)
    trace.open++
    if (options?.tags !== undefined) span.setTags(options.tags)
    return span
  }

  #newTrace(): TraceState {
    return new TraceState(randomId(), this.config.traceId128BitGeneration ? traceIdHighHex() : '', undefined, undefined, {})
  }

  #continueTrace(context: SpanContext): TraceState {
    const tags: Record<string, string> = {}
    let decisionMaker: string | undefined
    const incoming = context.traceTags
    if (incoming !== undefined && incoming !== null) {
      for (const key of Object.keys(incoming)) {
        if (key === '_dd.p.dm') decisionMaker = incoming[key]
        else if (key !== '_dd.p.tid' && key.startsWith('_dd.p.')) tags[key] = String(incoming[key])
      }
    }
    const trace = new TraceState(context.traceId, typeof context.traceIdHigh === 'string' ? context.traceIdHigh : '', context.samplingPriority, context.origin, tags)
    trace.decisionMaker = decisionMaker
    return trace
  }

  /**
   * Runs `fn` with a new span active and finishes the span when `fn` returns, resolves, throws or rejects;
   * an error is recorded on the span and passed on unchanged.
   */
  trace<R>(name: string, fn: SpanCallback<R>): R
  trace<R>(name: string, options: SpanOptions, fn: SpanCallback<R>): R
  trace<R>(name: string, optionsOrFn: SpanOptions | SpanCallback<R>, maybeFn?: SpanCallback<R>): R {
    const fn = typeof optionsOrFn === 'function' ? optionsOrFn : maybeFn
    const options = typeof optionsOrFn === 'function' ? undefined : optionsOrFn
    if (typeof fn !== 'function') throw new TypeError('datadog-apm: tracer.trace(name, [options], fn) needs a function')
    const span = this.startSpan(name, options)
    if (span === this.#noopSpan) return fn(span)
    let result: R
    try {
      result = storage.run(span, fn, span)
    } catch (err) {
      span.setError(err)
      span.finish()
      throw err
    }
    if (isThenable(result)) {
      return result.then(
        (value) => {
          span.finish()
          return value
        },
        (err: unknown) => {
          span.setError(err)
          span.finish()
          throw err
        }
      ) as R
    }
    span.finish()
    return result
  }

  /** The span active in the current async context. */
  activeSpan(): Span | undefined {
    return activeSpan()
  }

  /** Runs `fn` with `span` active. */
  withSpan<R>(span: Span, fn: () => R): R {
    return storage.run(span, fn)
  }

  /** Called by `Span#finish`. */
  finishSpan(span: Span): void {
    const trace = span.trace
    trace.finished.push(span)
    trace.open--
    if (trace.open <= 0 || trace.finished.length >= this.config.partialFlushMinSpans) this.#exportChunk(trace)
  }

  #exportChunk(trace: TraceState): void {
    const chunk = trace.finished
    trace.finished = []
    if (trace.samplingPriority === undefined) this.decideSampling(trace, chunk[chunk.length - 1]!)
    if (!this.#exitHooks && this.config.flushOnExit) {
      this.#exitHooks = true
      registerExitFlush(this)
    }
    try {
      this.#exporter.export(chunk)
    } catch (err) {
      this.#diagnostics.warn('exporter-threw', 'the exporter threw while taking a trace; the trace was dropped', String(err))
    }
  }

  /**
   * Makes the trace's sampling decision if none was made yet: called when the first chunk leaves and
   * before the context is first injected into an outgoing request (which then locks it). `span` is the
   * span at hand (the chunk's local root, or the span being injected).
   */
  decideSampling(trace: TraceState, span: Span): void {
    if (trace.samplingPriority !== undefined) return
    void span
    // Until sampling rules and agent rates land every trace is kept by default (mechanism 0).
    trace.samplingPriority = SamplingPriority.AUTO_KEEP
    trace.decisionMaker = DecisionMaker.DEFAULT
  }

  /** Counters of the agent exporter (undefined with a custom exporter). */
  health(): ExporterHealth | undefined {
    return this.#exporter instanceof AgentExporter ? this.#exporter.health() : undefined
  }

  get pending(): boolean {
    return this.#exporter instanceof AgentExporter ? this.#exporter.pending : true
  }

  /** Sends every trace finished before the call. Never rejects. */
  async flush(): Promise<void> {
    try {
      await this.#exporter.flush()
    } catch (err) {
      this.#diagnostics.warn('flush-failed', 'flushing traces failed', String(err))
    }
  }

  async flushWithin(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs)
    })
    await Promise.race([this.flush(), deadline])
    clearTimeout(timer)
  }

  /** Sends what is left (waiting at most `timeoutMs`, default 2000), then stops tracing. Safe to call twice. */
  async shutdown(options?: { timeoutMs?: number }): Promise<void> {
    if (this.#shutdown) return
    this.#shutdown = true
    unregisterExitFlush(this)
    try {
      await this.#exporter.shutdown(options?.timeoutMs ?? 2000)
    } catch (err) {
      this.#diagnostics.warn('shutdown-failed', 'shutting the exporter down failed', String(err))
    }
  }
}

/** A tracer configured from `options` merged over the `DD_*` environment. */
export function createTracer(options?: TracerOptions): Tracer {
  return new CoreTracer(options)
}
