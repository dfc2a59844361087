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
const MAX_HEAD_BYTES = 64 * 1024
const MAX_CHUNK_LINE = 1024
const CRLF = Buffer.from('\r\n')
const HEAD_END = Buffer.from('\r\n\r\n')
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

/**
 * Decodes a chunked body at the start of `bytes`: undefined while it is incomplete, a string saying what
 * is wrong when it is malformed, else the body and how many bytes it took (trailers included).
 */
export function readChunked(bytes: Buffer): { body: Buffer; length: number } | string | undefined {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = bytes.indexOf(CRLF, at)
    if (lineEnd === -1) return bytes.length - at > MAX_CHUNK_LINE ? 'a chunk size line too long' : undefined
    const sizeText = bytes.toString('latin1', at, lineEnd).split(';')[0].trim()
    if (!HEX.test(sizeText)) return `chunk size ${JSON.stringify(sizeText.slice(0, 20))}`
    const size = parseInt(sizeText, 16)
    at = lineEnd + 2
    if (size === 0) {
      // Trailers, if any, up to the blank line.
      for (;;) {
        const end = bytes.indexOf(CRLF, at)
        if (end === -1) return bytes.length - at > MAX_HEAD_BYTES ? 'trailers too long' : undefined
        const empty = end === at
        at = end + 2
        if (empty) return { body: Buffer.concat(parts), length: at }
      }
    }
    if (at + size + 2 > bytes.length) return undefined
    if (bytes[at + size] !== 0x0d || bytes[at + size + 1] !== 0x0a) return 'a chunk not followed by CRLF'
    parts.push(bytes.subarray(at, at + size))
    at += size + 2
  }
}
