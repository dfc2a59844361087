export interface TransportResponse {
  readonly status: number
  readonly body: string
  /** Header names lowercased. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  /** Set when the answer's body could not be read to its end (the status still counts). */
  readonly bodyError?: string
}

/**
 * How far a request got before it failed, which decides whether the agent may have it (the delivery
 * rules in ARCHITECTURE.md):
 * - `not-sent`: the agent cannot have received it whole (refused, reset or timed out before the last
 *   byte of the body was written to the socket); safe to send again.
 * - `maybe-delivered`: every byte was written, then no answer came (a timeout, a reset, a close): the
 *   agent may have taken it, so it is sent at most once more.
 */
export type FailureStage = 'not-sent' | 'maybe-delivered'

/** What `Transport.send` rejects with: a stable code (`ECONNREFUSED`, `ETIMEDOUT`, ...) and the stage. */
export interface TransportFailure extends Error {
  readonly code: string
  readonly stage: FailureStage
}

/** The stage of a rejection from `Transport.send`; anything without one counts as `not-sent`. */
export function failureStage(err: unknown): FailureStage {
  return (err as { stage?: unknown } | null)?.stage === 'maybe-delivered' ? 'maybe-delivered' : 'not-sent'
}

/**
 * One HTTP exchange with the agent. `send` resolves with the answer or rejects with a `TransportFailure`
 * (network errors and timeouts only; any HTTP status resolves). It settles only once the transport holds
 * no reference to `body` any more: the socket has written (or dropped) every byte of it, so the caller
 * may reuse the buffer as soon as the promise settles.
 */
export interface SendOptions {
  /**
   * The exchange does not keep the process alive (its socket is unref'd while it runs): a question the
   * tracer asks for itself, such as the startup log's `/info`, must not hold back an app that is done.
   */
  readonly background?: boolean
}

export interface Transport {
  send(
    path: string,
    method: 'PUT' | 'POST' | 'GET',
    headers: Record<string, string>,
    body: Uint8Array | undefined,
    timeoutMs: number,
    options?: SendOptions
  ): Promise<TransportResponse>
  close(): Promise<void>
}

/** Answers longer than this are cut: the agent's JSON answers are a few KB. */
export const MAX_RESPONSE_BYTES = 1024 * 1024

/**
 * A body larger than this goes out in pieces of this size, one per turn of the event loop. Written
 * whole, a 1 MiB payload held the loop for the whole copy into a loopback socket: Fastify 5 on Node 24
 * under wrk (scratch server, 6 alternating pairs) had p99 1.66–1.90 ms written whole, 1.26–1.80 ms in
 * 64 KiB pieces (lower in every pair), with 1–3% more requests a second; 16 KiB pieces were no better.
 */
export const BODY_PIECE_BYTES = 64 * 1024
