import type * as UndiciModule from 'undici'
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
