import type * as UndiciModule from 'undici'
import type { Dispatcher } from 'undici'

export interface TransportResponse {
  readonly status: number
  readonly body: string
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
}

/** One HTTP exchange with the agent. Implementations reject on network errors and timeouts only. */
export interface Transport {
  send(path: string, method: 'PUT' | 'POST' | 'GET', headers: Record<string, string>, body: Uint8Array | undefined, timeoutMs: number): Promise<TransportResponse>
  close(): Promise<void>
}

/** Answers longer than this are cut: the agent's JSON answers are a few KB. */
const MAX_RESPONSE_BYTES = 1024 * 1024

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
    const response = await dispatcher.request({
      origin: this.#origin,
      path,
      method,
      headers,
      body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs)
    })
    // The body is always read to the end (or cut), so the connection goes back to the pool.
    const pieces: Buffer[] = []
    let size = 0
    for await (const piece of response.body) {
      const bytes = piece as Buffer
      if (size + bytes.length <= MAX_RESPONSE_BYTES) pieces.push(bytes)
      size += bytes.length
    }
    return { status: response.statusCode, body: Buffer.concat(pieces).toString('utf8'), headers: response.headers }
  }

  async close(): Promise<void> {
    const dispatcher = this.#dispatcher
    this.#dispatcher = undefined
    if (dispatcher !== undefined) await dispatcher.close().catch(() => undefined)
  }
}
