import type { Socket } from 'node:net'
import { ResponseReader } from './response-reader.js'
import { BODY_PIECE_BYTES, type FailureStage, type TransportResponse } from './transport.js'
import { codeOf, TransportError } from './transport-error.js'

export interface Request {
  readonly method: 'PUT' | 'POST' | 'GET'
  readonly head: string
  readonly body: Uint8Array | undefined
  readonly timeoutMs: number
  /** The socket does not hold the process open while this request runs. */
  readonly background: boolean
}

/** How an exchange ends, decided as soon as it is known; it takes effect once the body is let go of. */
type Outcome = { readonly answer: true } | { readonly answer: false; readonly error: TransportError } | { readonly answer: false; readonly retry: true }

const ANSWERED: Outcome = { answer: true }
const RETRY: Outcome = { answer: false, retry: true }

/** One request on one connection, from its first byte written to its answer read and its body let go. */
export class Exchange {
  readonly request: Request
  readonly resolve: (response: TransportResponse) => void
  readonly reject: (err: Error) => void
  readonly reader = new ResponseReader()
  timer: NodeJS.Timeout | undefined
  /** Writes handed to the socket whose callback has not come yet: the socket may still read the body. */
  unacknowledged = 0
  /** How much of the body has been handed to the socket. */
  issued = 0
  /** Every byte of the request left Node for the kernel: from here on the agent may have it. */
  written = false
  /** Some bytes of an answer arrived. */
  received = false
  outcome: Outcome | undefined
  settled = false

  constructor(request: Request, resolve: (response: TransportResponse) => void, reject: (err: Error) => void) {
    this.request = request
    this.resolve = resolve
    this.reject = reject
  }

  get stage(): FailureStage {
    return this.written ? 'maybe-delivered' : 'not-sent'
  }
}

/** What a connection tells the pool that owns it. */
export interface ConnectionOwner {
  /** A connection done with its exchange and fit for another. */
  release(connection: Connection): void
  /** A connection that will serve nothing more. */
  forget(connection: Connection): void
  /** The exchange goes again on a new connection: the reused one closed before the agent could have it. */
  retry(exchange: Exchange): void
}

/**
 * One socket to the agent and the exchange on it, if any. The rules that let the exporter reuse a
 * payload's buffer the moment a send settles, and decide from a failure whether to send it again:
 * - a body goes out one piece at a time, the next only once the socket has written the previous one, so
 *   at most a piece (and the head) is ever queued on the connection;
 * - an exchange settles only once every write handed to the socket has called back (or the socket has
 *   closed), so no byte of the body can leave after the caller got its buffer back;
 * - an answer that comes before the whole body went out (an early 413, a proxy) does not cut the body:
 *   it keeps going while the agent reads it, and the exchange settles once it is out;
 * - the connection serves another exchange only if the body went out whole and the answer was framed
 *   whole, so the next request's bytes never follow a body cut short.
 */
export class Connection {
  readonly socket: Socket
  readonly #owner: ConnectionOwner
  exchange: Exchange | undefined
  /** Set once it served an exchange: a reused connection that turns out closed may warrant a retry. */
  reused = false
  reusable = true
  /** The socket closed: nothing it held can be written any more. */
  closed = false
  idleTimer: NodeJS.Timeout | undefined

  constructor(owner: ConnectionOwner, socket: Socket) {
    this.#owner = owner
    this.socket = socket
    socket.setNoDelay(true)
    socket.on('data', (bytes: Buffer) => this.#onData(bytes))
    socket.on('error', (err) => this.#onEnd(err))
    socket.on('end', () => this.#onEnd(undefined))
    socket.on('close', () => {
      this.closed = true
      this.#onEnd(undefined)
    })
  }

  start(exchange: Exchange): void {
    this.exchange = exchange
    if (exchange.request.background) this.socket.unref()
    else this.socket.ref()
    const { head, timeoutMs } = exchange.request
    exchange.timer = setTimeout(() => this.#onTimeout(exchange), timeoutMs)
    exchange.timer.unref()
    // The head and the first piece in one write; a larger body follows piece by piece (BODY_PIECE_BYTES).
    this.socket.cork()
    this.#write(exchange, head)
    this.#writePiece(exchange)
    this.socket.uncork()
  }

  /** Hands the next piece of the body to the socket, if any is left. */
  #writePiece(exchange: Exchange): void {
    const body = exchange.request.body
    if (body === undefined || exchange.issued === body.length) return
    const end = Math.min(exchange.issued + BODY_PIECE_BYTES, body.length)
    const piece = body.subarray(exchange.issued, end)
    exchange.issued = end
    this.#write(exchange, piece)
  }

  #write(exchange: Exchange, bytes: string | Uint8Array): void {
    exchange.unacknowledged++
    const done = (err: Error | null | undefined) => this.#onWritten(exchange, err)
    if (typeof bytes === 'string') this.socket.write(bytes, 'latin1', done)
    else this.socket.write(bytes, done)
  }

  #onWritten(exchange: Exchange, err: Error | null | undefined): void {
    exchange.unacknowledged--
    // After a destroy Node 20 calls back the writes it dropped as if they had gone out: only a callback
    // on a live socket says the bytes left.
    if (err == null && exchange.unacknowledged === 0 && !this.socket.destroyed && this.exchange === exchange) {
      if (this.#allIssued(exchange)) {
        exchange.written = true
      } else {
        // The next piece on the next turn: written back to back, the pieces held the loop for the whole
        // copy into a loopback socket (see BODY_PIECE_BYTES).
        setImmediate(() => {
          if (this.exchange === exchange && !this.socket.destroyed && exchange.outcome?.answer !== false) this.#writePiece(exchange)
        })
        return
      }
    }
    this.#settle(exchange)
  }

  #allIssued(exchange: Exchange): boolean {
    return exchange.issued === (exchange.request.body?.length ?? 0)
  }

  /**
   * Notes whether every byte of the request has left Node when the exchange fails: all of it handed to
   * the socket and nothing still queued there. Asked as the socket ends or fails, before it drops its
   * queue, this is exact even when the last write's callback has not come yet.
   */
  #checkWritten(exchange: Exchange): void {
    if (!exchange.written && !this.closed && this.#allIssued(exchange) && this.socket.writableLength === 0) exchange.written = true
  }

  #onData(bytes: Buffer): void {
    const exchange = this.exchange
    if (exchange === undefined || exchange.outcome !== undefined) {
      // Nothing was asked, or the answer is already in: an agent that talks out of turn gets its
      // connection closed.
      this.#close()
      if (exchange !== undefined) this.#settle(exchange)
      return
    }
    exchange.received = true
    const reader = exchange.reader
    try {
      reader.push(bytes)
    } catch (err) {
      // The reader never throws on any input (a property test feeds it thousands of hostile answers);
      // should it, the app must not see it.
      this.#fail(exchange, 'ERR_AGENT_RESPONSE', `the agent's answer could not be read: ${String(err)}`)
      return
    }
    if (reader.problem !== undefined) {
      this.#fail(exchange, 'ERR_AGENT_RESPONSE', `the agent's answer is not HTTP/1.1: ${reader.problem}`)
    } else if (reader.done) {
      exchange.outcome = ANSWERED
      // A body cut at MAX_RESPONSE_BYTES or badly chunked: the rest of the answer is not worth reading,
      // nor the connection keeping.
      if (!reader.reusable) this.reusable = false
      if (reader.bodyError !== undefined) this.#close()
      this.#settle(exchange)
    }
  }

  /** The socket ended, closed or failed. */
  #onEnd(err: Error | undefined): void {
    this.reusable = false
    const exchange = this.exchange
    if (exchange === undefined) {
      this.#close()
      return
    }
    if (exchange.outcome === undefined) {
      this.#checkWritten(exchange)
      const code = err === undefined ? undefined : codeOf(err)
      exchange.reader.end(code)
      if (exchange.reader.done) {
        // Once the status is in the agent has decided: a body cut short still answers with the status,
        // so a payload the agent took is never sent twice.
        exchange.outcome = ANSWERED
      } else if (this.reused && !exchange.received && (!exchange.written || exchange.request.method === 'GET')) {
        // A kept-alive connection the agent closed as the request went out on it, before it could have
        // all of it (a GET is safe to send twice anyway): once more, on a new connection.
        exchange.outcome = RETRY
      } else {
        const message = err?.message ?? 'the agent closed the connection before answering'
        exchange.outcome = { answer: false, error: new TransportError(code ?? 'ECONNRESET', message, exchange.stage, err) }
      }
    }
    this.#close()
    this.#settle(exchange)
  }

  #onTimeout(exchange: Exchange): void {
    if (this.exchange !== exchange) return
    if (exchange.outcome === undefined) {
      this.#checkWritten(exchange)
      exchange.reader.end('ETIMEDOUT')
      if (exchange.reader.done) {
        exchange.outcome = ANSWERED
      } else {
        const waited = exchange.request.timeoutMs
        const message = exchange.written ? `no answer from the agent within ${waited} ms` : `the agent did not take the request within ${waited} ms`
        exchange.outcome = { answer: false, error: new TransportError('ETIMEDOUT', message, exchange.stage) }
      }
    }
    // An early answer whose body the agent stopped reading ends here too.
    this.#close()
    this.#settle(exchange)
  }

  #fail(exchange: Exchange, code: string, message: string): void {
    this.#checkWritten(exchange)
    exchange.outcome = { answer: false, error: new TransportError(code, message, exchange.stage) }
    this.#close()
    this.#settle(exchange)
  }

  /** Closes the socket for good; writes still queued on it call back as it goes. */
  #close(): void {
    this.reusable = false
    if (!this.socket.destroyed) this.socket.destroy()
    this.#owner.forget(this)
  }

  /** Ends the exchange once its outcome is known and the socket holds nothing more of its body. */
  #settle(exchange: Exchange): void {
    const outcome = exchange.outcome
    if (exchange.settled || outcome === undefined) return
    // Until the socket closes, a write not called back may still read from the body; and an answer that
    // came early on a live socket waits for the rest of the body to go out.
    if (!this.closed && (exchange.unacknowledged > 0 || (!exchange.written && !this.socket.destroyed))) return
    exchange.settled = true
    clearTimeout(exchange.timer)
    if (this.exchange === exchange) this.exchange = undefined
    if (outcome.answer) {
      this.reused = true
      if (this.reusable && exchange.written && !this.socket.destroyed) this.#owner.release(this)
      else this.#close()
      exchange.resolve(exchange.reader.response())
    } else if ('retry' in outcome) {
      this.#close()
      this.#owner.retry(exchange)
    } else {
      this.#close()
      exchange.reject(outcome.error)
    }
  }
}
