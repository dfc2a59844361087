/** The parts of an HTTP/1.x answer's head that the transport needs. */
export interface ResponseHead {
  readonly status: number
  /** Header names lowercased; a repeated header as an array. */
  readonly headers: Readonly<Record<string, string | string[]>>
  /** Bytes of the head, the blank line included. */
  readonly length: number
  /** The connection may carry the next request. */
  readonly keepAlive: boolean
  readonly chunked: boolean
  /** Undefined without a content-length (or with chunked encoding, which wins). */
  readonly contentLength: number | undefined
}

/** The agent's heads are a few hundred bytes; a longer one is not an agent's. */
export const MAX_HEAD_BYTES = 64 * 1024
const MAX_CHUNK_LINE = 1024
export const HEAD_END = Buffer.from('\r\n\r\n')
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: |$)/
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const HEX = /^[0-9a-fA-F]{1,8}$/

/**
 * Reads the head at the start of `bytes`: undefined while it is incomplete, a string saying what is
 * wrong when it is not HTTP/1.x.
 */
export function parseHead(bytes: Buffer): ResponseHead | string | undefined {
  const end = bytes.indexOf(HEAD_END)
  if (end === -1) return bytes.length > MAX_HEAD_BYTES ? `a head longer than ${MAX_HEAD_BYTES} bytes` : undefined
  if (end > MAX_HEAD_BYTES) return `a head longer than ${MAX_HEAD_BYTES} bytes`
  const lines = bytes.toString('latin1', 0, end).split('\r\n')
  const status = STATUS_LINE.exec(lines[0])
  if (status === null) return `status line ${JSON.stringify(lines[0].slice(0, 80))}`
  const headers: Record<string, string | string[]> = {}
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]
    const colon = line.indexOf(':')
    const name = colon === -1 ? '' : line.slice(0, colon)
    if (!TOKEN.test(name)) return `header line ${JSON.stringify(line.slice(0, 80))}`
    const key = name.toLowerCase()
    const value = line.slice(colon + 1).trim()
    const seen = headers[key]
    headers[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value]
  }
  const all = (key: string): string => {
    const value = headers[key]
    return value === undefined ? '' : Array.isArray(value) ? value.join(',') : value
  }
  const connection = all('connection').toLowerCase()
  const http10 = status[1] === '0'
  const keepAlive = http10 ? /\bkeep-alive\b/.test(connection) : !/\bclose\b/.test(connection)
  const encoding = all('transfer-encoding').toLowerCase().trim()
  const chunked = encoding !== '' && /(^|,)\s*chunked$/.test(encoding)
  let contentLength: number | undefined
  if (encoding === '' && headers['content-length'] !== undefined) {
    const values = all('content-length').split(',').map((v) => v.trim())
    if (!values.every((v) => /^\d{1,15}$/.test(v) && v === values[0])) return `content-length ${JSON.stringify(all('content-length').slice(0, 40))}`
    contentLength = Number(values[0])
  }
  return {
    status: Number(status[2]),
    headers,
    length: end + HEAD_END.length,
    // A body framed by anything but its length or chunks ends with the connection.
    keepAlive: keepAlive && (encoding === '' || chunked),
    chunked,
    contentLength
  }
}

/** Where a chunked decoder is in the body. */
const Chunk = { size: 0, data: 1, dataEnd: 2, trailer: 3, done: 4 } as const
type ChunkValue = (typeof Chunk)[keyof typeof Chunk]

/**
 * Decodes a chunked body as its bytes arrive, in pieces of any size. Each byte is looked at once, so an
 * answer trickled a byte at a time costs what one in a single packet does (decoding the whole buffer
 * again on each piece made a hostile agent's 2 MiB answer in 1 KiB pieces cost gigabytes of copying).
 */
export class ChunkedDecoder {
  #state: ChunkValue = Chunk.size
  /** The size or trailer line so far, in latin1. */
  #line = ''
  /** Data bytes left in the current chunk. */
  #remaining = 0
  /** How much of the CRLF after a chunk's data has arrived. */
  #dataEnd = 0
  #trailerBytes = 0
  /** What is wrong with the body; once set, the decoder takes nothing more. */
  problem: string | undefined

  /** The last chunk and the trailers are in. */
  get done(): boolean {
    return this.#state === Chunk.done
  }

  /**
   * Takes the next bytes of the body and hands the data in them to `onData`. Returns how many bytes it
   * used: all of them, unless the body ended (or turned out malformed) part way through.
   */
  push(bytes: Buffer, onData: (data: Buffer) => void): number {
    let at = 0
    while (at < bytes.length && this.#state !== Chunk.done && this.problem === undefined) {
      switch (this.#state) {
        case Chunk.size:
        case Chunk.trailer: {
          const newline = bytes.indexOf(0x0a, at)
          const end = newline === -1 ? bytes.length : newline + 1
          this.#line += bytes.toString('latin1', at, end)
          at = end
          if (newline !== -1 && this.#line.endsWith('\r\n')) this.#endLine(this.#line.slice(0, -2))
          else this.#checkLength(this.#line)
          break
        }
        case Chunk.data: {
          const take = Math.min(this.#remaining, bytes.length - at)
          onData(bytes.subarray(at, at + take))
          at += take
          this.#remaining -= take
          if (this.#remaining === 0) this.#state = Chunk.dataEnd
          break
        }
        case Chunk.dataEnd: {
          if (bytes[at] !== (this.#dataEnd === 0 ? 0x0d : 0x0a)) {
            this.problem = 'a chunk not followed by CRLF'
            break
          }
          at++
          if (++this.#dataEnd === 2) {
            this.#dataEnd = 0
            this.#state = Chunk.size
          }
          break
        }
      }
    }
    return at
  }

  #checkLength(line: string): void {
    if (this.#state === Chunk.size ? line.length > MAX_CHUNK_LINE : this.#trailerBytes + line.length > MAX_HEAD_BYTES) {
      this.problem = this.#state === Chunk.size ? 'a chunk size line too long' : 'trailers too long'
    }
  }

  #endLine(text: string): void {
    this.#line = ''
    this.#checkLength(text)
    if (this.problem !== undefined) return
    if (this.#state === Chunk.trailer) {
      // Trailers, if any, up to the blank line.
      if (text === '') this.#state = Chunk.done
      else this.#trailerBytes += text.length + 2
      return
    }
    const sizeText = text.split(';')[0].trim()
    if (!HEX.test(sizeText)) {
      this.problem = `chunk size ${JSON.stringify(sizeText.slice(0, 20))}`
      return
    }
    this.#remaining = parseInt(sizeText, 16)
    this.#state = this.#remaining === 0 ? Chunk.trailer : Chunk.data
  }
}

/**
 * Decodes a chunked body at the start of `bytes`: undefined while it is incomplete, a string saying what
 * is wrong when it is malformed, else the body and how many bytes it took (trailers included).
 */
export function readChunked(bytes: Buffer): { body: Buffer; length: number } | string | undefined {
  const decoder = new ChunkedDecoder()
  const parts: Buffer[] = []
  const length = decoder.push(bytes, (data) => parts.push(data))
  if (decoder.problem !== undefined) return decoder.problem
  return decoder.done ? { body: Buffer.concat(parts), length } : undefined
}
