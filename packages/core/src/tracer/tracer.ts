import { randomUUID } from 'node:crypto'
import { activeParent, activeSpan, enterSpan } from '../model/context.js'
import { loadConfig, type TracerConfig } from '../config/config.js'
import { Diagnostics } from '../base/diagnostics.js'
import { registerExitFlush, unregisterExitFlush, type Flushable } from '../lifecycle/exit-hooks.js'
import { MAX_TRACKED_OPEN_SPANS, OpenSpans } from '../lifecycle/open-spans.js'
import type { ExporterHealth } from '../export/health.js'
import type { Exporter } from '../export/exporter.js'
import { enableHttpClients } from '../integrations/client-instrumentation.js'
import { disableIntegrations, enableIntegrations } from '../integrations/registry.js'
import type { HttpClientOptions } from '../integrations/client-span.js'
import { randomId } from '../model/ids.js'
import type { HeaderSetter } from '../propagation/carrier.js'
import { applyRemoteParent } from '../propagation/remote-parent.js'
import { PrioritySampler } from '../sampling/priority-sampler.js'
import { SpanSampler } from '../sampling/span-sampler.js'
import { DecisionMaker, SamplingPriority } from '../model/sampling-priority.js'
import type { SpanContext } from '../model/span-context.js'
import { CoreSpan, coreSpan, TraceState, type SpanOwner } from '../model/span.js'
import type { Span } from '../model/span-interface.js'
import { performance } from 'node:perf_hooks'
import { NOOP_DOGSTATSD, type DogStatsD } from '../metrics/dogstatsd-client.js'
import { TRACER_OPTION_NAMES, type TracerOptions } from './options.js'
import { checkConfigOptionNames } from '../config/option-keys.js'
import { continueTrace, newTrace } from './trace-start.js'
import { ddTraceMessage, findInitializedDdTrace } from './dd-trace-check.js'
import { startupLine, type StartupAgent } from './startup-log.js'
import { TracerSenders } from './senders.js'
import { TracePropagation } from './trace-propagation.js'
import type { SpanCallback, SpanOptions, Tracer } from './tracer-api.js'

export type { SpanCallback, SpanOptions, Tracer } from './tracer-api.js'

// The global `performance` is a lazy getter and `timeOrigin` a getter too: both showed in request-path
// profiles on Node 24 (bench/micro/server-span.mjs), so the module binding and a constant are used.
const timeOrigin = performance.timeOrigin

let runtimeId: string | undefined

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function'
}

/**
 * Makes spans, keeps them in context and hands complete trace chunks to its exporter. Nothing here does
 * I/O: a finished chunk is queued, and the exporter sends it later.
 */
export class CoreTracer implements Tracer, SpanOwner, Flushable {
  readonly config: TracerConfig
  readonly diagnostics: Diagnostics
  readonly #diagnostics: Diagnostics
  /** The senders' exporter, held here too: every finished chunk goes to it. */
  readonly #exporter: Exporter
  /** The exporter and the metrics, flushed and closed together. */
  readonly #senders: TracerSenders
  readonly #noopSpan: CoreSpan
  readonly #propagation: TracePropagation
  /** Spans started and not finished: an ending process finishes them, so their traces are sent. */
  readonly #open: OpenSpans
  #rates: Readonly<Record<string, number>> = {}
  readonly #sampler: PrioritySampler
  readonly #spanSampler: SpanSampler | undefined
  #shutdown = false
  /** dd-trace is looked for when the tracer is made and again when the first trace leaves (it may be initialized later). */
  #ddTraceUnchecked = true

  constructor(options: TracerOptions = {}) {
    const early: string[] = []
    this.config = loadConfig(options, (message) => early.push(message), { startupLogs: options.exporter === undefined })
    this.#diagnostics = new Diagnostics(this.config.debug, options.diagnostics)
    this.diagnostics = this.#diagnostics
    checkConfigOptionNames(options, TRACER_OPTION_NAMES, 'createTracer', (kind, message) => this.#diagnostics.warnOnce(kind, message))
    for (const message of early) this.#diagnostics.warn(`config:${message}`, message)
    const config = this.config
    this.#propagation = new TracePropagation(config.propagation, this.#diagnostics, (trace, span) => this.decideSampling(trace, span))
    runtimeId ??= randomUUID()
    const globalMeta: Record<string, string> = { language: 'javascript', 'runtime-id': runtimeId, ...config.tags }
    if (config.env !== undefined) globalMeta.env = config.env
    if (config.version !== undefined) globalMeta.version = config.version
    this.#sampler = new PrioritySampler({
      env: config.env,
      rules: config.samplingRules,
      sampleRate: config.sampleRate,
      rateLimit: config.rateLimit,
      globalTags: globalMeta
    })
    this.#spanSampler = config.spanSamplingRules.length > 0 ? new SpanSampler(config.spanSamplingRules) : undefined
    this.#senders = new TracerSenders({
      exporter: options.exporter,
      config,
      diagnostics: this.#diagnostics,
      runtimeId,
      globalMeta,
      onRates: (rates) => {
        this.#rates = rates
        this.#sampler.updateRates(rates)
      }
    })
    this.#exporter = this.#senders.exporter
    this.#open = new OpenSpans(() =>
      this.#diagnostics.warn(
        'open-spans',
        `more than ${MAX_TRACKED_OPEN_SPANS} spans are open at once (spans that are never finished?); the oldest are no longer finished and sent at exit`
      )
    )
    // Installed now rather than at the first export: a signal that comes during the very first request
    // must still send that request's trace. An exporter without `pending` holds nothing to send.
    if (config.flushOnExit && config.enabled && 'pending' in this.#exporter) registerExitFlush(this)
    const noopTrace = new TraceState(0n, '', undefined, undefined, {})
    this.#noopSpan = new CoreSpan(this, noopTrace, 0n, 0n, undefined, '', config.service, '', '', 0)
    // A finished span ignores every operation: the disabled tracer's one shared span stays empty.
    this.#noopSpan.duration = 0
    if (config.startupLogs) this.#logStartup()
    if (config.enabled) this.#checkDdTrace(false)
    if (config.enabled) enableIntegrations(this, config.integrations)
    // Runtime and custom metrics: started with the tracer when runtime metrics are on, else on the first use of `dogstatsd`.
    if (config.enabled && config.metrics.runtimeMetrics) this.#senders.startMetrics()
  }

  get enabled(): boolean {
    return this.config.enabled && !this.#shutdown
  }

  /** The agent's latest `rate_by_service`, for the sampler. */
  get agentRates(): Readonly<Record<string, number>> {
    return this.#rates
  }

  get dogstatsd(): DogStatsD {
    return this.enabled ? this.#senders.dogstatsd : NOOP_DOGSTATSD
  }

  /** Starts a span; its parent is `options.childOf`, else the active span, else none (a new trace). */
  startSpan(name: string, options?: SpanOptions): CoreSpan {
    if (!this.config.enabled || this.#shutdown) return this.#noopSpan
    const parent = options?.childOf === undefined ? activeParent() : options.childOf
    const start =
      options?.startTime !== undefined && Number.isFinite(options.startTime) ? options.startTime - timeOrigin : performance.now()
    let trace: TraceState
    let parentId: bigint
    let parentService: string | undefined
    let remote: SpanContext | undefined
    if (parent === null || parent === undefined) {
      trace = newTrace(timeOrigin + start, this.config.traceId128BitGeneration)
      parentId = 0n
      parentService = undefined
    } else if (parent instanceof CoreSpan) {
      trace = parent.trace
      parentId = parent.spanId
      parentService = parent.service
    } else {
      // A context from another process. A span of another copy of core (two in one bundle) reads as one
      // too, through its traceId and spanId.
      const context = parent as SpanContext
      if (typeof context.traceId === 'bigint' && context.traceId !== 0n && typeof context.spanId === 'bigint') {
        trace = continueTrace(context)
        parentId = context.spanId
      } else {
        // A context with no trace id may still bring baggage or span links into the new trace.
        trace = newTrace(timeOrigin + start, this.config.traceId128BitGeneration)
        parentId = 0n
      }
      parentService = undefined
      remote = typeof context === 'object' ? context : undefined
    }
    if (trace.traceId === 0n) return this.#noopSpan
    const service = options?.service ?? parentService ?? this.config.service
    const span = new CoreSpan(this, trace, randomId(), parentId, parentService, name, service, options?.resource ?? name, options?.type ?? '', start)
    trace.open++
    this.#open.add(span)
    if (trace.localRoot === undefined) trace.localRoot = span
    if (options?.tags !== undefined) span.setTags(options.tags)
    if (options?.measured !== undefined) span.metrics['_dd.measured'] = options.measured ? 1 : 0
    if (remote !== undefined) applyRemoteParent(span, remote, this.config.propagation)
    return span
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
      result = enterSpan(span, fn, span)
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
  activeSpan(): CoreSpan | undefined {
    return activeSpan()
  }

  /** Runs `fn` with `span` active. */
  withSpan<R>(span: Span, fn: () => R): R {
    return enterSpan(coreSpan(span), fn, undefined)
  }

  extract(carrier: unknown): SpanContext | null {
    return this.config.enabled ? this.#propagation.extract(carrier) : null
  }

  inject(spanOrContext: Span | SpanContext, carrier: Record<string, unknown> | Headers): void {
    if (this.config.enabled) this.#propagation.inject(spanOrContext, carrier)
  }

  /** Writes `span`'s context with `set` (the client instrumentation's path), deciding and locking its trace's sampling first. */
  injectSpan<C>(span: CoreSpan, carrier: C, set: HeaderSetter<C>): void {
    this.#propagation.injectSpan(span, carrier, set)
  }

  /**
   * Traces outgoing requests: fetch and undici through undici's diagnostics channels, node:http through
   * Node's `http.client.request.created` channel (Node 22.12+, 23.2+) or, on older Node, only with
   * `patchNodeHttp: true`. One tracer per process holds it; a later call replaces the earlier one.
   */
  instrumentHttpClients(options?: HttpClientOptions): void {
    enableHttpClients(this, options)
  }

  /** Called by `Span#finish`. */
  finishSpan(span: CoreSpan): void {
    const trace = span.trace
    trace.open--
    this.#open.remove(span)
    let finished = trace.finished
    if (finished === undefined) {
      // The common web trace: its only span finishes. A one-element chunk costs ~56 bytes, where an
      // array grown by push costs ~180 (bench/micro/server-span.mjs, --trace-gc-nvp).
      if (trace.open <= 0) {
        this.#exportChunk(trace, [span])
        return
      }
      finished = trace.finished = []
    }
    finished.push(span)
    if (trace.open <= 0 || finished.length >= this.config.partialFlushMinSpans) {
      trace.finished = undefined
      this.#exportChunk(trace, finished)
    }
  }

  #exportChunk(trace: TraceState, chunk: CoreSpan[]): void {
    if (this.#ddTraceUnchecked) this.#checkDdTrace(true)
    if (trace.samplingPriority === undefined) this.decideSampling(trace, chunk[chunk.length - 1])
    if (this.#spanSampler !== undefined && (trace.samplingPriority ?? 1) <= 0) this.#spanSampler.sampleChunk(chunk)
    try {
      this.#exporter.export(chunk)
    } catch (err) {
      this.#diagnostics.warn('exporter-threw', 'the exporter threw while taking a trace; the trace was dropped', String(err))
    }
  }

  /**
   * The startup log: printed once the agent has answered `/info` or failed to (within the request
   * timeout, 2 s at most), asked in the background so that it neither delays the app nor keeps an app
   * that is done from exiting. Without an agent to ask, printed at once.
   */
  #logStartup(): void {
    const config = this.config
    const diagnostics = this.#diagnostics
    const print = (agent: StartupAgent): void => {
      try {
        diagnostics.info(startupLine(config, agent))
      } catch (err) {
        diagnostics.debug(`the startup log failed: ${String(err)}`)
      }
    }
    const exporter = this.#exporter
    if (!config.enabled) print({ asked: false, why: 'tracing is disabled' })
    else if (exporter.probeAgent === undefined) print({ asked: false, why: 'the tracer was given its own exporter' })
    else void exporter.probeAgent().then(print, (err: unknown) => print({ asked: true, reached: false, error: String(err) }))
  }

  /** Warns once when dd-trace is initialized in this process too; `last` ends the looking. */
  #checkDdTrace(last: boolean): void {
    try {
      const found = findInitializedDdTrace()
      if (found !== undefined) this.#diagnostics.warnOnce('dd-trace', ddTraceMessage(found))
      if (found !== undefined || last) this.#ddTraceUnchecked = false
    } catch {
      this.#ddTraceUnchecked = false
    }
  }

  /**
   * Makes the trace's sampling decision if none was made yet: called when the first chunk leaves and
   * before the context is first injected into an outgoing request (which then locks it). `span` is the
   * span at hand (the chunk's local root, or the span being injected).
   */
  decideSampling(trace: TraceState, span: CoreSpan): void {
    if (trace.samplingPriority !== undefined) return
    try {
      this.#sampler.decide(trace, trace.localRoot ?? span)
    } catch (err) {
      this.#diagnostics.warn('sampling-failed', 'a sampling decision failed; the trace is kept', String(err))
    }
    if (trace.samplingPriority === undefined) {
      trace.samplingPriority = SamplingPriority.AUTO_KEEP
      trace.decisionMaker = DecisionMaker.DEFAULT
    }
  }

  /** The exporter's counters; undefined when it keeps none. */
  health(): ExporterHealth | undefined {
    return this.#senders.health()
  }

  /** Spans are open, or the exporter holds traces to send. */
  get pending(): boolean {
    return this.#open.size > 0 || this.#exporter.pending === true
  }

  /** Sends every trace finished before the call, waiting at most `flushTimeoutMs`. Never rejects. */
  async flush(): Promise<void> {
    await this.#senders.flush(this.config.flushTimeoutMs)
  }

  /**
   * The exit flush: waits at most `timeoutMs` (its own timer holds the process that long, even with an
   * exporter that ignores the deadline). With `cut`, spans still open are first finished as they are,
   * marked with it, so that their traces are sent too.
   */
  async flushWithin(timeoutMs: number, cut?: string): Promise<void> {
    if (cut !== undefined) this.#finishOpen(cut)
    await this.#senders.flushWithin(timeoutMs)
  }

  /** Finishes the spans still open, marked with `cause`: the process or the tracer is ending. */
  #finishOpen(cause: string): void {
    const count = this.#open.finishAll(cause)
    if (count > 0) this.#diagnostics.debug(`${count} spans were still open at ${cause}; they were finished and marked _dd.exit.unfinished`)
  }

  /** Sends what is left (waiting at most `timeoutMs`, default 2000), then stops tracing. Safe to call twice. */
  async shutdown(options?: { timeoutMs?: number }): Promise<void> {
    if (this.#shutdown) return
    this.#shutdown = true
    unregisterExitFlush(this)
    // Once the exporter is closed nothing more is sent: spans still open go now, finished and marked.
    this.#finishOpen('shutdown')
    disableIntegrations(this)
    await this.#senders.shutdown(options?.timeoutMs ?? 2000)
  }
}

/** A tracer configured from `options` merged over the `DD_*` environment. */
export function createTracer(options?: TracerOptions): Tracer {
  return new CoreTracer(options)
}
