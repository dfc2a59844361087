import { runSuppressed } from '../model/context.js'
import type { Diagnostics } from '../base/diagnostics.js'
import type { AgentInfo } from '../export/agent-info.js'
import { backoffMs, Verdict, verdictFor } from '../export/retry.js'
import type { Transport, TransportResponse } from '../agent-client/transport.js'
import type { CoreSpan } from '../model/span.js'
import { TRACER_VERSION } from '../base/version.js'
import { StatsConcentrator, type FlushedBucket } from './concentrator.js'
import { keptOfP0 } from './p0-drop.js'
import { encodeStatsPayloads, type StatsPayloadMeta } from './stats-payload.js'

export const STATS_ENDPOINT = '/v0.6/stats'
function noop(): void {}
/** The obfuscation this tracer does for stats resources (SQL, Redis), as the agent numbers it. */
export const STATS_OBFUSCATION_VERSION = 1

/** Options of client-side stats; the tracer fills them from its config. */
export interface ClientStatsOptions {
  readonly service: string
  readonly env?: string
  readonly version?: string
  readonly runtimeId: string
  /** Default '': the agent puts its own hostname, as it does on the traces. */
  readonly hostname?: string
  /** Default 10000. */
  readonly bucketSizeMs?: number
  /** How often finished buckets are sent. Default 10000. */
  readonly flushIntervalMs?: number
  /** Default 2000 (see `ConcentratorOptions`). */
  readonly maxGroupsPerBucket?: number
  /** Largest stats payload; larger ones are split. Default 4 MiB. */
  readonly maxPayloadBytes?: number
  /** Epoch ms (tests). Default Date.now. */
  readonly now?: () => number
}

/** What client-side stats did so far. */
export interface ClientStatsHealth {
  /** Stats are computed now (enabled, and the agent takes them). */
  active: boolean
  /** P0 chunks are dropped before encoding (the agent's /info says `client_drop_p0s`). */
  dropP0s: boolean
  /** SQL and Redis resources are obfuscated here (the agent's `obfuscation_version` is 1). */
  obfuscating: boolean
  spansCounted: number
  payloadsSent: number
  bytesSent: number
  payloadsFailed: number
  /** Groups lost because one alone did not fit a payload. */
  groupsDropped: number
  /** Spans that went to the overflow group (`tracer_blocked_value`) past the group limit. */
  overflowSpans: number
  droppedP0Traces: number
  droppedP0Spans: number
  lastError: string | undefined
}

/**
 * Client-side stats and P0 dropping, as libdatadog's trace exporter does them. The agent exporter hands
 * every chunk to `process` when it takes it off its queue (never on the request path): all of them count
 * in the stats, then rejected chunks are dropped when the agent allows it. Finished buckets go to
 * `PUT /v0.6/stats` every `flushIntervalMs` (unref'd timer) and at flush/shutdown.
 */
export class ClientStats {
  readonly #concentrator: StatsConcentrator
  readonly #meta: StatsPayloadMeta
  readonly #intervalMs: number
  readonly #maxPayloadBytes: number
  #transport: Transport | undefined
  #headers: Record<string, string> = {}
  #timeoutMs = 2000
  #diagnostics: Diagnostics | undefined
  #active = true
  #dropP0s = false
  #timer: NodeJS.Timeout | undefined
  #sequence = 1
  #pendingTraces = 0
  #pendingSpans = 0
  #closed = false
  readonly #sending = new Set<Promise<void>>()
  readonly #health: ClientStatsHealth

  constructor(options: ClientStatsOptions) {
    this.#concentrator = new StatsConcentrator({
      service: options.service,
      bucketSizeMs: options.bucketSizeMs,
      maxGroupsPerBucket: options.maxGroupsPerBucket,
      now: options.now
    })
    this.#meta = {
      service: options.service,
      env: options.env ?? '',
      version: options.version ?? '',
      runtimeId: options.runtimeId,
      tracerVersion: TRACER_VERSION,
      lang: 'nodejs',
      hostname: options.hostname ?? ''
    }
    this.#intervalMs = options.flushIntervalMs ?? 10_000
    this.#maxPayloadBytes = options.maxPayloadBytes ?? 4 * 1024 * 1024
    this.#health = {
      active: true,
      dropP0s: false,
      obfuscating: false,
      spansCounted: 0,
      payloadsSent: 0,
      bytesSent: 0,
      payloadsFailed: 0,
      groupsDropped: 0,
      overflowSpans: 0,
      droppedP0Traces: 0,
      droppedP0Spans: 0,
      lastError: undefined
    }
  }

  /** Called once by the exporter: stats go out over its transport, with its headers. */
  attach(transport: Transport, headers: Readonly<Record<string, string>>, diagnostics: Diagnostics, timeoutMs: number): void {
    this.#transport = transport
    this.#headers = { ...headers }
    this.#diagnostics = diagnostics
    this.#timeoutMs = timeoutMs
  }

  /**
   * What `/info` said (undefined: the agent has none). Stats stay on unless the agent is known not to
   * take them; P0 chunks are dropped only when it says `client_drop_p0s`.
   */
  setAgent(info: AgentInfo | undefined): void {
    this.#active = info !== undefined && info.endpoints.includes(STATS_ENDPOINT)
    this.#dropP0s = this.#active && info?.clientDropP0s === true
    const reader = this.#concentrator.reader
    const obfuscationVersion = info?.obfuscationVersion ?? 0
    reader.obfuscate = obfuscationVersion >= 1 && obfuscationVersion <= STATS_OBFUSCATION_VERSION
    reader.peerTagKeys = info?.peerTags ?? []
    this.#diagnostics?.debug(
      `client stats ${this.#active ? 'on' : 'off (the agent has no /v0.6/stats)'}; P0 dropping ${this.#dropP0s ? 'on' : 'off'}; stats obfuscation ${reader.obfuscate ? 'on' : 'off'}`
    )
  }

  get active(): boolean {
    return this.#active && !this.#closed
  }

  /**
   * Counts a chunk in the stats and returns what of it to send: the chunk, the spans of it that
   * single-span sampling kept, or an empty array when the whole chunk is dropped.
   */
  process(chunk: readonly CoreSpan[]): readonly CoreSpan[] {
    if (!this.#active || this.#closed) return chunk
    try {
      this.#concentrator.addChunk(chunk)
    } catch (err) {
      // A bug of ours costs the stats of this chunk, never the trace.
      this.#diagnostics?.warn('stats-failed', 'computing client-side stats failed for a trace', err instanceof Error ? err.stack : String(err))
    }
    this.#timer ??= setInterval(() => this.#tick(), this.#intervalMs).unref()
    if (!this.#dropP0s) return chunk
    const kept = keptOfP0(chunk)
    if (kept.length < chunk.length) {
      const spans = chunk.length - kept.length
      const traces = kept.length === 0 ? 1 : 0
      this.#pendingSpans += spans
      this.#pendingTraces += traces
      this.#health.droppedP0Spans += spans
      this.#health.droppedP0Traces += traces
    }
    return kept
  }

  /** Dropped P0 counts not yet reported to the agent. */
  get pendingDrops(): boolean {
    return this.#pendingTraces > 0 || this.#pendingSpans > 0
  }

  /**
   * Headers for a trace payload while stats are on: `Datadog-Client-Computed-Stats`, and with `report`
   * the P0 counts dropped since the last report (which then start again from zero).
   */
  traceHeaders(report: boolean): Record<string, string> | undefined {
    if (!this.#active) return undefined
    const headers: Record<string, string> = { 'datadog-client-computed-stats': 'yes' }
    if (report && (this.#dropP0s || this.pendingDrops)) {
      headers['datadog-client-dropped-p0-traces'] = String(this.#pendingTraces)
      headers['datadog-client-dropped-p0-spans'] = String(this.#pendingSpans)
      this.#pendingTraces = 0
      this.#pendingSpans = 0
    }
    return headers
  }

  #tick(): void {
    // The stats requests are the tracer's own: never traced, whatever context armed the timer.
    this.#track(runSuppressed(() => this.#send(this.#concentrator.flush(false))))
  }

  #track(sending: Promise<void>): void {
    // A bug of ours costs these stats at most, never an unhandled rejection in the app.
    const settled: Promise<void> = sending
      .catch((err: unknown) => this.#diagnostics?.warn('stats-failed', 'sending client-side stats failed unexpectedly', err instanceof Error ? err.stack : String(err)))
      .finally(() => this.#sending.delete(settled))
    this.#sending.add(settled)
  }

  /** Sends every bucket, the current partial one included. Never rejects; holds the event loop open while it runs. */
  async flush(): Promise<void> {
    const keepAlive = setInterval(noop, 60_000)
    try {
      this.#track(runSuppressed(() => this.#send(this.#concentrator.flush(true))))
      await Promise.allSettled([...this.#sending])
    } finally {
      clearInterval(keepAlive)
    }
  }

  /** Stops the timer; what is left was sent by the exporter's last flush. */
  close(): void {
    this.#closed = true
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }

  async #send(buckets: FlushedBucket[]): Promise<void> {
    const health = this.#health
    for (const bucket of buckets) health.overflowSpans += bucket.overflowSpans
    const transport = this.#transport
    if (transport === undefined || buckets.length === 0) return
    for (const obfuscated of [false, true]) {
      const part = buckets.filter((b) => b.obfuscated === obfuscated)
      if (part.length === 0) continue
      let encoded: { payloads: Buffer[]; droppedGroups: number }
      try {
        encoded = encodeStatsPayloads(this.#meta, this.#sequence, part, this.#maxPayloadBytes)
      } catch (err) {
        this.#diagnostics?.warn('stats-failed', 'encoding client-side stats failed; they were dropped', err instanceof Error ? err.stack : String(err))
        continue
      }
      this.#sequence += encoded.payloads.length
      health.groupsDropped += encoded.droppedGroups
      const headers = obfuscated ? { ...this.#headers, 'datadog-obfuscation-version': String(STATS_OBFUSCATION_VERSION) } : this.#headers
      for (const body of encoded.payloads) await this.#sendOne(transport, headers, body)
    }
  }

  /** One payload, retried briefly on network errors, 408, 429 and 5xx. */
  async #sendOne(transport: Transport, headers: Record<string, string>, body: Buffer): Promise<void> {
    const health = this.#health
    for (let attempt = 1; ; attempt++) {
      let response: TransportResponse | undefined
      let failure: string
      try {
        response = await transport.send(STATS_ENDPOINT, 'PUT', headers, body, this.#timeoutMs)
        failure = `HTTP ${response.status}`
      } catch (err) {
        failure = err instanceof Error ? ((err as { code?: string }).code ?? err.message) : String(err)
      }
      const verdict = verdictFor(response?.status, '0.4')
      if (verdict === Verdict.sent) {
        health.payloadsSent++
        health.bytesSent += body.length
        health.lastError = undefined
        return
      }
      if (verdict !== Verdict.retry || attempt >= 3 || this.#closed) {
        health.payloadsFailed++
        health.lastError = failure
        this.#diagnostics?.warn('stats-send-failed', `sending client-side stats to the agent failed (${failure}); 10 s of stats were lost`)
        return
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt, { deadlineMs: 0, baseDelayMs: 250, maxDelayMs: 1000 })).unref())
    }
  }

  health(): ClientStatsHealth {
    const reader = this.#concentrator.reader
    return {
      ...this.#health,
      active: this.active,
      dropP0s: this.#dropP0s,
      obfuscating: reader.obfuscate,
      spansCounted: this.#concentrator.spansCounted
    }
  }
}
