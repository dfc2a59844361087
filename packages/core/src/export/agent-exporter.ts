import { runSuppressed } from '../model/context.js'
import type { Diagnostics } from '../base/diagnostics.js'
import type { CoreSpan } from '../model/span.js'
import type { ClientStats } from '../stats/client-stats.js'
import type { AgentInfo } from './agent-info.js'
import { agentHeaders } from './agent-headers.js'
import { Batcher } from './batcher.js'
import { DEFAULT_PROTOCOL, type AgentExporterOptions, type ProtocolPreference } from './agent-exporter-options.js'
import { readContainerIdentity } from './container-id.js'
import { AgentDiscovery, DiscoveryStatus, probeAgent, type AgentProbe } from './discovery.js'
import type { Exporter, FlushOptions } from './exporter.js'
import { HealthCounters, type ExporterHealth } from './health.js'
import { parseRates } from './rates.js'
import { SendPolicy, type OutgoingPayload } from './send-policy.js'
import { StatsSender } from './stats-sender.js'
import type { ProtocolVersion, SpanEventsMode } from '../wire/encode-span.js'
import { BufferPool } from '../wire/buffer-pool.js'
import { SocketTransport } from '../agent-client/socket-transport.js'
import type { Transport } from '../agent-client/transport.js'

export type { ExporterHealth } from './health.js'
export { DEFAULT_PROTOCOL, type AgentExporterOptions, type ProtocolPreference } from './agent-exporter-options.js'

/**
 * Sends finished chunks to the agent, wiring the parts that do the work: the batcher (bounded queue,
 * encoding on the next turn, payloads by size and interval), discovery (`/info`, awaited briefly before
 * the first payload), the send policy (the delivery rules: retry, split, downgrade), the stats sender,
 * and the health counters. One transport carries traces, stats and `/info`. Every request goes out
 * with tracing suppressed, so the exporter's own requests are never traced. Memory is bounded by the
 * span queue and the in-flight budget (requests and bytes), so an agent that hangs costs the app
 * dropped traces, never memory.
 */
export class AgentExporter implements Exporter {
  readonly #url: URL
  readonly #maxInFlight: number
  readonly #maxInFlightBytes: number
  readonly #flushTimeoutMs: number
  readonly #preference: ProtocolPreference
  readonly #discoveryWaitMs: number
  readonly #configuredMaxPayload: number
  readonly #diagnostics: Diagnostics
  readonly #transport: Transport
  readonly #pool: BufferPool | undefined
  readonly #health = new HealthCounters()
  readonly #batcher: Batcher
  readonly #policy: SendPolicy
  readonly #discovery: AgentDiscovery | undefined
  readonly #stats: ClientStats | undefined
  readonly #statsSender: StatsSender | undefined
  readonly #onRates: ((rates: Readonly<Record<string, number>>) => void) | undefined
  readonly #onAgentInfo: ((info: AgentInfo | undefined) => void) | undefined
  /** Requests in flight or waiting for a retry. */
  readonly #inFlight = new Set<Promise<void>>()
  /** Payloads taken off the batcher so far: flush waits until those closed before it have been taken. */
  #dequeued = 0
  /** Set while the first payload waits for `/info`; resolves when it may go. */
  #gate: Promise<void> | undefined
  #v05Refused = false
  #closed = false
  /** Read by the encoders span by span; switched as /info allows (see `nativeSpanEvents`). */
  readonly #spanEvents: SpanEventsMode
  readonly #nativeSpanEvents: boolean

  constructor(options: AgentExporterOptions) {
    this.#url = options.url
    this.#maxInFlight = options.maxInFlight ?? 2
    this.#maxInFlightBytes = options.maxInFlightBytes ?? 16 * 1024 * 1024
    this.#flushTimeoutMs = options.flushTimeoutMs ?? 5000
    this.#preference = options.protocolVersion ?? DEFAULT_PROTOCOL
    this.#discoveryWaitMs = options.discoveryWaitMs ?? 500
    this.#configuredMaxPayload = options.maxPayloadBytes ?? 8 * 1024 * 1024
    this.#diagnostics = options.diagnostics
    this.#transport = options.transport ?? new SocketTransport(options.url)
    // Payload buffers are reused once their request has settled, which the socket transport promises:
    // it holds no body past that. A transport given in the options may keep what it was sent.
    this.#pool = options.bufferPool ?? (options.transport === undefined ? new BufferPool() : undefined)
    this.#onRates = options.onRates
    this.#onAgentInfo = options.onAgentInfo
    this.#stats = options.stats
    const requestTimeoutMs = options.requestTimeoutMs ?? 2000
    const headers = agentHeaders(options.containerIdentity ?? readContainerIdentity())
    const health = this.#health
    this.#nativeSpanEvents = options.nativeSpanEvents === true
    this.#spanEvents = { native: this.#nativeSpanEvents && options.discovery === false }
    this.#batcher = new Batcher({
      decorations: { ...options.decorations, spanEvents: this.#spanEvents },
      maxPayloadBytes: this.#configuredMaxPayload,
      maxQueueSpans: options.maxQueueSpans ?? 100_000,
      flushIntervalMs: options.flushIntervalMs ?? 2000,
      flushThresholdBytes: options.flushThresholdBytes ?? 1024 * 1024,
      pool: this.#pool,
      drops: {
        drop: (traces, spans, reason) => health.drop(traces, spans, reason),
        dropSpans: (spans, reason) => health.dropSpans(spans, reason),
        tooLarge: (name) =>
          this.#diagnostics.warn('too-large', `a span (${name}) is larger than the payload limit (${this.#batcher.maxPayloadBytes} bytes) and was dropped`)
      },
      diagnostics: this.#diagnostics,
      filter: this.#stats === undefined ? undefined : (chunk) => this.#stats!.process(chunk),
      onTurn: (due) => this.#step(due)
    })
    this.#policy = new SendPolicy({
      transport: this.#transport,
      url: this.#url,
      headers,
      requestTimeoutMs,
      retry: {
        deadlineMs: options.retryDeadlineMs ?? 15_000,
        baseDelayMs: options.retryBaseDelayMs ?? 100,
        maxDelayMs: options.retryMaxDelayMs ?? 2000,
        random: options.random
      },
      health,
      diagnostics: this.#diagnostics,
      onAnswer: (response) => this.#discovery?.observe(response),
      onAccepted: (response) => this.#readRates(response.body),
      onV05Refused: () => (this.#v05Refused = true),
      onTooLarge: (limit) => {
        if (limit < this.#batcher.maxPayloadBytes) this.#batcher.setMaxPayload(limit)
      },
      partHeaders: () => this.#stats?.traceHeaders(false)
    })
    this.#discovery =
      options.discovery === false ? undefined : new AgentDiscovery(this.#transport, Math.min(requestTimeoutMs, 2000), (info) => this.#applyInfo(info))
    this.#statsSender =
      this.#stats === undefined
        ? undefined
        : new StatsSender(this.#stats, { transport: this.#transport, headers, diagnostics: this.#diagnostics, requestTimeoutMs, intervalMs: options.statsIntervalMs })
  }

  /** A snapshot of the counters. */
  health(): ExporterHealth {
    const info = this.#discovery?.info
    return {
      ...this.#health.snapshot(),
      queuedSpans: this.#batcher.queuedSpans,
      protocolVersion: this.#protocol(),
      maxPayloadBytes: this.#batcher.maxPayloadBytes,
      discovery: this.#discovery?.status ?? 'off',
      agent:
        info === undefined
          ? undefined
          : { version: info.version, endpoints: [...info.endpoints], clientDropP0s: info.clientDropP0s, spanEvents: info.spanEvents, maxRequestBytes: info.maxRequestBytes },
      stats: this.#statsSender?.health()
    }
  }

  /** The one agent client of this exporter: traces, stats and `/info` go through it, and so may other senders. */
  get transport(): Transport {
    return this.#transport
  }

  /** What `/info` said, if it answered. */
  get agentInfo(): AgentInfo | undefined {
    return this.#discovery?.info
  }

  /** Whether the agent answers `/info`, asked now in the background if it was not yet (the startup log). */
  probeAgent(): Promise<AgentProbe> {
    return probeAgent(this.#discovery)
  }

  /** True while chunks or payloads wait or a request is in flight. */
  get pending(): boolean {
    return this.#batcher.queuedSpans > 0 || this.#inFlight.size > 0
  }

  export(chunk: CoreSpan[]): void {
    if (this.#closed) {
      this.#health.drop(1, chunk.length, 'shutdown')
      return
    }
    if (this.#batcher.add(chunk)) return
    this.#health.drop(1, chunk.length, 'queue_full')
    this.#diagnostics.warn('queue-full', `the export queue is full (${this.#batcher.maxQueueSpans} spans): traces are dropped until the agent at ${this.#url.href} takes them`)
  }

  /**
   * Resolves once every chunk exported before the call has been sent, dropped or given up (retries
   * included), or when `timeoutMs` (default `flushTimeoutMs`) has passed, whatever the agent does.
   * What is still pending then stays queued and keeps being sent; `health()` shows it, and counts the
   * flush in `flushTimeouts`. Never rejects. Its deadline timer holds the event loop open meanwhile:
   * its caller awaits it, where every other timer of the exporter is unref'd.
   */
  async flush(options?: FlushOptions): Promise<void> {
    const timeoutMs = options?.timeoutMs ?? this.#flushTimeoutMs
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(resolve, timeoutMs, false)
    })
    const done = this.#flushAll().then(
      () => true,
      () => true
    )
    const finished = await Promise.race([done, deadline])
    clearTimeout(timer)
    if (!finished) {
      this.#health.counts.flushTimeouts++
      this.#diagnostics.debug(`flush() reached its ${timeoutMs} ms deadline with ${this.#batcher.queuedSpans} spans queued and ${this.#inFlight.size} requests in flight; they keep being sent`)
    }
  }

  async #flushAll(): Promise<void> {
    await this.#flushTraces()
    // After the traces: every chunk exported before the call has been counted in the stats by then.
    await this.#statsSender?.flush()
  }

  async #flushTraces(): Promise<void> {
    // The first payload may be waiting for /info; once it answers (or the short wait ends) it goes on.
    runSuppressed(() => this.#discovered())
    if (this.#gate !== undefined) await this.#gate
    // Only what was exported before the call is waited for, so a busy app cannot keep flush pending.
    runSuppressed(() => {
      this.#batcher.encode(this.#protocol())
      this.#batcher.closeOpen()
    })
    const target = this.#dequeued + this.#batcher.readyCount
    runSuppressed(() => {
      this.#sendReady()
      this.#sendDropCounts()
    })
    while (this.#dequeued < target) {
      // Each request that settles frees its slot for the next payload (see #startSend).
      if (this.#inFlight.size === 0) {
        runSuppressed(() => this.#sendReady())
        if (this.#inFlight.size === 0) break
      }
      await Promise.race(this.#inFlight)
    }
    await Promise.allSettled([...this.#inFlight])
  }

  /** Sends what is queued (within `timeoutMs`), then refuses new chunks and closes the connection. */
  async shutdown(timeoutMs = 2000): Promise<void> {
    if (this.#closed) return
    await this.flush({ timeoutMs })
    this.#closed = true
    // Payloads waiting for a retry give up now and are counted (dropped at shutdown, or maybe delivered).
    this.#policy.close()
    this.#batcher.stop('shutdown')
    this.#statsSender?.close()
    await this.#transport.close()
  }

  /**
   * One turn of the exporter: encodes the chunks added since the last one, then sends what is due
   * within the in-flight budget: closed payloads, and the open one once past the size threshold or
   * when the interval has ended (`due`).
   */
  #step(due: boolean): void {
    if (this.#closed || !this.#discovered()) return
    const batcher = this.#batcher
    batcher.encode(this.#protocol())
    this.#statsSender?.start()
    batcher.closeIfDue(due, this.#hasSlot())
    this.#sendReady()
    if (due) this.#sendDropCounts()
    batcher.armTimer(this.#stats?.pendingDrops === true)
  }

  /**
   * False while the first payload waits (briefly) for `/info`, so that it goes out in the right format
   * and size; the wait is an event: the turn runs again once it ends.
   */
  #discovered(): boolean {
    if (this.#gate !== undefined) return false
    const discovery = this.#discovery
    if (discovery === undefined || !this.#batcher.hasTraces) return true
    const wait = discovery.beforePayload(this.#discoveryWaitMs)
    if (wait === undefined) return true
    this.#gate = wait.then(() => {
      this.#gate = undefined
      if (!this.#closed) runSuppressed(() => this.#step(false))
    })
    return false
  }

  #protocol(): ProtocolVersion {
    if (this.#preference === '0.4' || this.#v05Refused) return '0.4'
    const discovery = this.#discovery
    const info = discovery?.info
    if (info !== undefined) return info.endpoints.includes('/v0.5/traces') ? '0.5' : '0.4'
    // No /info (404): an old agent, v0.4 only. Not asked or not answered: as configured.
    if (discovery?.status === DiscoveryStatus.absent) return '0.4'
    return this.#preference === '0.5' ? '0.5' : '0.4'
  }

  #applyInfo(info: AgentInfo | undefined): void {
    try {
      this.#stats?.setAgent(info)
      this.#spanEvents.native = this.#nativeSpanEvents && info?.spanEvents === true
      const limit = info?.maxRequestBytes
      const max = Math.max(1024, Math.min(this.#configuredMaxPayload, limit ?? Infinity))
      const batcher = this.#batcher
      if (max < batcher.maxPayloadBytes || (limit !== undefined && max !== batcher.maxPayloadBytes)) batcher.setMaxPayload(max)
      this.#diagnostics.debug(
        info === undefined
          ? `the agent at ${this.#url.href} has no /info; sending v0.4`
          : `agent ${info.version ?? '?'} at ${this.#url.href}: endpoints ${info.endpoints.join(' ')}, max_request_bytes ${info.maxRequestBytes ?? '?'}, client_drop_p0s ${info.clientDropP0s}; sending v${this.#protocol()}`
      )
      this.#onAgentInfo?.(info)
    } catch (err) {
      this.#diagnostics.warn('exporter-failed', 'applying the agent /info failed unexpectedly', err instanceof Error ? err.stack : String(err))
    }
  }

  #hasSlot(): boolean {
    return this.#inFlight.size < this.#maxInFlight && this.#health.counts.inFlightBytes < this.#maxInFlightBytes
  }

  #sendReady(): void {
    const batcher = this.#batcher
    while (batcher.readyCount > 0 && this.#hasSlot()) {
      const payload = batcher.next()!
      this.#dequeued++
      this.#startSend({ ...payload, headers: this.#stats?.traceHeaders(true) })
    }
  }

  /**
   * Every chunk of the interval was dropped as P0: an empty payload still tells the agent how many,
   * since its sampler rates count them.
   */
  #sendDropCounts(): void {
    const stats = this.#stats
    if (stats?.pendingDrops !== true || this.#batcher.readyCount > 0 || this.#batcher.hasTraces || !this.#hasSlot()) return
    const empty = this.#batcher.empty(this.#protocol())
    if (empty !== undefined) this.#startSend({ ...empty, headers: stats.traceHeaders(true) })
  }

  #startSend(payload: OutgoingPayload): void {
    const counts = this.#health.counts
    const bytes = payload.bytes.length
    counts.inFlightBytes += bytes
    counts.inFlightRequests++
    const sending: Promise<void> = runSuppressed(() => this.#policy.send(payload)).finally(() => {
      // Settled by the transport: sent, dropped, or handed on as parts that are new buffers. These bytes
      // are read no more.
      this.#pool?.release(payload.bytes)
      this.#inFlight.delete(sending)
      counts.inFlightBytes -= bytes
      counts.inFlightRequests--
      // A free slot: closed payloads go at once; the open one only past the threshold or its interval,
      // so a busy app sends a few large payloads rather than a stream of small ones (bench/http.mjs,
      // Fastify: ~230 payloads a second otherwise).
      if (!this.#closed) runSuppressed(() => this.#step(false))
    })
    this.#inFlight.add(sending)
  }

  #readRates(body: string): void {
    if (this.#onRates === undefined) return
    const rates = parseRates(body, this.#diagnostics)
    if (rates !== undefined) this.#onRates(rates)
  }
}
