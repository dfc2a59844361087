import { runSuppressed } from '../model/context.js'
import type { Diagnostics } from '../base/diagnostics.js'
import { failureStage, type Transport, type TransportResponse } from '../agent-client/transport.js'
import { STATS_ENDPOINT, STATS_LANG, type ClientStats, type StatsPayload } from '../stats/client-stats.js'
import type { ClientStatsHealth } from './health.js'
import { Verdict, backoffMs, verdictFor } from './retry.js'
import { errorCode } from './send-policy.js'

export interface StatsSenderOptions {
  readonly transport: Transport
  /** The exporter's headers (language, tracer version, container id); the language is replaced by the stats one. */
  readonly headers: Readonly<Record<string, string>>
  readonly diagnostics: Diagnostics
  readonly requestTimeoutMs: number
  /** How often finished buckets are sent. Default 10000. */
  readonly intervalMs?: number
}

const MAX_ATTEMPTS = 3
const RETRY = { deadlineMs: 0, baseDelayMs: 250, maxDelayMs: 1000 }

/**
 * Sends what client-side stats computed to `PUT /v0.6/stats`, over the exporter's transport: finished
 * buckets every `intervalMs` (an unref'd timer armed by the first chunk counted) and everything at
 * flush. A payload the agent cannot have received is retried twice, briefly. One it may have received
 * (written whole, then no answer) is not sent again: stats are counts that the agent adds up, so a
 * second copy would double them, where losing one loses ten seconds of them.
 */
export class StatsSender {
  readonly #stats: ClientStats
  readonly #transport: Transport
  readonly #headers: Readonly<Record<string, string>>
  readonly #diagnostics: Diagnostics
  readonly #timeoutMs: number
  readonly #intervalMs: number
  readonly #sending = new Set<Promise<void>>()
  #timer: NodeJS.Timeout | undefined
  #closed = false
  readonly #counts = { payloadsSent: 0, bytesSent: 0, payloadsFailed: 0, payloadsMaybeDelivered: 0, lastError: undefined as string | undefined }

  constructor(stats: ClientStats, options: StatsSenderOptions) {
    this.#stats = stats
    this.#transport = options.transport
    this.#headers = { ...options.headers, 'datadog-meta-lang': STATS_LANG }
    this.#diagnostics = options.diagnostics
    this.#timeoutMs = options.requestTimeoutMs
    this.#intervalMs = options.intervalMs ?? 10_000
  }

  /** Arms the interval timer once stats are being counted. */
  start(): void {
    if (this.#timer !== undefined || this.#closed || !this.#stats.active) return
    this.#timer = runSuppressed(() => setInterval(() => this.#sendTaken(false), this.#intervalMs).unref())
  }

  /** Sends every bucket, the current partial one included, and waits for what is being sent. Never rejects. */
  async flush(): Promise<void> {
    this.#sendTaken(true)
    await Promise.allSettled([...this.#sending])
  }

  /** Stops the timer and the counting; what is left was sent by the last flush. */
  close(): void {
    this.#closed = true
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    this.#stats.close()
  }

  health(): ClientStatsHealth {
    return { ...this.#stats.health(), ...this.#counts }
  }

  #sendTaken(all: boolean): void {
    // The stats requests are the tracer's own: never traced, whatever context armed the timer.
    const sending: Promise<void> = runSuppressed(() => this.#sendAll(this.#stats.takePayloads(all)))
      .catch((err: unknown) => this.#diagnostics.warn('stats-failed', 'sending client-side stats failed unexpectedly', err instanceof Error ? err.stack : String(err)))
      .finally(() => this.#sending.delete(sending))
    this.#sending.add(sending)
  }

  async #sendAll(payloads: StatsPayload[]): Promise<void> {
    for (const payload of payloads) {
      const headers =
        payload.obfuscationVersion === undefined ? this.#headers : { ...this.#headers, 'datadog-obfuscation-version': String(payload.obfuscationVersion) }
      await this.#sendOne(headers, payload.body)
    }
  }

  async #sendOne(headers: Readonly<Record<string, string>>, body: Buffer): Promise<void> {
    const counts = this.#counts
    for (let attempt = 1; ; attempt++) {
      let response: TransportResponse | undefined
      let failure: string
      let unanswered = false
      try {
        response = await this.#transport.send(STATS_ENDPOINT, 'PUT', { ...headers }, body, this.#timeoutMs)
        failure = `HTTP ${response.status}`
      } catch (err) {
        failure = errorCode(err)
        unanswered = failureStage(err) === 'maybe-delivered'
      }
      const verdict = verdictFor(response?.status, '0.4')
      if (verdict === Verdict.sent) {
        counts.payloadsSent++
        counts.bytesSent += body.length
        counts.lastError = undefined
        return
      }
      counts.lastError = failure
      if (unanswered) {
        counts.payloadsMaybeDelivered++
        this.#diagnostics.warn('stats-unanswered', `the agent did not answer a client-side stats payload (${failure}); it is not sent again, 10 s of stats may be missing`)
        return
      }
      if (verdict !== Verdict.retry || attempt >= MAX_ATTEMPTS || this.#closed) {
        counts.payloadsFailed++
        this.#diagnostics.warn('stats-send-failed', `sending client-side stats to the agent failed (${failure}); 10 s of stats were lost`)
        return
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt, RETRY)).unref())
    }
  }
}
