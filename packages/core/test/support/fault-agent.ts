import { once } from 'node:events'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { createServer as createTlsServer, type TlsOptions } from 'node:tls'

type Ctx = { after: (fn: () => Promise<void> | void) => void }

/** One request as the agent saw it: its head, and as much of its body as arrived. */
export interface AgentRequest {
  /** Index of the connection it came on, in the order connections were accepted. */
  readonly connection: number
  /** How many requests came on the same connection before it. */
  readonly before: number
  readonly method: string
  readonly path: string
  /** Header names lowercased. */
  readonly headers: Readonly<Record<string, string>>
  readonly contentLength: number
  /** Body bytes received so far. */
  received: number
  /** The whole body arrived. */
  complete: boolean
  body(): Buffer
}

/** The agent's side of one connection, for a script to answer (or misbehave) on. */
export interface AgentSide {
  readonly socket: Socket
  readonly index: number
  /** Writes raw bytes; a write to a closed socket is ignored. */
  write(bytes: string | Buffer): void
  /** Ends the connection with a TCP reset. */
  reset(): void
  /** Stops reading for `ms` (the client's writes back up), then reads again. */
  pauseFor(ms: number): void
}

/** What the agent does, called as each request's head, body bytes and end arrive. */
export interface Script {
  head?(request: AgentRequest, side: AgentSide): void
  body?(request: AgentRequest, side: AgentSide): void
  request?(request: AgentRequest, side: AgentSide): void
}

export interface FaultAgent {
  readonly url: URL
  /** Every request that started to arrive, in order, complete or not. */
  readonly requests: AgentRequest[]
  connections(): number
  /** Connections still open on the agent's side. */
  open(): number
  /** Nothing more can arrive for any request so far: each is complete or its connection closed. */
  quiet(): boolean
  /** Reads again on every connection a script paused: what the client still had queued arrives. */
  resume(): void
}

const HEAD_END = Buffer.from('\r\n\r\n')

/**
 * A raw `net` server on 127.0.0.1 that parses HTTP/1.1 requests framed by content-length, one after the
 * other on each connection, records every byte of every body, and lets a script answer as a
 * misbehaving agent would: early, late, in pieces, with garbage, or with a reset. Stopped when the test ends.
 */
export async function faultAgent(t: Ctx, script: Script, tls?: TlsOptions): Promise<FaultAgent> {
  const requests: AgentRequest[] = []
  const sockets = new Set<Socket>()
  const closed = new Set<number>()
  let accepted = 0
  const onConnection = (socket: Socket) => {
    sockets.add(socket)
    const index = accepted++
    const side: AgentSide = {
      socket,
      index,
      write: (bytes) => {
        if (!socket.destroyed && socket.writable) socket.write(bytes)
      },
      reset: () => {
        if (!socket.destroyed) socket.resetAndDestroy()
      },
      pauseFor: (ms) => {
        socket.pause()
        setTimeout(() => {
          if (!socket.destroyed) socket.resume()
        }, ms)
      }
    }
    let pending: Buffer = Buffer.alloc(0)
    let current: (AgentRequest & { chunks: Buffer[] }) | undefined
    let served = 0
    socket.on('data', (bytes: Buffer) => {
      pending = pending.length === 0 ? bytes : Buffer.concat([pending, bytes])
      while (pending.length > 0 && !socket.destroyed) {
        if (current === undefined) {
          const end = pending.indexOf(HEAD_END)
          if (end === -1) return
          const lines = pending.toString('latin1', 0, end).split('\r\n')
          const [method = '', path = ''] = lines[0].split(' ')
          const headers: Record<string, string> = {}
          for (const line of lines.slice(1)) {
            const colon = line.indexOf(':')
            headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
          }
          const chunks: Buffer[] = []
          current = {
            connection: index,
            before: served++,
            method,
            path,
            headers,
            contentLength: Number(headers['content-length'] ?? 0),
            received: 0,
            complete: false,
            chunks,
            body: () => Buffer.concat(chunks)
          }
          requests.push(current)
          pending = pending.subarray(end + HEAD_END.length)
          script.head?.(current, side)
        }
        const request = current
        const take = Math.min(pending.length, request.contentLength - request.received)
        if (take > 0) {
          request.chunks.push(Buffer.from(pending.subarray(0, take)))
          request.received += take
          pending = pending.subarray(take)
          script.body?.(request, side)
        }
        if (request.received === request.contentLength) {
          request.complete = true
          current = undefined
          script.request?.(request, side)
        }
      }
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      sockets.delete(socket)
      closed.add(index)
    })
  }
  const server = tls === undefined ? createServer(onConnection) : createTlsServer(tls, onConnection)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    for (const socket of sockets) socket.destroy()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return {
    url: new URL(`${tls === undefined ? 'http' : 'https'}://127.0.0.1:${(server.address() as AddressInfo).port}`),
    requests,
    connections: () => accepted,
    open: () => sockets.size,
    quiet: () => requests.every((r) => r.complete || closed.has(r.connection)),
    resume: () => {
      for (const socket of sockets) socket.resume()
    }
  }
}

/** Waits until `condition` holds, checking every few milliseconds; fails after `deadlineMs`. */
export async function until(condition: () => boolean, what: string, deadlineMs = 3000): Promise<void> {
  const deadline = Date.now() + deadlineMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Bytes in the block a payload's body repeats: a prime, so no piece size is a multiple of it. */
const BLOCK = 65521

/**
 * The body of payload `id`: a block of bytes from a generator seeded by the id, repeated. Any byte of
 * another payload (or of a buffer reused for one) shows up as a mismatch, and so does a piece of this
 * payload out of place, since pieces are 64 KiB and the block is not.
 */
export function payloadBytes(id: number, length: number, into?: Buffer): Buffer {
  const block = Buffer.allocUnsafe(BLOCK)
  let x = (id * 2654435761 + 1) >>> 0 || 1
  for (let i = 0; i + 4 <= BLOCK; i += 4) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    block.writeUInt32LE(x >>> 0, i)
  }
  for (let i = BLOCK - (BLOCK % 4); i < BLOCK; i++) block[i] = id & 0xff
  const out = into ?? Buffer.allocUnsafe(length)
  return length === 0 ? out : out.fill(block, 0, length)
}

/**
 * Where `received` first differs from the start of payload `id`'s body of `length` bytes, or -1 when it
 * is a clean prefix of it (a cut body is fine; a foreign byte is not).
 */
export function firstForeignByte(id: number, length: number, received: Buffer): number {
  if (received.length > length) return length
  const expected = payloadBytes(id, received.length)
  if (expected.equals(received)) return -1
  for (let i = 0; i < received.length; i++) if (expected[i] !== received[i]) return i
  return -1
}
