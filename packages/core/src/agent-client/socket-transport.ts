import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { BODY_PIECE_BYTES, MAX_RESPONSE_BYTES, type Transport, type TransportResponse } from './transport.js'
import { parseHead, readChunked, type ResponseHead } from './http1-response.js'

/** An idle connection is closed after this long (the agent keeps its side open longer). */
const KEEP_ALIVE_MS = 4000
/** Idle connections kept for reuse; the exporter has at most two requests in flight, plus /info and stats. */
const MAX_IDLE = 2
/** A chunked answer is read whole before it is decoded; past this it is cut and the connection closed. */
const MAX_CHUNKED_BYTES = 2 * MAX_RESPONSE_BYTES

/** A failure with a stable code, as Node's own network errors have: the exporter reports the code. */
class TransportError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'TransportError'
    this.code = code
  }
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : err instanceof Error ? err.name : String(err)
}

/** Where an exchange is in reading its answer. */
const Phase = { head: 0, length: 1, chunked: 2, untilClose: 3, done: 4 } as const
type PhaseValue = (typeof Phase)[keyof typeof Phase]

/** One request on one connection, from its first byte written to its answer read. */
class Exchange {
  readonly resolve: (response: TransportResponse) => void
  readonly reject: (err: Error) => void
  /** The request, for the one retry on a fresh connection when a reused one turns out closed. */
  readonly request: Request
  phase: PhaseValue = Phase.head
  head: ResponseHead | undefined
  /** Bytes of the head not yet complete, or of a chunked body not yet decoded. */
  pending: Buffer | undefined
  body: Buffer[] = []
  bodySize = 0
  remaining = 0
  received = false
  /** The whole request is written (a large body goes over several turns). */
  sent = false
  timer: NodeJS.Timeout | undefined

  constructor(request: Request, resolve: (response: TransportResponse) => void, reject: (err: Error) => void) {
    this.request = request
    this.resolve = resolve
    this.reject = reject
  }

  keepBody(bytes: Buffer): void {
    if (this.bodySize < MAX_RESPONSE_BYTES) this.body.push(this.bodySize + bytes.length <= MAX_RESPONSE_BYTES ? bytes : bytes.subarray(0, MAX_RESPONSE_BYTES - this.bodySize))
    this.bodySize += bytes.length
  }

  response(bodyError?: string): TransportResponse {
    const head = this.head!
    const response: TransportResponse = { status: head.status, headers: head.headers, body: Buffer.concat(this.body).toString('utf8') }
    return bodyError === undefined ? response : { ...response, bodyError }
  }
}

interface Request {
  readonly head: string
  readonly body: Uint8Array | undefined
  readonly timeoutMs: number
}

/** One socket to the agent and the exchange on it, if any. */
class Connection {
  readonly socket: Socket
  readonly #owner: SocketTransport
  exchange: Exchange | undefined
  /** Set once it served a request: a reused connection the agent had closed gets one retry. */
  reused = false
  reusable = true
  idleTimer: NodeJS.Timeout | undefined

  constructor(owner: SocketTransport, socket: Socket) {
    this.#owner = owner
    this.socket = socket
    socket.setNoDelay(true)
    socket.on('data', (bytes: Buffer) => this.#onData(bytes))
    socket.on('error', (err) => this.#onEnd(err))
    socket.on('end', () => this.#onEnd(undefined))
    socket.on('close', () => this.#onEnd(undefined))
  }

  start(exchange: Exchange): void {
    this.exchange = exchange
    const { head, body, timeoutMs } = exchange.request
    exchange.timer = setTimeout(() => this.#onTimeout(timeoutMs), timeoutMs)
    exchange.timer.unref()
    const socket = this.socket
    if (body === undefined || body.length <= BODY_PIECE_BYTES) {
      socket.cork()
      socket.write(head, 'latin1')
      if (body !== undefined && body.length > 0) socket.write(body)
      socket.uncork()
      exchange.sent = true
      return
    }
    // A large body goes in pieces, one per turn of the event loop (see BODY_PIECE_BYTES).
    socket.write(head, 'latin1')
    this.#writeFrom(exchange, body, 0)
  }

  #writeFrom(exchange: Exchange, body: Uint8Array, at: number): void {
    if (this.exchange !== exchange || this.socket.destroyed) return
    const end = Math.min(at + BODY_PIECE_BYTES, body.length)
    this.socket.write(body.subarray(at, end))
    if (end < body.length) setImmediate(() => this.#writeFrom(exchange, body, end))
    else exchange.sent = true
  }

  #onData(bytes: Buffer): void {
    const exchange = this.exchange
    if (exchange === undefined) {
      // Nothing was asked: an agent that talks out of turn gets its connection closed.
      this.reusable = false
      this.socket.destroy()
      return
    }
    exchange.received = true
    this.#consume(exchange, bytes)
  }

  #consume(exchange: Exchange, bytes: Buffer): void {
    switch (exchange.phase) {
      case Phase.head: {
        const all = exchange.pending === undefined ? bytes : Buffer.concat([exchange.pending, bytes])
        const parsed = parseHead(all)
        if (parsed === undefined) {
          exchange.pending = all
          return
        }
        exchange.pending = undefined
        if (typeof parsed === 'string') {
          this.#fail(exchange, new TransportError('ERR_AGENT_RESPONSE', `the agent's answer is not HTTP/1.1: ${parsed}`))
          return
        }
        const rest = all.subarray(parsed.length)
        // 1xx answers (100 Continue, 103 Early Hints) come before the real one.
        if (parsed.status < 200) {
          if (rest.length > 0) this.#consume(exchange, rest)
          return
        }
        exchange.head = parsed
        if (!parsed.keepAlive) this.reusable = false
        if (parsed.status === 204 || parsed.status === 304) {
          exchange.phase = Phase.done
        } else if (parsed.chunked) {
          exchange.phase = Phase.chunked
        } else if (parsed.contentLength !== undefined) {
          exchange.phase = Phase.length
          exchange.remaining = parsed.contentLength
        } else {
          exchange.phase = Phase.untilClose
          this.reusable = false
        }
        if (exchange.phase === Phase.done) {
          if (rest.length > 0) this.reusable = false
          this.#complete(exchange)
        } else if (rest.length > 0 || exchange.phase === Phase.length) {
          this.#consume(exchange, rest)
        }
        return
      }
      case Phase.length: {
        const take = Math.min(bytes.length, exchange.remaining)
        if (take > 0) exchange.keepBody(bytes.subarray(0, take))
        exchange.remaining -= take
        if (exchange.remaining === 0) {
          // Bytes past the answer mean the two sides no longer agree on where a message ends.
          if (bytes.length > take) this.reusable = false
          this.#complete(exchange)
        }
        return
      }
      case Phase.chunked: {
        const all = exchange.pending === undefined ? bytes : Buffer.concat([exchange.pending, bytes])
        const decoded = readChunked(all)
        if (decoded === undefined) {
          if (all.length > MAX_CHUNKED_BYTES) {
            this.reusable = false
            this.#complete(exchange, 'ERR_RESPONSE_TOO_LARGE')
          } else {
            exchange.pending = all
          }
          return
        }
        exchange.pending = undefined
        if (typeof decoded === 'string') {
          this.reusable = false
          this.#complete(exchange, 'ERR_CHUNKED_ENCODING')
          return
        }
        exchange.keepBody(decoded.body)
        if (decoded.length < all.length) this.reusable = false
        this.#complete(exchange)
        return
      }
      case Phase.untilClose:
        exchange.keepBody(bytes)
        return
      case Phase.done:
        return
    }
  }

  /** The socket ended, closed or failed. */
  #onEnd(err: Error | undefined): void {
    this.reusable = false
    const exchange = this.exchange
    if (exchange === undefined) {
      this.#owner.forget(this)
      this.socket.destroy()
      return
    }
    if (exchange.head !== undefined) {
      // Once the status is in the agent has decided: a body cut short still answers with the status, so a
      // payload the agent took is never sent twice.
      this.#complete(exchange, err !== undefined ? codeOf(err) : exchange.phase === Phase.untilClose ? undefined : 'ECONNRESET')
      return
    }
    this.#detach(exchange)
    if (this.reused && !exchange.received) {
      // The agent closed a kept-alive connection as the request went out on it: it saw none of it.
      this.#owner.retry(exchange)
      return
    }
    exchange.reject(err ?? new TransportError('ECONNRESET', 'the agent closed the connection before answering'))
  }

  #onTimeout(timeoutMs: number): void {
    const exchange = this.exchange
    if (exchange === undefined) return
    if (exchange.head !== undefined) {
      this.reusable = false
      this.#complete(exchange, 'ETIMEDOUT')
      return
    }
    this.#fail(exchange, new TransportError('ETIMEDOUT', `no answer from the agent within ${timeoutMs} ms`))
  }

  #fail(exchange: Exchange, err: Error): void {
    this.#detach(exchange)
    exchange.reject(err)
  }

  /** Ends the exchange without an answer and closes the connection. */
  #detach(exchange: Exchange): void {
    this.exchange = undefined
    this.reusable = false
    clearTimeout(exchange.timer)
    this.socket.destroy()
    this.#owner.forget(this)
  }

  #complete(exchange: Exchange, bodyError?: string): void {
    this.exchange = undefined
    exchange.phase = Phase.done
    clearTimeout(exchange.timer)
    exchange.resolve(exchange.response(bodyError))
    this.reused = true
    // An answer before the whole body went out (an early 413, say) leaves the agent expecting the rest.
    if (this.reusable && exchange.sent && !this.socket.destroyed) {
      this.#owner.release(this)
    } else {
      this.socket.destroy()
      this.#owner.forget(this)
    }
  }
}

/**
 * A minimal HTTP/1.1 client for the agent over TCP, TLS or a Unix socket: one request at a time per
 * connection, kept alive for the next, answers framed by content-length, chunked encoding or the close.
 *
 * Why not undici (or node:http): the exporter's sockets run through the same Node stream code as the
 * app's server sockets, and a client that gives its sockets and requests other shapes makes that shared
 * code polymorphic. Measured (Fastify 5 on Node 24, a timer sending 1 KB a second beside an untraced
 * app, bench/http.mjs with a scratch server): undici +3.1 µs of server CPU per request served (0.89 of
 * the throughput), node:http +1.4, a plain net.Socket +0.3; `--log-deopt` shows the app's socket write
 * path (net.js `_writeGeneric`, streams' `onwrite`) deoptimized for "wrong map" once undici sends.
 */
export class SocketTransport implements Transport {
  readonly #connect: () => Socket
  readonly #host: string
  readonly #idle: Connection[] = []
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

  send(path: string, method: 'PUT' | 'POST' | 'GET', headers: Record<string, string>, body: Uint8Array | undefined, timeoutMs: number): Promise<TransportResponse> {
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.#host}\r\n`
    for (const name of Object.keys(headers)) {
      const value = headers[name]
      // A header that would break the request's framing is left out rather than sent.
      if (name.toLowerCase() === 'content-length' || /[\r\n]/.test(name) || /[\r\n]/.test(value)) continue
      head += `${name}: ${value}\r\n`
    }
    if (body !== undefined || method !== 'GET') head += `content-length: ${body?.length ?? 0}\r\n`
    head += '\r\n'
    const request: Request = { head, body, timeoutMs }
    return new Promise((resolve, reject) => this.#start(new Exchange(request, resolve, reject), true))
  }

  #start(exchange: Exchange, mayReuse: boolean): void {
    let connection: Connection | undefined
    while (mayReuse && connection === undefined && this.#idle.length > 0) {
      const idle = this.#idle.pop()!
      clearTimeout(idle.idleTimer)
      if (idle.reusable && !idle.socket.destroyed) connection = idle
    }
    if (connection !== undefined) {
      connection.socket.ref()
    } else {
      let socket: Socket
      try {
        socket = this.#connect()
      } catch (err) {
        exchange.reject(err instanceof Error ? err : new TransportError('ERR_CONNECT', String(err)))
        return
      }
      connection = new Connection(this, socket)
    }
    connection.start(exchange)
  }

  /** A kept-alive connection was found closed before any answer: once more, on a new one. */
  retry(exchange: Exchange): void {
    this.#start(new Exchange(exchange.request, exchange.resolve, exchange.reject), false)
  }

  /** A connection done with its exchange and fit for another. */
  release(connection: Connection): void {
    if (this.#closed || this.#idle.length >= MAX_IDLE) {
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
    const at = this.#idle.indexOf(connection)
    if (at !== -1) this.#idle.splice(at, 1)
  }

  /**
   * Closes the idle connections; requests in flight finish, and their connections close after them. A
   * later send still goes out, on a connection of its own.
   */
  close(): Promise<void> {
    this.#closed = true
    for (const connection of this.#idle.splice(0)) {
      clearTimeout(connection.idleTimer)
      connection.socket.destroy()
    }
    return Promise.resolve()
  }
}
