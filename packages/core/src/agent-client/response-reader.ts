import { ChunkedDecoder, HEAD_END, MAX_HEAD_BYTES, parseHead, type ResponseHead } from './http1-response.js'
import { MAX_RESPONSE_BYTES, type TransportResponse } from './transport.js'

/** Where a reader is in the answer. */
const Part = { head: 0, length: 1, chunked: 2, untilClose: 3, done: 4, failed: 5 } as const
type PartValue = (typeof Part)[keyof typeof Part]

/** A head is never longer than this, its blank line included. */
const MAX_HEAD_WITH_END = MAX_HEAD_BYTES + HEAD_END.length

/**
 * Reads one HTTP/1.x answer from a connection's bytes as they arrive, in pieces of any size: 1xx answers
 * skipped, then a body framed by its content-length, by chunks or by the end of the connection. Each byte
 * is looked at about once, whatever the pieces, so an agent that trickles its answer costs no more than
 * one that sends it whole; what it keeps is bounded by MAX_HEAD_BYTES and MAX_RESPONSE_BYTES.
 */
export class ResponseReader {
  /** The final head, once it is in. */
  head: ResponseHead | undefined
  /** What makes the answer unreadable (not HTTP/1.x); once set, the reader takes nothing more. */
  problem: string | undefined
  /** Once done: why the body was not read to its end (the status still counts). */
  bodyError: string | undefined
  /** Bytes came after the answer's end: the two sides no longer agree on where a message ends. */
  overrun = false
  #part: PartValue = Part.head
  /** The head so far, in a buffer that doubles as it fills. */
  #headBytes: Buffer = Buffer.alloc(0)
  #headLength = 0
  #body: Buffer[] = []
  #bodySize = 0
  /** Body bytes still to come when framed by content-length. */
  #remaining = 0
  #chunked: ChunkedDecoder | undefined

  /** The answer is complete, or cut (see `bodyError`). */
  get done(): boolean {
    return this.#part === Part.done
  }

  /** The connection may carry another exchange after this answer. */
  get reusable(): boolean {
    return this.#part === Part.done && this.head !== undefined && this.head.keepAlive && !this.overrun && this.bodyError === undefined
  }

  /** Takes the next bytes of the connection. */
  push(bytes: Buffer): void {
    let rest = bytes
    while (rest.length > 0 && this.#part !== Part.done && this.#part !== Part.failed) rest = this.#read(rest)
    if (rest.length > 0 && this.#part === Part.done) this.overrun = true
  }

  /**
   * The connection ended, or the wait for the answer did (`code` says why; none for a clean end). An
   * answer whose head is in ends here: a body framed by the close is complete, any other is cut short.
   */
  end(code?: string): void {
    if (this.#part === Part.length || this.#part === Part.chunked || this.#part === Part.untilClose) {
      this.#finish(this.#part === Part.untilClose && code === undefined ? undefined : (code ?? 'ECONNRESET'))
    }
  }

  /** The answer, once done. */
  response(): TransportResponse {
    const head = this.head!
    const response: TransportResponse = { status: head.status, headers: head.headers, body: Buffer.concat(this.#body).toString('utf8') }
    return this.bodyError === undefined ? response : { ...response, bodyError: this.bodyError }
  }

  /** Reads what it can from `bytes`; returns the bytes it did not use. */
  #read(bytes: Buffer): Buffer {
    switch (this.#part) {
      case Part.head:
        return this.#readHead(bytes)
      case Part.length: {
        const take = Math.min(bytes.length, this.#remaining)
        this.#remaining -= take
        this.#keep(bytes.subarray(0, take))
        // Unless #keep cut the answer at MAX_RESPONSE_BYTES with these very bytes.
        if (this.#remaining === 0 && !this.done) this.#finish(undefined)
        return bytes.subarray(take)
      }
      case Part.chunked: {
        const decoder = this.#chunked!
        const used = decoder.push(bytes, (data) => this.#keep(data))
        // Cut at MAX_RESPONSE_BYTES: the rest of the body is not read.
        if (this.done) return bytes.subarray(bytes.length)
        if (decoder.problem !== undefined) this.#finish('ERR_CHUNKED_ENCODING')
        else if (decoder.done) this.#finish(undefined)
        return bytes.subarray(used)
      }
      case Part.untilClose:
        this.#keep(bytes)
        return bytes.subarray(bytes.length)
      default:
        return bytes
    }
  }

  #readHead(bytes: Buffer): Buffer {
    const before = this.#headLength
    // Past MAX_HEAD_WITH_END bytes no blank line can end a head that is short enough.
    const taken = bytes.subarray(0, MAX_HEAD_WITH_END - before)
    this.#appendHead(taken)
    // The blank line may straddle the previous piece and this one.
    const end = this.#headBytes.subarray(0, this.#headLength).indexOf(HEAD_END, Math.max(0, before - HEAD_END.length + 1))
    if (end === -1) {
      if (this.#headLength >= MAX_HEAD_WITH_END) this.#fail(`a head longer than ${MAX_HEAD_BYTES} bytes`)
      return bytes.subarray(taken.length)
    }
    const headEnd = end + HEAD_END.length
    const parsed = parseHead(this.#headBytes.subarray(0, headEnd))
    const rest = bytes.subarray(headEnd - before)
    this.#headLength = 0
    if (parsed === undefined || typeof parsed === 'string') {
      this.#fail(parsed ?? 'an unreadable head')
      return rest
    }
    // 1xx answers (100 Continue, 103 Early Hints) come before the real one.
    if (parsed.status < 200) return rest
    this.head = parsed
    this.#headBytes = Buffer.alloc(0)
    if (parsed.status === 204 || parsed.status === 304) {
      this.#finish(undefined)
    } else if (parsed.chunked) {
      this.#part = Part.chunked
      this.#chunked = new ChunkedDecoder()
    } else if (parsed.contentLength !== undefined) {
      this.#part = Part.length
      this.#remaining = parsed.contentLength
      if (this.#remaining === 0) this.#finish(undefined)
    } else {
      this.#part = Part.untilClose
    }
    return rest
  }

  #appendHead(bytes: Buffer): void {
    const needed = this.#headLength + bytes.length
    if (needed > this.#headBytes.length) {
      const grown = Buffer.allocUnsafe(Math.min(MAX_HEAD_WITH_END, Math.max(needed, 2 * this.#headBytes.length, 1024)))
      this.#headBytes.copy(grown, 0, 0, this.#headLength)
      this.#headBytes = grown
    }
    bytes.copy(this.#headBytes, this.#headLength)
    this.#headLength = needed
  }

  /** Keeps body bytes up to MAX_RESPONSE_BYTES; past it the answer is cut and ends there. */
  #keep(bytes: Buffer): void {
    if (this.#part === Part.done || bytes.length === 0) return
    const room = MAX_RESPONSE_BYTES - this.#bodySize
    if (bytes.length > room) {
      if (room > 0) this.#body.push(Buffer.from(bytes.subarray(0, room)))
      this.#bodySize = MAX_RESPONSE_BYTES
      this.#finish('ERR_RESPONSE_TOO_LARGE')
      return
    }
    // A copy: a slice would keep alive the whole read buffer it came from.
    this.#body.push(Buffer.from(bytes))
    this.#bodySize += bytes.length
  }

  #finish(bodyError: string | undefined): void {
    this.#part = Part.done
    this.bodyError = bodyError
    this.#chunked = undefined
  }

  #fail(problem: string): void {
    this.#part = Part.failed
    this.problem = problem
    this.#headBytes = Buffer.alloc(0)
  }
}
