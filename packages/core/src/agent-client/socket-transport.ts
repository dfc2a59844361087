import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { Connection, Exchange, type ConnectionOwner, type Request } from './connection.js'
import type { SendOptions, Transport, TransportResponse } from './transport.js'
import { TransportError } from './transport-error.js'

/** An idle connection is closed after this long (the agent keeps its side open longer). */
const KEEP_ALIVE_MS = 4000
/** Idle connections kept for reuse; the exporter has at most two requests in flight, plus /info, stats and metrics. */
const MAX_IDLE = 2

/** How many connections a transport holds, for tests and diagnostics. */
export interface ConnectionCounts {
  /** Kept alive for the next request. */
  readonly idle: number
  /** Serving an exchange, or about to. */
  readonly busy: number
}

/**
 * A minimal HTTP/1.1 client for the agent over TCP, TLS or a Unix socket: one request at a time per
 * connection, kept alive for the next, answers framed by content-length, chunked encoding or the close.
 * How a payload's bytes are written and when a send settles is in `Connection`.
 *
 * Why not undici (or node:http): the exporter's sockets run through the same Node stream code as the
 * app's server sockets, and a client that gives its sockets and requests other shapes makes that shared
 * code polymorphic. Measured (Fastify 5 on Node 24, a timer sending 1 KB a second beside an untraced
 * app, bench/http.mjs with a scratch server): undici +3.1 µs of server CPU per request served (0.89 of
 * the throughput), node:http +1.4, a plain net.Socket +0.3; `--log-deopt` shows the app's socket write
 * path (net.js `_writeGeneric`, streams' `onwrite`) deoptimized for "wrong map" once undici sends.
 */
export class SocketTransport implements Transport, ConnectionOwner {
  readonly #connect: () => Socket
  readonly #host: string
  readonly #idle: Connection[] = []
  /** Every connection not yet forgotten, idle or not. */
  readonly #open = new Set<Connection>()
  #closed = false

  constructor(url: URL) {
    if (url.protocol === 'unix:') {
      const path = decodeURIComponent(url.pathname)
      this.#host = 'localhost'
      this.#connect = () => netConnect({ path })
    } else {
      const secure = url.protocol === 'https:'
      const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
      const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port)
      this.#host = url.host
      this.#connect = secure
        ? () => tlsConnect({ host: hostname, port, servername: /^[\d.]+$|:/.test(hostname) ? undefined : hostname, ALPNProtocols: ['http/1.1'] })
        : () => netConnect({ host: hostname, port })
    }
  }

  send(
    path: string,
    method: 'PUT' | 'POST' | 'GET',
    headers: Record<string, string>,
    body: Uint8Array | undefined,
    timeoutMs: number,
    options?: SendOptions
  ): Promise<TransportResponse> {
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.#host}\r\n`
    for (const name of Object.keys(headers)) {
      const value = headers[name]
      // A header that would break the request's framing is left out rather than sent.
      if (name.toLowerCase() === 'content-length' || /[\r\n]/.test(name) || /[\r\n]/.test(value)) continue
      head += `${name}: ${value}\r\n`
    }
    if (body !== undefined || method !== 'GET') head += `content-length: ${body?.length ?? 0}\r\n`
    head += '\r\n'
    const request: Request = { method, head, body, timeoutMs, background: options?.background === true }
    return new Promise((resolve, reject) => this.#start(new Exchange(request, resolve, reject), true))
  }

  /** How many connections are open, idle and busy. */
  connections(): ConnectionCounts {
    return { idle: this.#idle.length, busy: this.#open.size - this.#idle.length }
  }

  #start(exchange: Exchange, mayReuse: boolean): void {
    let connection: Connection | undefined
    while (mayReuse && connection === undefined && this.#idle.length > 0) {
      const idle = this.#idle.pop()!
      clearTimeout(idle.idleTimer)
      if (idle.reusable && !idle.socket.destroyed) {
        connection = idle
      } else {
        this.forget(idle)
        idle.socket.destroy()
      }
    }
    if (connection !== undefined) {
      // Held (or not, for a background exchange) from here: the turn below must not let the process end.
      if (!exchange.request.background) connection.socket.ref()
      const reused = connection
      // Bytes or a close the agent sent after its last answer may still be waiting to be read: one turn
      // of the loop lets them arrive (and close the connection) before a request goes out on it, so they
      // are never read as this request's answer.
      setImmediate(() => {
        if (reused.reusable && !reused.socket.destroyed) reused.start(exchange)
        else this.#start(exchange, true)
      })
      return
    }
    let socket: Socket
    try {
      socket = this.#connect()
    } catch (err) {
      exchange.reject(new TransportError('ERR_CONNECT', `cannot connect to the agent: ${String(err)}`, 'not-sent', err))
      return
    }
    connection = new Connection(this, socket)
    this.#open.add(connection)
    connection.start(exchange)
  }

  retry(exchange: Exchange): void {
    this.#start(new Exchange(exchange.request, exchange.resolve, exchange.reject), false)
  }

  release(connection: Connection): void {
    if (this.#closed || this.#idle.length >= MAX_IDLE) {
      this.forget(connection)
      connection.socket.destroy()
      return
    }
    // Idle, it never holds the process open.
    connection.socket.unref()
    connection.idleTimer = setTimeout(() => {
      this.forget(connection)
      connection.socket.destroy()
    }, KEEP_ALIVE_MS)
    connection.idleTimer.unref()
    this.#idle.push(connection)
  }

  forget(connection: Connection): void {
    clearTimeout(connection.idleTimer)
    this.#open.delete(connection)
    const at = this.#idle.indexOf(connection)
    if (at !== -1) this.#idle.splice(at, 1)
  }

  /**
   * Closes the idle connections; requests in flight finish, and their connections close after them. A
   * later send still goes out, on a connection of its own.
   */
  close(): Promise<void> {
    this.#closed = true
    for (const connection of [...this.#idle]) {
      this.forget(connection)
      connection.socket.destroy()
    }
    return Promise.resolve()
  }
}
