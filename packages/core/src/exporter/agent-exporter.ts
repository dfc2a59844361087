import { runSuppressed } from '../context.js'
import type { Diagnostics } from '../diagnostics.js'
import type { Span } from '../span.js'
import { TRACER_VERSION } from '../version.js'
import { V04Encoder, type SpanDecorations } from './encode-v04.js'
import type { Exporter } from './exporter.js'
import { UndiciTransport, type Transport } from './transport.js'

/** Options of the agent exporter; the tracer fills them from its config. */
export interface AgentExporterOptions {
  /** The agent: http(s):// or unix://. */
  readonly url: URL
  /** Default 2000; 0 sends each chunk on the next turn of the event loop. */
  readonly flushIntervalMs?: number
  /** Spans held at most; whole chunks past it are dropped and counted. Default 100000. */
  readonly maxQueueSpans?: number
  /** Payloads are split to stay under this. Default 8 MiB. */
  readonly maxPayloadBytes?: number
  /** Queued spans that trigger a flush before the interval ends. Default 5000. */
  readonly flushThresholdSpans?: number
  /** Requests in flight at most; more chunks wait in the queue. Default 2. */
  readonly maxInFlight?: number
  /** Default 2000. */
  readonly requestTimeoutMs?: number
  readonly decorations: SpanDecorations
  readonly diagnostics: Diagnostics
  /** Replaces the undici transport. */
  readonly transport?: Transport
  /** Receives `rate_by_service` from each agent answer. */
  readonly onRates?: (rates: Readonly<Record<string, number>>) => void
}

/** What the exporter did so far. */
export interface ExporterHealth {
  tracesSent: number
  spansSent: number
  bytesSent: number
  payloadsSent: number
  tracesDropped: number
  spansDropped: number
  /** Dropped traces by reason: `queue_full`, `too_large`, `network`, `status_<code>`, `shutdown`. */
  droppedByReason: Record<string, number>
  /** The last failure, e.g. `ECONNREFUSED` or `HTTP 400: ...`; undefined after a success. */
  lastError: string | undefined
  queuedSpans: number
}

interface Payload {
  readonly bytes: Buffer
  readonly traceCount: number
  readonly spanCount: number
}

function traces(count: number): string {
  return count === 1 ? '1 trace' : `${count} traces`
}

function errorCode(err: unknown): string {
  if (err !== null && typeof err === 'object') {
    const e = err as { code?: unknown; cause?: unknown; name?: unknown; message?: unknown }
    if (typeof e.code === 'string') return e.code
    if (e.cause !== undefined) return errorCode(e.cause)
    if (typeof e.name === 'string' && e.name !== 'Error') return e.name
    if (typeof e.message === 'string') return e.message
  }
  return String(err)
}

/**
 * Batches finished chunks and sends them to the agent as v0.4 payloads. `export` only queues: encoding
 * and I/O happen on a timer (unref'd), on a size threshold, or on `flush`, always with tracing
 * suppressed so the exporter's own requests are never traced. Memory is bounded by the span queue and
 * the in-flight limit; whatever cannot be sent is dropped and counted, never retried forever.
 */
export class AgentExporter implements Exporter {
  readonly #url: URL
  readonly #flushIntervalMs: number
  readonly #maxQueueSpans: number
  readonly #flushThresholdSpans: number
  readonly #maxInFlight: number
  readonly #requestTimeoutMs: number
  readonly #diagnostics: Diagnostics
  readonly #transport: Transport
  readonly #encoder: V04Encoder
  readonly #onRates: ((rates: Readonly<Record<string, number>>) => void) | undefined
  readonly #baseHeaders: Readonly<Record<string, string>>
  readonly #health: ExporterHealth

  #queue: Span[][] = []
  #timer: NodeJS.Timeout | undefined
  #soon: NodeJS.Immediate | undefined
  readonly #inFlight = new Set<Promise<void>>()
  #enqueued = 0
  #taken = 0
  #failing = false
  #closed = false

  constructor(options: AgentExporterOptions) {
    this.#url = options.url
    this.#flushIntervalMs = options.flushIntervalMs ?? 2000
    this.#maxQueueSpans = options.maxQueueSpans ?? 100_000
    this.#flushThresholdSpans = options.flushThresholdSpans ?? 5000
    this.#maxInFlight = options.maxInFlight ?? 2
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 2000
    this.#diagnostics = options.diagnostics
    this.#transport = options.transport ?? new UndiciTransport(options.url)
    this.#encoder = new V04Encoder(options.decorations, options.maxPayloadBytes ?? 8 * 1024 * 1024)
    this.#onRates = options.onRates
    this.#baseHeaders = {
      'content-type': 'application/msgpack',
      'datadog-meta-lang': 'nodejs',
      'datadog-meta-lang-version': process.version,
      'datadog-meta-lang-interpreter': 'v8',
      'datadog-meta-tracer-version': TRACER_VERSION,
      // The tracer marks top-level spans itself (`_dd.top_level`).
      'datadog-client-computed-top-level': 'yes'
    }
    this.#health = {
      tracesSent: 0,
      spansSent: 0,
      bytesSent: 0,
      payloadsSent: 0,
      tracesDropped: 0,
      spansDropped: 0,
      droppedByReason: {},
      lastError: undefined,
      queuedSpans: 0
    }
  }

  /** A snapshot of the counters. */
  health(): ExporterHealth {
    return { ...this.#health, droppedByReason: { ...this.#health.droppedByReason } }
  }

  export(chunk: Span[]): void {
    if (this.#closed) {
      this.#drop(1, chunk.length, 'shutdown')
      return
    }
    if (this.#health.queuedSpans + chunk.length > this.#maxQueueSpans) {
      this.#drop(1, chunk.length, 'queue_full')
      this.#diagnostics.warn(
        'queue-full',
        `the export queue is full (${this.#maxQueueSpans} spans): traces are dropped until the agent at ${this.#url.href} takes them`
      )
      return
    }
    this.#queue.push(chunk)
    this.#health.queuedSpans += chunk.length
    this.#enqueued++
    if (this.#flushIntervalMs === 0 || this.#health.queuedSpans >= this.#flushThresholdSpans) this.#scheduleSoon()
    else if (this.#timer === undefined) this.#armTimer()
  }

  #armTimer(): void {
    // Created under the suppressed store, so the timer neither keeps a request's context alive nor
    // makes the flush look like part of that request.
    this.#timer = runSuppressed(() => setTimeout(() => this.#onTimer(), this.#flushIntervalMs).unref())
  }

  #scheduleSoon(): void {
    if (this.#soon !== undefined) return
    this.#soon = runSuppressed(() => setImmediate(() => this.#onTimer()).unref())
  }

  #onTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    if (this.#soon !== undefined) clearImmediate(this.#soon)
    this.#timer = undefined
    this.#soon = undefined
    runSuppressed(() => this.#drain())
  }

  /** Encodes queued chunks into payloads and starts sending them, up to the in-flight limit. */
  #drain(): void {
    while (this.#queue.length > 0 && this.#inFlight.size < this.#maxInFlight) {
      const payload = this.#takePayload()
      if (payload !== undefined) this.#startSend(payload)
    }
  }

  #takePayload(): Payload | undefined {
    const encoder = this.#encoder
    const queue = this.#queue
    encoder.begin()
    let taken = 0
    let spans = 0
    for (; taken < queue.length; taken++) {
      const chunk = queue[taken]
      if (encoder.append(chunk)) {
        spans += chunk.length
        continue
      }
      if (encoder.traceCount > 0) break
      // A single chunk larger than a whole payload can never be sent.
      this.#drop(1, chunk.length, 'too_large')
      this.#diagnostics.warn('too-large', `a trace of ${chunk.length} spans is larger than the payload limit and was dropped`)
      spans += chunk.length
    }
    this.#queue = taken === queue.length ? [] : queue.slice(taken)
    this.#health.queuedSpans -= spans
    this.#taken += taken
    if (encoder.traceCount === 0) return undefined
    return { bytes: encoder.finish(), traceCount: encoder.traceCount, spanCount: encoder.spanCount }
  }

  #startSend(payload: Payload): void {
    const sending: Promise<void> = runSuppressed(() => this.#send(payload)).finally(() => {
      this.#inFlight.delete(sending)
      // Chunks that waited for a free slot go out now only when they pass the threshold; otherwise the
      // timer takes them, so a busy app sends a few large payloads instead of a stream of small ones.
      if (this.#queue.length === 0 || this.#closed) return
      if (this.#health.queuedSpans >= this.#flushThresholdSpans || this.#flushIntervalMs === 0) this.#scheduleSoon()
      else if (this.#timer === undefined) this.#armTimer()
    })
    this.#inFlight.add(sending)
  }

  async #send(payload: Payload): Promise<void> {
    const headers = { ...this.#baseHeaders, 'x-datadog-trace-count': String(payload.traceCount) }
    let status: number
    let body: string
    try {
      const response = await this.#transport.send('/v0.4/traces', 'PUT', headers, payload.bytes, this.#requestTimeoutMs)
      status = response.status
      body = response.body
    } catch (err) {
      const code = errorCode(err)
      this.#fail(payload, 'network', code)
      this.#diagnostics.warn(
        'agent-unreachable',
        `cannot send traces to the Datadog agent at ${this.#url.href} (${code}); ${traces(payload.traceCount)} dropped. The app is not affected; sending resumes when the agent is back`,
        err instanceof Error ? (err.stack ?? err.message) : undefined
      )
      return
    }
    if (status >= 200 && status < 300) {
      const health = this.#health
      health.tracesSent += payload.traceCount
      health.spansSent += payload.spanCount
      health.bytesSent += payload.bytes.length
      health.payloadsSent++
      health.lastError = undefined
      if (this.#failing) {
        this.#failing = false
        this.#diagnostics.reset('agent-unreachable')
        this.#diagnostics.reset('agent-status')
        this.#diagnostics.warn('agent-back', `the Datadog agent at ${this.#url.href} accepts traces again`)
      }
      this.#readRates(body)
      return
    }
    const reason = body.trim().slice(0, 200)
    this.#fail(payload, `status_${status}`, `HTTP ${status}${reason === '' ? '' : `: ${reason}`}`)
    this.#diagnostics.warn(
      'agent-status',
      `the Datadog agent at ${this.#url.href} refused a payload with HTTP ${status}${reason === '' ? '' : ` (${reason})`}; ${traces(payload.traceCount)} dropped`
    )
  }

  #fail(payload: Payload, reason: string, lastError: string): void {
    this.#failing = true
    this.#health.lastError = lastError
    this.#drop(payload.traceCount, payload.spanCount, reason)
  }

  #drop(traces: number, spans: number, reason: string): void {
    const health = this.#health
    health.tracesDropped += traces
    health.spansDropped += spans
    health.droppedByReason[reason] = (health.droppedByReason[reason] ?? 0) + traces
  }

  #readRates(body: string): void {
    if (this.#onRates === undefined || body === '') return
    let parsed: unknown
    try {
      parsed = JSON.parse(body)
    } catch {
      this.#diagnostics.debug(`the agent answered with a body that is not JSON: ${body.slice(0, 200)}`)
      return
    }
    const rates = (parsed as { rate_by_service?: unknown } | null)?.rate_by_service
    if (rates === null || typeof rates !== 'object') return
    const clean: Record<string, number> = {}
    for (const [key, value] of Object.entries(rates)) {
      if (typeof value === 'number' && value >= 0 && value <= 1) clean[key] = value
    }
    this.#onRates(clean)
  }

  /** Resolves once every chunk exported before the call has been sent or dropped. Never rejects. */
  async flush(): Promise<void> {
    const target = this.#enqueued
    this.#onTimer()
    while (this.#taken < target) {
      // Only chunks queued before the call are waited for, so a busy app cannot keep flush pending.
      if (this.#inFlight.size === 0) {
        runSuppressed(() => this.#drain())
        if (this.#inFlight.size === 0) break
      }
      await Promise.race(this.#inFlight)
      runSuppressed(() => this.#drain())
    }
    await Promise.allSettled(this.#inFlight)
  }

  /** Sends what is queued (within `timeoutMs`), then refuses new chunks and closes the connection. */
  async shutdown(timeoutMs = 2000): Promise<void> {
    if (this.#closed) return
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs)
      timer.unref()
    })
    await Promise.race([this.flush(), deadline])
    clearTimeout(timer)
    this.#closed = true
    const left = this.#queue
    this.#queue = []
    for (const chunk of left) this.#drop(1, chunk.length, 'shutdown')
    this.#health.queuedSpans = 0
    await this.#transport.close()
  }

  /** True while chunks wait in the queue or a request is in flight. */
  get pending(): boolean {
    return this.#queue.length > 0 || this.#inFlight.size > 0
  }
}
