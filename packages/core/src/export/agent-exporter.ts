import { runSuppressed } from '../model/context.js'
import type { Diagnostics } from '../base/diagnostics.js'
import type { CoreSpan } from '../model/span.js'
import type { ClientStats, ClientStatsHealth } from '../stats/client-stats.js'
import { TRACER_VERSION } from '../base/version.js'
import { AgentDiscovery, DiscoveryStatus, type AgentInfo } from './agent-info.js'
import { readContainerIdentity, type ContainerIdentity } from './container-id.js'
import type { EncodedPayload, ProtocolVersion, SpanDecorations } from '../wire/encode-span.js'
import type { Exporter } from './exporter.js'
import { BufferPool } from '../wire/buffer-pool.js'
import { PayloadBuilder } from './payload-builder.js'
import { splitPayload, transcodeV05ToV04 } from '../wire/payload-parts.js'
import { Verdict, backoffMs, verdictFor, type RetryOptions } from './retry.js'
import { SocketTransport } from '../agent-client/socket-transport.js'
import type { Transport, TransportResponse } from '../agent-client/transport.js'

/** `0.4`, `0.5`, or `auto`: v0.5 when `/info` lists it, v0.4 otherwise. */
export type ProtocolPreference = ProtocolVersion | 'auto'

/**
 * The default wire format: v0.5 when the agent's /info lists it. Measured on realistic web traces
 * (bench/micro/encode-traces.mjs, Node 20 and 24): v0.5 is 0.17× the bytes of v0.4 and ~0.4× its
 * encode CPU per span, since repeated strings (URLs, user agents, tag keys) are written once and
 * referred to by small indexes.
 */
export const DEFAULT_PROTOCOL: ProtocolPreference = 'auto'

/** Options of the agent exporter; the tracer fills them from its config. */
export interface AgentExporterOptions {
  /** The agent: http(s):// or unix://. */
  readonly url: URL
  /** Default 2000; 0 sends each chunk on the next turn of the event loop. */
  readonly flushIntervalMs?: number
  /** Spans held at most; whole chunks past it are dropped and counted. Default 100000. */
  readonly maxQueueSpans?: number
  /** Payloads are split to stay under this (and under the agent's `max_request_bytes`). Default 8 MiB. */
  readonly maxPayloadBytes?: number
  /**
   * Encoded bytes in the open payload that send it before the interval ends. Default 1 MiB (~10,000
   * request spans in v0.5, ~2,500 in v0.4). Only bytes wait here, never spans, so the threshold
   * bounds memory little; it sets how many requests the agent gets: a Fastify app serving 60k
   * requests/s sends ~7 payloads a second (~50 with the former 1,000-span threshold). The server's
   * CPU did not follow: sending at all costs it ~1 µs per request served under load, at 1 payload a
   * second as at 50 (perf stat, issue #11's notes).
   */
  readonly flushThresholdBytes?: number
  /** Requests in flight at most (retries included); more chunks wait in the queue. Default 2. */
  readonly maxInFlight?: number
  /** Payload bytes in flight (sent or waiting for a retry) past which no new payload starts. Default 16 MiB. */
  readonly maxInFlightBytes?: number
  /** Timeout of one request. Default 2000. */
  readonly requestTimeoutMs?: number
  /** Default `DEFAULT_PROTOCOL`. */
  readonly protocolVersion?: ProtocolPreference
  /** How long a payload may be retried after its first attempt; 0 never retries. Default 15000. */
  readonly retryDeadlineMs?: number
  /** The first retry waits about this long, each next one twice as long. Default 100. */
  readonly retryBaseDelayMs?: number
  /** The longest wait between two attempts. Default 2000. */
  readonly retryMaxDelayMs?: number
  /** Ask the agent's `/info`. Default true. */
  readonly discovery?: boolean
  /** How long the first payload waits for `/info`. Default 500. */
  readonly discoveryWaitMs?: number
  /** Container id and entity id for the agent's tagging; default read once from /proc/self/cgroup. */
  readonly containerIdentity?: ContainerIdentity
  readonly decorations: SpanDecorations
  readonly diagnostics: Diagnostics
  /** Replaces the socket transport. */
  readonly transport?: Transport
  /**
   * Where payloads are written and given back once the agent has answered. Default: a pool of its own
   * with the socket transport, none with a `transport` given (which may keep what it was sent).
   */
  readonly bufferPool?: BufferPool
  /** Receives `rate_by_service` from each agent answer. */
  readonly onRates?: (rates: Readonly<Record<string, number>>) => void
  /** Receives what `/info` says, each time it changes (undefined: the agent has no /info). */
  readonly onAgentInfo?: (info: AgentInfo | undefined) => void
  /** Jitter source for retries (tests). */
  readonly random?: () => number
  /** Client-side stats: fed every chunk taken off the queue, and P0 chunks dropped when the agent allows it. */
  readonly stats?: ClientStats
}

/** What the exporter did so far. Traces are counted as chunks, as the agent counts them. */
export interface ExporterHealth {
  tracesSent: number
  spansSent: number
  bytesSent: number
  payloadsSent: number
  tracesDropped: number
  spansDropped: number
  /**
   * Dropped traces by reason: `queue_full`, `too_large`, `network`, `status_<code>`, `shutdown`,
   * `trace_id_zero`.
   */
  droppedByReason: Record<string, number>
  /** Dropped spans by reason, including spans dropped on their own (`span_id_zero`, `too_large`). */
  spansDroppedByReason: Record<string, number>
  /** Attempts after the first, for any reason. */
  retries: number
  /** Payloads refused with 413 and sent again in halves. */
  payloadsSplit: number
  /** The last failure, e.g. `ECONNREFUSED` or `HTTP 400: ...`; undefined after a success. */
  lastError: string | undefined
  queuedSpans: number
  /** Requests in flight or waiting for a retry, and their payload bytes. */
  inFlightRequests: number
  inFlightBytes: number
  /** The format the next payload goes out in. */
  protocolVersion: ProtocolVersion
  /** The payload size limit in force: the option, lowered by `/info` or by a 413. */
  maxPayloadBytes: number
  /** What discovery found: `known` (then `agent` is set), `absent` (no /info), `failed`, `pending`, `unknown`. */
  discovery: string
  agent: { version: string | undefined; endpoints: string[]; clientDropP0s: boolean; spanEvents: boolean; maxRequestBytes: number | undefined } | undefined
  /** Client-side stats and P0 dropping; undefined when stats computation is off. */
  stats: ClientStatsHealth | undefined
}

interface Payload extends EncodedPayload {
  /** Client-stats headers (computed stats, dropped P0 counts). */
  readonly headers: Readonly<Record<string, string>> | undefined
  /** Sent, or dropped and counted. */
  settled: boolean
}

function traces(count: number): string {
  return count === 1 ? '1 trace' : `${count} traces`
}

function errorCode(err: unknown): string {
  if (err !== null && typeof err === 'object') {
    const e = err as { code?: unknown; cause?: unknown; name?: unknown; message?: unknown }
    if (typeof e.code === 'string' && e.code !== 'UND_ERR_SOCKET' && e.cause !== undefined) return errorCode(e.cause)
    if (typeof e.code === 'string') return e.code
    if (e.cause !== undefined) return errorCode(e.cause)
    if (typeof e.name === 'string' && e.name !== 'Error') return e.name
    if (typeof e.message === 'string') return e.message
  }
  return String(err)
}

const MIN_PAYLOAD_BYTES = 1024
function noop(): void {}
const PATHS: Readonly<Record<ProtocolVersion, string>> = { '0.4': '/v0.4/traces', '0.5': '/v0.5/traces' }

/**
 * Batches finished chunks and sends them to the agent. `export` only queues the chunk: on the next turn
 * of the event loop it is encoded into the open payload (so its spans die young and only bytes wait),
 * and the payload goes out on a timer (unref'd), on a size threshold, or on `flush`, always with tracing
 * suppressed so the exporter's own requests are never traced. Before the first payload it asks the agent's `/info`
 * (briefly), and follows it: v0.5 when it is there and preferred, the agent's payload limit. A payload
 * the agent could not take is retried with backoff inside a deadline (network errors, timeouts, 408,
 * 429, 5xx), split (413), re-sent as v0.4 (404/415 on v0.5), or dropped and counted (400 and the rest).
 * Memory is bounded by the span queue and the in-flight budget (requests and bytes), so an agent that
 * hangs costs the app dropped traces, never memory.
 */
export class AgentExporter implements Exporter {
  readonly #url: URL
  readonly #flushIntervalMs: number
  readonly #maxQueueSpans: number
  readonly #flushThresholdBytes: number
  readonly #maxInFlight: number
  readonly #maxInFlightBytes: number
  readonly #requestTimeoutMs: number
  readonly #preference: ProtocolPreference
  readonly #retry: RetryOptions
  readonly #discoveryWaitMs: number
  readonly #diagnostics: Diagnostics
  readonly #transport: Transport
  readonly #discovery: AgentDiscovery | undefined
  readonly #stats: ClientStats | undefined
  readonly #onRates: ((rates: Readonly<Record<string, number>>) => void) | undefined
  readonly #baseHeaders: Readonly<Record<string, string>>
  readonly #health: ExporterHealth
  readonly #configuredMaxPayload: number
  readonly #builder: PayloadBuilder
  readonly #pool: BufferPool | undefined
  #v05Refused = false

  /** Chunks exported since the last turn, not yet encoded. */
  #pending: CoreSpan[][] = []
  #pendingSpans = 0
  /** Closed payloads waiting for a request slot. */
  readonly #ready: Payload[] = []
  #readySpans = 0
  readonly #closedNow: EncodedPayload[] = []
  /** The flush interval ended while no request slot was free: the open payload goes with the next slot. */
  #overdue = false
  #timer: NodeJS.Timeout | undefined
  /** The pending chunks' encoding turn. */
  #soon: NodeJS.Immediate | undefined
  readonly #onSoonBound = (): void => this.#onSoon()
  #discoveryWait: NodeJS.Timeout | undefined
  #waitingForDiscovery = false
  readonly #inFlight = new Set<Promise<void>>()
  readonly #sleepers = new Set<() => void>()
  #failing = false
  #closed = false

  constructor(options: AgentExporterOptions) {
    this.#url = options.url
    this.#flushIntervalMs = options.flushIntervalMs ?? 2000
    this.#maxQueueSpans = options.maxQueueSpans ?? 100_000
    this.#flushThresholdBytes = options.flushThresholdBytes ?? 1024 * 1024
    this.#maxInFlight = options.maxInFlight ?? 2
    this.#maxInFlightBytes = options.maxInFlightBytes ?? 16 * 1024 * 1024
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 2000
    this.#preference = options.protocolVersion ?? DEFAULT_PROTOCOL
    this.#retry = {
      deadlineMs: options.retryDeadlineMs ?? 15_000,
      baseDelayMs: options.retryBaseDelayMs ?? 100,
      maxDelayMs: options.retryMaxDelayMs ?? 2000,
      random: options.random
    }
    this.#discoveryWaitMs = options.discoveryWaitMs ?? 500
    this.#diagnostics = options.diagnostics
    this.#transport = options.transport ?? new SocketTransport(options.url)
    this.#configuredMaxPayload = options.maxPayloadBytes ?? 8 * 1024 * 1024
    // Payload buffers are reused once the agent has answered, which only our own transport promises:
    // it holds no body past its answer. A transport given in the options may keep what it was sent.
    const pool = options.bufferPool ?? (options.transport === undefined ? new BufferPool() : undefined)
    this.#pool = pool
    this.#builder = new PayloadBuilder(
      options.decorations,
      this.#configuredMaxPayload,
      {
        drop: (traceCount, spans, reason) => this.#drop(traceCount, spans, reason),
        dropSpans: (spans, reason) => this.#dropSpans(spans, reason),
        tooLarge: (name) =>
          this.#diagnostics.warn('too-large', `a span (${name}) is larger than the payload limit (${this.#builder.maxPayloadBytes} bytes) and was dropped`)
      },
      pool
    )
    this.#onRates = options.onRates
    const onAgentInfo = options.onAgentInfo
    const stats = options.stats
    this.#stats = stats
    this.#discovery =
      options.discovery === false
        ? undefined
        : new AgentDiscovery(this.#transport, Math.min(this.#requestTimeoutMs, 2000), (info) => {
            this.#applyInfo(info)
            onAgentInfo?.(info)
          })
    const identity = options.containerIdentity ?? readContainerIdentity()
    const headers: Record<string, string> = {
      'content-type': 'application/msgpack',
      'datadog-meta-lang': 'nodejs',
      'datadog-meta-lang-version': process.version,
      'datadog-meta-lang-interpreter': 'v8',
      'datadog-meta-tracer-version': TRACER_VERSION,
      // The tracer marks top-level spans itself (`_dd.top_level`).
      'datadog-client-computed-top-level': 'yes',
      // An overloaded agent then answers 429 (which is retried) instead of a 200 that drops the payload.
      'datadog-send-real-http-status': '1'
    }
    if (identity.containerId !== undefined) headers['datadog-container-id'] = identity.containerId
    if (identity.entityId !== undefined) headers['datadog-entity-id'] = identity.entityId
    this.#baseHeaders = headers
    stats?.attach(this.#transport, headers, this.#diagnostics, this.#requestTimeoutMs)
    this.#health = {
      tracesSent: 0,
      spansSent: 0,
      bytesSent: 0,
      payloadsSent: 0,
      tracesDropped: 0,
      spansDropped: 0,
      droppedByReason: {},
      spansDroppedByReason: {},
      retries: 0,
      payloadsSplit: 0,
      lastError: undefined,
      queuedSpans: 0,
      inFlightRequests: 0,
      inFlightBytes: 0,
      protocolVersion: '0.4',
      maxPayloadBytes: this.#configuredMaxPayload,
      discovery: this.#discovery === undefined ? 'off' : DiscoveryStatus.unknown,
      agent: undefined,
      stats: undefined
    }
  }

  /** A snapshot of the counters. */
  health(): ExporterHealth {
    const h = this.#health
    const info = this.#discovery?.info
    return {
      ...h,
      droppedByReason: { ...h.droppedByReason },
      spansDroppedByReason: { ...h.spansDroppedByReason },
      queuedSpans: this.#queuedSpans(),
      protocolVersion: this.#protocol(),
      maxPayloadBytes: this.#builder.maxPayloadBytes,
      discovery: this.#discovery?.status ?? 'off',
      agent:
        info === undefined
          ? undefined
          : { version: info.version, endpoints: [...info.endpoints], clientDropP0s: info.clientDropP0s, spanEvents: info.spanEvents, maxRequestBytes: info.maxRequestBytes },
      stats: this.#stats?.health()
    }
  }

  /** What `/info` said, if it answered. */
  get agentInfo(): AgentInfo | undefined {
    return this.#discovery?.info
  }

  export(chunk: CoreSpan[]): void {
    if (this.#closed) {
      this.#drop(1, chunk.length, 'shutdown')
      return
    }
    if (this.#pendingSpans + this.#readySpans + this.#builder.openSpans + chunk.length > this.#maxQueueSpans) {
      this.#drop(1, chunk.length, 'queue_full')
      this.#diagnostics.warn(
        'queue-full',
        `the export queue is full (${this.#maxQueueSpans} spans): traces are dropped until the agent at ${this.#url.href} takes them`
      )
      return
    }
    this.#pending.push(chunk)
    this.#pendingSpans += chunk.length
    if (this.#soon === undefined) this.#scheduleSoon()
  }

  /** Spans exported and not yet sent or dropped: pending, in the open payload, in closed payloads. */
  #queuedSpans(): number {
    return this.#pendingSpans + this.#builder.openSpans + this.#readySpans
  }

  #armTimer(): void {
    // Created under the suppressed store, so the timer neither keeps a request's context alive nor
    // makes the flush look like part of that request.
    this.#timer = runSuppressed(() => setTimeout(() => this.#onTimer(), this.#flushIntervalMs).unref())
  }

  /**
   * Chunks are encoded on the next turn of the event loop, so that as few spans as possible are alive
   * when a scavenge comes: the bytes surviving scavenges are what makes V8 grow its young generation,
   * and RSS with it (a 1 ms timer here doubled them: 81 against 37 KB per scavenge, Fastify 5 on Node
   * 24). The immediate is armed in the request's context, which it keeps for that turn; the encoding
   * itself runs suppressed.
   */
  #scheduleSoon(): void {
    this.#soon = setImmediate(this.#onSoonBound).unref()
  }

  #onSoon(): void {
    this.#soon = undefined
    runSuppressed(() => this.#step(false))
  }

  #onTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    runSuppressed(() => this.#step(true))
  }

  #protocol(): ProtocolVersion {
    if (this.#preference === '0.4' || this.#v05Refused) return '0.4'
    const discovery = this.#discovery
    const info = discovery?.info
    if (info !== undefined) return info.endpoints.includes(PATHS['0.5']) ? '0.5' : '0.4'
    // No /info (404): an old agent, v0.4 only. Not asked or not answered: as configured.
    if (discovery?.status === DiscoveryStatus.absent) return '0.4'
    return this.#preference === '0.5' ? '0.5' : '0.4'
  }

  #applyInfo(info: AgentInfo | undefined): void {
    this.#stats?.setAgent(info)
    const limit = info?.maxRequestBytes
    const max = Math.max(MIN_PAYLOAD_BYTES, Math.min(this.#configuredMaxPayload, limit ?? Infinity))
    if (max < this.#builder.maxPayloadBytes || (limit !== undefined && max !== this.#builder.maxPayloadBytes)) this.#setMaxPayload(max)
    this.#diagnostics.debug(
      info === undefined
        ? `the agent at ${this.#url.href} has no /info; sending v0.4`
        : `agent ${info.version ?? '?'} at ${this.#url.href}: endpoints ${info.endpoints.join(' ')}, max_request_bytes ${info.maxRequestBytes ?? '?'}, client_drop_p0s ${info.clientDropP0s}; sending v${this.#protocol()}`
    )
  }

  #setMaxPayload(bytes: number): void {
    const closed = this.#builder.setMaxPayload(bytes)
    if (closed !== undefined) this.#enqueue(closed)
  }

  #hasSlot(): boolean {
    return this.#inFlight.size < this.#maxInFlight && this.#health.inFlightBytes < this.#maxInFlightBytes
  }

  /**
   * One turn of the exporter: encodes the pending chunks, then sends what is due within the in-flight
   * budget: closed payloads, and the open one once past the size threshold or when the interval has
   * ended (`due`). While no slot is free the open payload keeps growing (up to the payload limit), so a
   * slow agent gets fewer, larger payloads.
   */
  #step(due: boolean): void {
    if (this.#closed || !this.#discovered()) return
    this.#encodePending()
    const open = this.#builder.openSpans
    if (due && open > 0) this.#overdue = true
    if (open > 0 && (this.#overdue || this.#flushIntervalMs === 0 || this.#builder.openBytes >= this.#flushThresholdBytes) && this.#hasSlot()) this.#closeOpen()
    this.#sendReady()
    if (due) this.#sendDropCounts()
    if (this.#timer === undefined && (this.#builder.openSpans > 0 || this.#stats?.pendingDrops === true)) this.#armTimer()
  }

  /**
   * False while the first payload waits (briefly) for `/info`, so that it goes out in the right format
   * and size; a changed agent state asks again without waiting.
   */
  #discovered(): boolean {
    const discovery = this.#discovery
    if (discovery !== undefined && discovery.due && !this.#waitingForDiscovery && (this.#pending.length > 0 || this.#builder.openTraces > 0)) {
      const first = discovery.status === DiscoveryStatus.unknown
      const done = discovery.refresh()
      if (first) {
        this.#waitingForDiscovery = true
        const resume = (): void => {
          if (!this.#waitingForDiscovery) return
          this.#waitingForDiscovery = false
          if (this.#discoveryWait !== undefined) clearTimeout(this.#discoveryWait)
          this.#discoveryWait = undefined
          runSuppressed(() => this.#step(false))
        }
        this.#discoveryWait = setTimeout(resume, this.#discoveryWaitMs).unref()
        void done.then(resume)
      }
    }
    return !this.#waitingForDiscovery
  }

  /**
   * Encodes the chunks exported since the last turn. Client stats see every chunk first (P0 included)
   * and keep of each what is still to be sent.
   */
  #encodePending(): void {
    const pending = this.#pending
    if (pending.length === 0) return
    this.#pending = []
    this.#pendingSpans = 0
    const protocol = this.#protocol()
    const stats = this.#stats
    const closed = this.#closedNow
    for (let i = 0; i < pending.length; i++) {
      const chunk = pending[i]
      try {
        const kept = stats === undefined ? chunk : stats.process(chunk)
        if (kept.length > 0) this.#builder.add(kept, protocol, closed)
      } catch (err) {
        // A bug of ours must cost this trace at most, never the app.
        this.#drop(1, chunk.length, 'internal')
        this.#diagnostics.warn('exporter-failed', 'encoding a trace failed unexpectedly; it was dropped', err instanceof Error ? err.stack : String(err))
      }
    }
    for (let i = 0; i < closed.length; i++) this.#enqueue(closed[i])
    closed.length = 0
  }

  #closeOpen(): void {
    this.#overdue = false
    const closed = this.#builder.close()
    if (closed !== undefined) this.#enqueue(closed)
  }

  #enqueue(encoded: EncodedPayload): void {
    this.#ready.push({ ...encoded, headers: this.#stats?.traceHeaders(true), settled: false })
    this.#readySpans += encoded.spanCount
  }

  #sendReady(): void {
    const ready = this.#ready
    while (ready.length > 0 && this.#hasSlot()) {
      const payload = ready.shift()!
      this.#readySpans -= payload.spanCount
      this.#startSend(payload)
    }
  }

  /**
   * Every chunk of the interval was dropped as P0: an empty payload still tells the agent how many,
   * since its sampler rates count them.
   */
  #sendDropCounts(): void {
    const stats = this.#stats
    if (stats?.pendingDrops !== true || this.#ready.length > 0 || this.#pending.length > 0 || !this.#hasSlot()) return
    const empty = this.#builder.empty(this.#protocol())
    if (empty !== undefined) this.#startSend({ ...empty, headers: stats.traceHeaders(true), settled: false })
  }

  #startSend(payload: Payload): void {
    const bytes = payload.bytes.length
    this.#health.inFlightBytes += bytes
    this.#health.inFlightRequests++
    const sending: Promise<void> = runSuppressed(() => this.#sendSafely(payload)).finally(() => {
      payload.settled = true
      // Sent, dropped, or handed on as parts that are new buffers: these bytes are read no more.
      this.#pool?.release(payload.bytes)
      this.#inFlight.delete(sending)
      this.#health.inFlightBytes -= bytes
      this.#health.inFlightRequests--
      // A free slot: closed payloads go at once; the open one only past the threshold or its interval,
      // so a busy app sends a few large payloads rather than a stream of small ones (bench/http.mjs,
      // Fastify: ~230 payloads a second otherwise).
      if (!this.#closed) runSuppressed(() => this.#step(false))
    })
    this.#inFlight.add(sending)
  }

  async #sendSafely(payload: Payload): Promise<void> {
    try {
      await this.#send(payload)
    } catch (err) {
      // A bug of ours must cost this payload at most, never an unhandled rejection in the app.
      this.#fail(payload, 'internal', String(err))
      this.#diagnostics.warn('exporter-failed', `sending traces failed unexpectedly; ${traces(payload.traceCount)} dropped`, err instanceof Error ? err.stack : String(err))
    }
  }

  /** Sends a payload until it is sent, dropped, or handed on as smaller or v0.4 payloads. */
  async #send(payload: Payload): Promise<void> {
    const started = Date.now()
    for (let attempt = 1; ; attempt++) {
      let response: TransportResponse | undefined
      let failure = ''
      try {
        response = await this.#transport.send(
          PATHS[payload.protocol],
          'PUT',
          { ...this.#baseHeaders, ...payload.headers, 'x-datadog-trace-count': String(payload.traceCount) },
          payload.bytes,
          this.#requestTimeoutMs
        )
      } catch (err) {
        response = undefined
        failure = errorCode(err)
        this.#diagnostics.debug(`sending ${traces(payload.traceCount)} to ${this.#url.href} failed (attempt ${attempt}): ${failure}`)
      }
      if (response !== undefined) this.#discovery?.observe(response)
      const verdict = verdictFor(response?.status, payload.protocol)
      const reason = response === undefined ? '' : response.body.trim().slice(0, 200)
      if (response !== undefined) failure = `HTTP ${response.status}${reason === '' ? '' : `: ${reason}`}`
      switch (verdict) {
        case Verdict.sent:
          this.#sent(payload, response!)
          return
        case Verdict.split:
          await this.#resend(payload, true)
          return
        case Verdict.downgrade:
          this.#v05Refused = true
          this.#diagnostics.debug(`the agent at ${this.#url.href} refused v0.5 (HTTP ${response!.status}); sending v0.4 from now on`)
          await this.#resend(payload, false)
          return
        case Verdict.drop:
          this.#fail(payload, `status_${response!.status}`, failure)
          this.#diagnostics.warn(
            `agent-status-${response!.status}`,
            `the Datadog agent at ${this.#url.href} refused a payload with HTTP ${response!.status}${reason === '' ? '' : ` (${reason})`}; ${traces(payload.traceCount)} dropped`
          )
          return
        case Verdict.retry: {
          const delay = backoffMs(attempt, this.#retry)
          if (this.#closed || Date.now() + delay - started > this.#retry.deadlineMs) {
            const dropReason = this.#closed ? 'shutdown' : response === undefined ? 'network' : `status_${response.status}`
            this.#fail(payload, dropReason, failure)
            this.#warnUnreachable(payload, failure, attempt)
            return
          }
          this.#health.retries++
          this.#health.lastError = failure
          await this.#sleep(delay)
        }
      }
    }
  }

  #warnUnreachable(payload: Payload, failure: string, attempts: number): void {
    const tries = attempts === 1 ? '' : ` after ${attempts} attempts`
    if (failure.startsWith('HTTP ')) {
      this.#diagnostics.warn(
        'agent-status',
        `the Datadog agent at ${this.#url.href} refused a payload with ${failure}${tries}; ${traces(payload.traceCount)} dropped`
      )
    } else {
      this.#diagnostics.warn(
        'agent-unreachable',
        `cannot send traces to the Datadog agent at ${this.#url.href} (${failure})${tries}; ${traces(payload.traceCount)} dropped. The app is not affected; sending resumes when the agent is back`
      )
    }
  }

  /** A retry wait: unref'd, and cut short by shutdown. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer)
        this.#sleepers.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, ms).unref()
      this.#sleepers.add(wake)
    })
  }

  /**
   * Sends a refused payload again: in halves after a 413 (the agent's limit is lower than the payload:
   * the limit in force halves too), or as v0.4 after v0.5 was refused. Both work on the payload's bytes,
   * its spans being long gone. Runs inside the same in-flight slot, so the budget holds.
   */
  async #resend(payload: Payload, split: boolean): Promise<void> {
    if (!split) {
      const v04 = payload.protocol === '0.5' ? transcodeV05ToV04(payload) : undefined
      if (v04 === undefined) {
        this.#fail(payload, 'protocol', 'v0.5 refused')
        return
      }
      await this.#send({ ...v04, headers: payload.headers, settled: false })
      return
    }
    this.#health.payloadsSplit++
    const parts = splitPayload(payload)
    if (parts === undefined) {
      this.#fail(payload, 'too_large', 'HTTP 413')
      this.#diagnostics.warn('too-large', `the agent at ${this.#url.href} refused a single span of ${payload.bytes.length} bytes as too large; it was dropped`)
      return
    }
    // Later payloads stay under half of this one. Each half holds fewer spans than the refused payload
    // (by traces, or by spans of a lone trace), so repeated 413s end, at worst, in single spans that
    // are dropped.
    const limit = Math.max(MIN_PAYLOAD_BYTES, payload.bytes.length >> 1)
    if (limit < this.#builder.maxPayloadBytes) this.#setMaxPayload(limit)
    this.#diagnostics.debug(`the agent refused ${payload.bytes.length} bytes with 413; payloads are now kept under ${this.#builder.maxPayloadBytes} bytes`)
    await this.#send({ ...parts[0], headers: payload.headers, settled: false })
    await this.#send({ ...parts[1], headers: this.#stats?.traceHeaders(false), settled: false })
  }

  #sent(payload: Payload, response: TransportResponse): void {
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
    if (response.bodyError !== undefined) this.#diagnostics.debug(`the agent's answer was cut short (${response.bodyError}); the payload counts as sent`)
    this.#readRates(response.body)
  }

  #fail(payload: Payload, reason: string, lastError: string): void {
    this.#failing = true
    this.#health.lastError = lastError
    this.#drop(payload.traceCount, payload.spanCount, reason)
  }

  #drop(traceCount: number, spans: number, reason: string): void {
    const health = this.#health
    health.tracesDropped += traceCount
    health.droppedByReason[reason] = (health.droppedByReason[reason] ?? 0) + traceCount
    this.#dropSpans(spans, reason)
  }

  #dropSpans(spans: number, reason: string): void {
    const health = this.#health
    health.spansDropped += spans
    health.spansDroppedByReason[reason] = (health.spansDroppedByReason[reason] ?? 0) + spans
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

  /**
   * Resolves once every chunk exported before the call has been sent or dropped (retries included, so
   * at most about `retryDeadlineMs` with the agent down). Never rejects. While it runs it holds the
   * event loop open: its caller awaits it, and the retry timers themselves are unref'd.
   */
  async flush(options?: { holdOpen?: boolean }): Promise<void> {
    // Exit flushes pass holdOpen: false and cap the wait themselves; otherwise a dead agent's retries
    // would keep a finished script alive for the whole retry deadline.
    const keepAlive = options?.holdOpen === false ? undefined : setInterval(noop, 60_000)
    try {
      await this.#flush()
      // After the traces: every chunk queued before the call has been counted by then.
      await this.#stats?.flush()
    } finally {
      clearInterval(keepAlive)
    }
  }

  async #flush(): Promise<void> {
    // The first payload may be waiting for /info; once it answers (or the short wait ends) it goes on.
    runSuppressed(() => this.#discovered())
    while (this.#waitingForDiscovery) await new Promise((resolve) => setTimeout(resolve, 5).unref())
    // Only what was exported before the call is waited for, so a busy app cannot keep flush pending.
    runSuppressed(() => {
      this.#encodePending()
      this.#closeOpen()
    })
    const targets = [...this.#ready]
    runSuppressed(() => {
      this.#sendReady()
      this.#sendDropCounts()
    })
    const inFlight = [...this.#inFlight]
    while (targets.some((payload) => !payload.settled)) {
      if (this.#inFlight.size === 0) {
        runSuppressed(() => this.#sendReady())
        if (this.#inFlight.size === 0) break
      }
      await Promise.race(this.#inFlight)
      runSuppressed(() => this.#sendReady())
    }
    await Promise.allSettled(inFlight)
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
    this.#waitingForDiscovery = false
    if (this.#discoveryWait !== undefined) clearTimeout(this.#discoveryWait)
    // Payloads waiting for a retry give up now and count as dropped at shutdown.
    for (const wake of [...this.#sleepers]) wake()
    if (this.#soon !== undefined) clearImmediate(this.#soon)
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#soon = undefined
    this.#timer = undefined
    this.#stats?.close()
    for (const chunk of this.#pending) this.#drop(1, chunk.length, 'shutdown')
    this.#pending = []
    this.#pendingSpans = 0
    const open = this.#builder.close()
    if (open !== undefined) this.#drop(open.traceCount, open.spanCount, 'shutdown')
    for (const payload of this.#ready.splice(0)) this.#drop(payload.traceCount, payload.spanCount, 'shutdown')
    this.#readySpans = 0
    await this.#transport.close()
  }

  /** True while chunks or payloads wait or a request is in flight. */
  get pending(): boolean {
    return this.#queuedSpans() > 0 || this.#inFlight.size > 0
  }
}
