import type { Diagnostics } from '../base/diagnostics.js'
import { failureStage, type Transport, type TransportResponse } from '../agent-client/transport.js'
import type { EncodedPayload } from '../wire/encode-span.js'
import { splitPayload, transcodeV05ToV04 } from '../wire/payload-parts.js'
import type { HealthCounters } from './health.js'
import { Verdict, backoffMs, verdictFor, type RetryOptions } from './retry.js'

/** A trace payload on its way to the agent. */
export interface OutgoingPayload extends EncodedPayload {
  /** Headers of this payload only (client stats: computed stats, dropped P0 counts). */
  readonly headers: Readonly<Record<string, string>> | undefined
}

export interface SendPolicyOptions {
  readonly transport: Transport
  /** The agent, for messages. */
  readonly url: URL
  /** Headers of every trace payload. */
  readonly headers: Readonly<Record<string, string>>
  readonly requestTimeoutMs: number
  readonly retry: RetryOptions
  readonly health: HealthCounters
  readonly diagnostics: Diagnostics
  /** Every answer of the agent, whatever its status (discovery watches its state header). */
  readonly onAnswer: (response: TransportResponse) => void
  /** The agent took a payload (its answer carries the sampling rates). */
  readonly onAccepted: (response: TransportResponse) => void
  /** The agent refused v0.5 (404 or 415): later payloads go as v0.4. */
  readonly onV05Refused: () => void
  /** The agent refused a payload as too large: later payloads stay under `limitBytes`. */
  readonly onTooLarge: (limitBytes: number) => void
  /** Headers for the second half of a split payload (the first half keeps the payload's own). */
  readonly partHeaders: () => Readonly<Record<string, string>> | undefined
}

const PATHS = { '0.4': '/v0.4/traces', '0.5': '/v0.5/traces' } as const
const MIN_PAYLOAD_BYTES = 1024

function traces(count: number): string {
  return count === 1 ? '1 trace' : `${count} traces`
}

/** A stable code for a failure (`ECONNREFUSED`, `ETIMEDOUT`, ...). */
export function errorCode(err: unknown): string {
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

/** The class name of a failure, as dd-trace tags its exporter errors (`TransportError`, `Error`...). */
function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err
}

/**
 * What happens to a trace payload once it leaves the queue: the delivery rules.
 *
 * - The agent cannot have the payload (the connection was refused, or reset or timed out before the
 *   whole body was written: the transport's stage `not-sent`; or it answered 408, 429 or 5xx): it is
 *   sent again after a backoff (doubling, with jitter) until `retryDeadlineMs` after its first attempt.
 * - The agent may have the payload (the whole body was written, then no answer came: a timeout, a
 *   reset: stage `maybe-delivered`): it is sent at most once more, and counted in
 *   `payloadsMaybeDelivered`. If that attempt reaches the agent without being accepted either, the
 *   payload is given up and counted in `tracesMaybeDelivered`: a slow agent receives a payload at most
 *   twice, never once per retry.
 * - 413: the agent's limit is lower than the payload; it is sent again in halves, and later payloads
 *   stay under half its size. 404 or 415 on v0.5: sent again as v0.4, and v0.4 is used from then on.
 *   Both refusals depend only on the bytes, so an earlier unanswered copy was refused too.
 * - 400 and any other status: retrying cannot help; dropped.
 *
 * Every payload ends sent, dropped with a reason (`droppedByReason`), or maybe delivered: nothing is
 * lost without a count. Retry waits are unref'd and cut short by `close()` (shutdown), after which a
 * payload waiting for a retry is dropped as `shutdown` (or maybe delivered, if an attempt may have
 * reached the agent).
 */
export class SendPolicy {
  readonly #transport: Transport
  readonly #url: string
  readonly #headers: Readonly<Record<string, string>>
  readonly #requestTimeoutMs: number
  readonly #retry: RetryOptions
  readonly #health: HealthCounters
  readonly #diagnostics: Diagnostics
  readonly #options: SendPolicyOptions
  readonly #sleepers = new Set<() => void>()
  #failing = false
  #closed = false

  constructor(options: SendPolicyOptions) {
    this.#transport = options.transport
    this.#url = options.url.href
    this.#headers = options.headers
    this.#requestTimeoutMs = options.requestTimeoutMs
    this.#retry = options.retry
    this.#health = options.health
    this.#diagnostics = options.diagnostics
    this.#options = options
  }

  /** Sends `payload` until it is sent, dropped, given up as maybe delivered, or handed on in parts. Never rejects. */
  async send(payload: OutgoingPayload): Promise<void> {
    try {
      await this.#send(payload)
    } catch (err) {
      // A bug of ours must cost this payload at most, never an unhandled rejection in the app.
      this.#fail(payload, 'internal', String(err))
      this.#diagnostics.warn('exporter-failed', `sending traces failed unexpectedly; ${traces(payload.traceCount)} dropped`, err instanceof Error ? err.stack : String(err))
    }
  }

  /** Shutdown: retry waits end now, and no payload is attempted again. */
  close(): void {
    this.#closed = true
    for (const wake of [...this.#sleepers]) wake()
  }

  async #send(payload: OutgoingPayload): Promise<void> {
    const started = Date.now()
    // An earlier attempt wrote the whole payload and got no answer: the agent may have it.
    let mayHaveIt = false
    for (let attempt = 1; ; attempt++) {
      let response: TransportResponse | undefined
      let failure = ''
      let unanswered = false
      this.#health.request()
      try {
        response = await this.#transport.send(
          PATHS[payload.protocol],
          'PUT',
          { ...this.#headers, ...payload.headers, 'x-datadog-trace-count': String(payload.traceCount) },
          payload.bytes,
          this.#requestTimeoutMs
        )
      } catch (err) {
        failure = errorCode(err)
        unanswered = failureStage(err) === 'maybe-delivered'
        this.#health.unanswered(errorName(err), failure)
        this.#diagnostics.debug(`sending ${traces(payload.traceCount)} to ${this.#url} failed (attempt ${attempt}, ${unanswered ? 'maybe delivered' : 'not sent'}): ${failure}`)
      }
      let reason = ''
      if (response !== undefined) {
        this.#health.answered(response.status)
        this.#options.onAnswer(response)
        reason = response.body.trim().slice(0, 200)
        failure = `HTTP ${response.status}${reason === '' ? '' : `: ${reason}`}`
      }
      switch (verdictFor(response?.status, payload.protocol)) {
        case Verdict.sent:
          this.#sent(payload, response!)
          return
        case Verdict.split:
          await this.#split(payload)
          return
        case Verdict.downgrade:
          this.#options.onV05Refused()
          this.#diagnostics.debug(`the agent at ${this.#url} refused v0.5 (HTTP ${response!.status}); sending v0.4 from now on`)
          await this.#downgrade(payload)
          return
        case Verdict.drop:
          this.#fail(payload, `status_${response!.status}`, failure)
          this.#diagnostics.warn(
            `agent-status-${response!.status}`,
            `the Datadog agent at ${this.#url} refused a payload with HTTP ${response!.status}${reason === '' ? '' : ` (${reason})`}; ${traces(payload.traceCount)} dropped`
          )
          return
        case Verdict.retry:
          break
      }
      if (unanswered) this.#health.counts.payloadsMaybeDelivered++
      // The one more attempt after an unanswered one reached the agent again: no third copy.
      if (mayHaveIt && (unanswered || response !== undefined)) {
        this.#giveUp(payload, failure, attempt)
        return
      }
      mayHaveIt ||= unanswered
      const delay = backoffMs(attempt, this.#retry)
      if (this.#closed || Date.now() + delay - started > this.#retry.deadlineMs) {
        if (mayHaveIt) this.#giveUp(payload, failure, attempt)
        else {
          this.#fail(payload, this.#closed ? 'shutdown' : response === undefined ? 'network' : `status_${response.status}`, failure)
          this.#warnUnreachable(payload, failure, attempt)
        }
        return
      }
      this.#health.counts.retries++
      this.#health.counts.lastError = failure
      await this.#sleep(delay)
      if (this.#closed) {
        if (mayHaveIt) this.#giveUp(payload, failure, attempt)
        else this.#fail(payload, 'shutdown', failure)
        return
      }
    }
  }

  /** The agent may have the payload, and it is not sent again. */
  #giveUp(payload: OutgoingPayload, failure: string, attempts: number): void {
    this.#failing = true
    this.#health.counts.lastError = failure
    this.#health.maybeDelivered(payload.traceCount, payload.spanCount)
    this.#diagnostics.warn(
      'agent-unanswered',
      `the Datadog agent at ${this.#url} did not answer (${failure}) after ${attempts} attempts; ${traces(payload.traceCount)} may not have arrived and are not sent again`
    )
  }

  #warnUnreachable(payload: OutgoingPayload, failure: string, attempts: number): void {
    const tries = attempts === 1 ? '' : ` after ${attempts} attempts`
    if (failure.startsWith('HTTP ')) {
      this.#diagnostics.warn('agent-status', `the Datadog agent at ${this.#url} refused a payload with ${failure}${tries}; ${traces(payload.traceCount)} dropped`)
    } else {
      this.#diagnostics.warn(
        'agent-unreachable',
        `cannot send traces to the Datadog agent at ${this.#url} (${failure})${tries}; ${traces(payload.traceCount)} dropped. The app is not affected; sending resumes when the agent is back`
      )
    }
  }

  /** A retry wait: unref'd, and cut short by `close()`. */
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
   * After a 413: the payload again in halves, made from its bytes (its spans are long gone), in the
   * same request slot so the in-flight budget holds. The limit in force halves too; each half holds
   * fewer spans than the refused payload (by traces, or by spans of a lone trace), so repeated 413s
   * end, at worst, in single spans that are dropped.
   */
  async #split(payload: OutgoingPayload): Promise<void> {
    this.#health.counts.payloadsSplit++
    const parts = splitPayload(payload)
    if (parts === undefined) {
      this.#fail(payload, 'too_large', 'HTTP 413')
      this.#diagnostics.warn('too-large', `the agent at ${this.#url} refused a single span of ${payload.bytes.length} bytes as too large; it was dropped`)
      return
    }
    const limit = Math.max(MIN_PAYLOAD_BYTES, payload.bytes.length >> 1)
    this.#options.onTooLarge(limit)
    this.#diagnostics.debug(`the agent refused ${payload.bytes.length} bytes with 413; payloads are now kept under ${limit} bytes`)
    await this.#send({ ...parts[0], headers: payload.headers })
    await this.#send({ ...parts[1], headers: this.#options.partHeaders() })
  }

  /** After v0.5 was refused: the same traces as v0.4. */
  async #downgrade(payload: OutgoingPayload): Promise<void> {
    const v04 = payload.protocol === '0.5' ? transcodeV05ToV04(payload) : undefined
    if (v04 === undefined) {
      this.#fail(payload, 'protocol', 'v0.5 refused')
      return
    }
    await this.#send({ ...v04, headers: payload.headers })
  }

  #sent(payload: OutgoingPayload, response: TransportResponse): void {
    this.#health.sent(payload.traceCount, payload.spanCount, payload.bytes.length)
    if (this.#failing) {
      this.#failing = false
      this.#diagnostics.reset('agent-unreachable')
      this.#diagnostics.reset('agent-status')
      this.#diagnostics.reset('agent-unanswered')
      this.#diagnostics.warn('agent-back', `the Datadog agent at ${this.#url} accepts traces again`)
    }
    if (response.bodyError !== undefined) this.#diagnostics.debug(`the agent's answer was cut short (${response.bodyError}); the payload counts as sent`)
    this.#options.onAccepted(response)
  }

  #fail(payload: OutgoingPayload, reason: string, lastError: string): void {
    this.#failing = true
    this.#health.counts.lastError = lastError
    this.#health.drop(payload.traceCount, payload.spanCount, reason)
  }
}
