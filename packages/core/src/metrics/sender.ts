import { Buffer } from 'node:buffer'
import { createSocket, type Socket } from 'node:dgram'
import { lookup } from 'node:dns'
import { isIP } from 'node:net'
import type { Diagnostics } from '../base/diagnostics.js'
import type { Transport } from '../agent-client/transport.js'
import { runSuppressed } from '../model/context.js'
import { MAX_PACKET_BYTES, packLines } from './packets.js'

/** The agent's endpoint that forwards DogStatsD lines to its DogStatsD server (one line a datagram). */
export const DOGSTATSD_PROXY_PATH = '/dogstatsd/v2/proxy'
/**
 * Largest body of one proxy request. Agents before 7.47 wrote the whole body as one datagram to
 * DogStatsD, so a body stays well under the 64 KiB a datagram can hold; more goes in further requests.
 */
export const MAX_PROXY_BODY_BYTES = 32 * 1024
/** Packets waiting to be sent, at most (512 KiB); past it new ones are dropped and counted. */
export const DEFAULT_MAX_QUEUED_PACKETS = 512

export interface DogStatsDSenderOptions {
  /** The agent client: lines go to its DogStatsD proxy endpoint first. Without one, UDP only. */
  transport?: Transport
  /** The agent's address, for messages. */
  agentUrl?: string
  /** DogStatsD's UDP host and port, used after the proxy fails. */
  host: string
  port: number
  diagnostics: Diagnostics
  /** Timeout of one proxy request. Default 2000. */
  requestTimeoutMs?: number
  /** Default `MAX_PACKET_BYTES` (1024). */
  maxPacketBytes?: number
  /** Default `DEFAULT_MAX_QUEUED_PACKETS`. */
  maxQueuedPackets?: number
}

/** What the sender did since it started. HTTP requests count as one packet each. */
export interface SenderCounters {
  packetsSent: number
  bytesSent: number
  packetsDropped: number
  bytesDropped: number
  /** Lines over `MAX_LINE_BYTES`, never sent. */
  linesDropped: number
  httpRequests: number
  httpErrors: number
  udpPackets: number
}

export type SenderMode = 'http' | 'udp'

interface Target {
  readonly address: string
  readonly family: 4 | 6
}

/**
 * Sends DogStatsD lines as dd-trace does: a POST to the agent's proxy endpoint (so it works over the
 * agent's Unix socket too); after an HTTP error those lines go over UDP instead, and after a 404 every
 * later line does (the agent has no proxy). `send` only queues; one loop sends, so a slow agent never
 * holds the caller and the queue is bounded. Nothing here throws, and each kind of failure is written
 * once until a send succeeds again: a dead endpoint costs one line in the app's log, not one a flush.
 */
export class DogStatsDSender {
  readonly #transport: Transport | undefined
  readonly #agentUrl: string
  readonly #host: string
  readonly #port: number
  readonly #diagnostics: Diagnostics
  readonly #timeoutMs: number
  readonly #maxPacketBytes: number
  readonly #maxQueued: number
  #mode: SenderMode
  #queue: Buffer[] = []
  #running: Promise<void> | undefined
  #sockets: { 4?: Socket; 6?: Socket } = {}
  #closed = false
  /** Problems already written to the log; each is written again only after a success. */
  readonly #reported = new Set<string>()
  readonly counters: SenderCounters = {
    packetsSent: 0,
    bytesSent: 0,
    packetsDropped: 0,
    bytesDropped: 0,
    linesDropped: 0,
    httpRequests: 0,
    httpErrors: 0,
    udpPackets: 0
  }

  constructor(options: DogStatsDSenderOptions) {
    this.#transport = options.transport
    this.#agentUrl = options.agentUrl ?? 'the agent'
    this.#host = options.host
    this.#port = options.port
    this.#diagnostics = options.diagnostics
    this.#timeoutMs = options.requestTimeoutMs ?? 2000
    this.#maxPacketBytes = options.maxPacketBytes ?? MAX_PACKET_BYTES
    this.#maxQueued = options.maxQueuedPackets ?? DEFAULT_MAX_QUEUED_PACKETS
    this.#mode = options.transport === undefined ? 'udp' : 'http'
  }

  /** `http` while the agent's proxy is used, `udp` for good after it answered 404 (or without an agent client). */
  get mode(): SenderMode {
    return this.#mode
  }

  /** Queues newline-ended lines, packed into packets; returns at once. */
  send(lines: readonly string[]): void {
    if (lines.length === 0) return
    const { packets, droppedLines } = packLines(lines, this.#maxPacketBytes)
    this.counters.linesDropped += droppedLines
    for (const packet of packets) {
      if (this.#closed || this.#queue.length >= this.#maxQueued) this.#drop(packet.length, 1)
      else this.#queue.push(packet)
    }
    if (this.#queue.length > 0) this.#running ??= runSuppressed(() => this.#run())
  }

  /** Resolves once everything queued so far went out or was dropped. Never rejects. */
  async flush(): Promise<void> {
    while (this.#running !== undefined) await this.#running
  }

  /** Sends what is queued, then closes the UDP sockets. Safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true
    await this.flush()
    for (const socket of [this.#sockets[4], this.#sockets[6]]) {
      try {
        socket?.close()
      } catch {
        // Already closed.
      }
    }
    this.#sockets = {}
  }

  async #run(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#mode === 'http' ? this.#take(MAX_PROXY_BODY_BYTES) : this.#take(Infinity)
        if (this.#mode === 'http' && (await this.#post(batch))) continue
        await this.#sendUdp(batch)
      }
    } catch (err) {
      // A bug here must cost the metrics of one flush, never an unhandled rejection in the app.
      const dropped = this.#queue.splice(0)
      this.#drop(dropped.reduce((n, p) => n + p.length, 0), dropped.length)
      this.#diagnostics.debug(`DogStatsD sender failed: ${String(err)}`)
    } finally {
      this.#running = undefined
    }
  }

  #take(maxBytes: number): Buffer[] {
    const batch: Buffer[] = []
    let size = 0
    while (this.#queue.length > 0) {
      const next = this.#queue[0]
      if (batch.length > 0 && size + next.length > maxBytes) break
      batch.push(next)
      size += next.length
      this.#queue.shift()
    }
    return batch
  }

  /** One POST to the proxy; false when the lines must go over UDP instead. */
  async #post(batch: Buffer[]): Promise<boolean> {
    const transport = this.#transport
    if (transport === undefined) return false
    const body = Buffer.concat(batch)
    this.counters.httpRequests++
    let status: number
    try {
      status = (await transport.send(DOGSTATSD_PROXY_PATH, 'POST', { 'content-type': 'text/plain' }, body, this.#timeoutMs)).status
    } catch (err) {
      this.counters.httpErrors++
      const code = (err as { code?: unknown } | null)?.code
      this.#report('http', `sending metrics to ${this.#agentUrl}${DOGSTATSD_PROXY_PATH} failed (${typeof code === 'string' ? code : String(err)}); sending them over UDP to ${this.#udpAddress()} instead`)
      return false
    }
    if (status >= 200 && status < 300) {
      this.counters.packetsSent++
      this.counters.bytesSent += body.length
      this.#recovered('http')
      return true
    }
    this.counters.httpErrors++
    if (status === 404) {
      this.#mode = 'udp'
      this.#report('http', `the agent at ${this.#agentUrl} has no DogStatsD proxy (${DOGSTATSD_PROXY_PATH} answered 404); metrics go over UDP to ${this.#udpAddress()} from now on`)
    } else {
      this.#report('http', `${this.#agentUrl}${DOGSTATSD_PROXY_PATH} answered ${status}; sending metrics over UDP to ${this.#udpAddress()} instead`)
    }
    return false
  }

  async #sendUdp(batch: Buffer[]): Promise<void> {
    let target: Target
    try {
      target = await this.#target()
    } catch (err) {
      this.#drop(batch.reduce((n, p) => n + p.length, 0), batch.length)
      this.#report('udp', `cannot resolve the DogStatsD host ${this.#host} (${(err as { code?: string }).code ?? String(err)}); metrics are dropped`)
      return
    }
    const socket = this.#socket(target.family)
    await Promise.all(
      batch.map(
        (packet) =>
          new Promise<void>((resolve) => {
            const done = (err: Error | null): void => {
              if (err === null) {
                this.counters.packetsSent++
                this.counters.udpPackets++
                this.counters.bytesSent += packet.length
                this.#recovered('udp')
              } else {
                this.#drop(packet.length, 1)
                this.#report('udp', `sending metrics over UDP to ${this.#udpAddress()} failed (${(err as { code?: string }).code ?? err.message}); metrics are dropped`)
              }
              resolve()
            }
            try {
              socket.send(packet, this.#port, target.address, done)
            } catch (err) {
              done(err instanceof Error ? err : new Error(String(err)))
            }
          })
      )
    )
  }

  #target(): Promise<Target> {
    const family = isIP(this.#host)
    if (family === 4 || family === 6) return Promise.resolve({ address: this.#host, family })
    return new Promise((resolve, reject) => {
      lookup(this.#host, (err, address, found) => {
        if (err !== null) reject(err)
        else resolve({ address, family: found === 6 ? 6 : 4 })
      })
    })
  }

  #socket(family: 4 | 6): Socket {
    let socket = this.#sockets[family]
    if (socket === undefined) {
      socket = createSocket(family === 6 ? 'udp6' : 'udp4')
      // Errors arrive through each send's callback; an unhandled 'error' event would end the process.
      socket.on('error', () => {})
      socket.unref()
      this.#sockets[family] = socket
    }
    return socket
  }

  #udpAddress(): string {
    return isIP(this.#host) === 6 ? `[${this.#host}]:${this.#port}` : `${this.#host}:${this.#port}`
  }

  #drop(bytes: number, packets: number): void {
    this.counters.packetsDropped += packets
    this.counters.bytesDropped += bytes
  }

  #report(kind: string, message: string): void {
    if (this.#reported.has(kind)) {
      this.#diagnostics.debug(message)
      return
    }
    this.#reported.add(kind)
    this.#diagnostics.warn(`metrics:${kind}`, message)
  }

  #recovered(kind: string): void {
    if (this.#reported.delete(kind)) this.#diagnostics.reset(`metrics:${kind}`)
  }
}
