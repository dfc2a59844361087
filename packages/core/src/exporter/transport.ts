import type * as UndiciModule from 'undici'
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'

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
const MAX_RESPONSE_BYTES = 1024 * 1024

/**
 * A body larger than this goes out in pieces of this size, one per turn of the event loop. Written
 * whole, a 1 MiB payload held the loop for the whole copy into a loopback socket: Fastify 5 on Node 24
 * under wrk (scratch server, 6 alternating pairs) had p99 1.66–1.90 ms written whole, 1.26–1.80 ms in
 * 64 KiB pieces (lower in every pair), with 1–3% more requests a second; 16 KiB pieces were no better.
 */
export const BODY_PIECE_BYTES = 64 * 1024

/** The body in pieces, with a turn of the event loop before each piece after the first. */
export async function* inPieces(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += BODY_PIECE_BYTES) {
    if (at > 0) await new Promise<void>((resolve) => setImmediate(resolve))
    yield bytes.subarray(at, Math.min(at + BODY_PIECE_BYTES, bytes.length))
  }
}

type Undici = typeof UndiciModule
let undiciModule: Promise<Undici> | undefined

/**
 * Talks to the agent over HTTP or a Unix socket with undici and a dispatcher of its own (keep-alive, at
 * most two connections), so the app's global dispatcher settings never apply to it. undici is loaded on
 * the first send: importing core costs an app nothing at startup.
 */
export class UndiciTransport implements Transport {
  readonly #origin: string
  readonly #socketPath: string | undefined
  #dispatcher: Dispatcher | undefined

  constructor(url: URL) {
    if (url.protocol === 'unix:') {
      this.#socketPath = decodeURIComponent(url.pathname)
      this.#origin = 'http://localhost'
    } else {
      this.#socketPath = undefined
      this.#origin = url.origin
    }
  }

  async #getDispatcher(): Promise<Dispatcher> {
    if (this.#dispatcher !== undefined) return this.#dispatcher
    const undici = await (undiciModule ??= import('undici'))
    this.#dispatcher ??= new undici.Agent({
      connections: 2,
      keepAliveTimeout: 4000,
      connect: this.#socketPath === undefined ? { timeout: 2000 } : { socketPath: this.#socketPath, timeout: 2000 }
    })
    return this.#dispatcher
  }

  async send(
    path: string,
    method: 'PUT' | 'POST' | 'GET',
    headers: Record<string, string>,
    body: Uint8Array | undefined,
    timeoutMs: number
  ): Promise<TransportResponse> {
    const dispatcher = await this.#getDispatcher()
    const large = body !== undefined && body.length > BODY_PIECE_BYTES
    const response = await dispatcher.request({
      origin: this.#origin,
      path,
      method,
      // In pieces, the length is said up front so the agent gets the same request as a whole body.
      headers: large ? { ...headers, 'content-length': String(body.length) } : headers,
      // undici takes an AsyncIterable body (docs/api/Dispatcher.md: `body`); its types leave it out.
      body: large ? (inPieces(body) as unknown as Readable) : body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs)
    })
    // The body is always read to the end (or cut), so the connection goes back to the pool. Once the
    // status is in, the agent has decided: a body cut short (reset, truncated) still answers with the
    // status, so a payload the agent took is never sent twice.
    const pieces: Buffer[] = []
    let size = 0
    let bodyError: string | undefined
    try {
      for await (const piece of response.body) {
        const bytes = piece as Buffer
        if (size + bytes.length <= MAX_RESPONSE_BYTES) pieces.push(bytes)
        size += bytes.length
      }
    } catch (err) {
      bodyError = err instanceof Error ? ((err as { code?: string }).code ?? err.name) : String(err)
    }
    const result: TransportResponse = { status: response.statusCode, body: Buffer.concat(pieces).toString('utf8'), headers: response.headers }
    return bodyError === undefined ? result : { ...result, bodyError }
  }

  async close(): Promise<void> {
    const dispatcher = this.#dispatcher
    this.#dispatcher = undefined
    if (dispatcher !== undefined) await dispatcher.close().catch(() => undefined)
  }
}
