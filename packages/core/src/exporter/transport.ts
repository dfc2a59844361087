export interface TransportResponse {
  readonly status: number
  readonly body: string
  /** Header names lowercased. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  /** Set when the answer's body could not be read to its end (the status still counts). */
  readonly bodyError?: string
}

/** One HTTP exchange with the agent. Implementations reject on network errors and timeouts only. */
export interface Transport {
  send(path: string, method: 'PUT' | 'POST' | 'GET', headers: Record<string, string>, body: Uint8Array | undefined, timeoutMs: number): Promise<TransportResponse>
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
