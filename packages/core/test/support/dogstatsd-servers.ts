import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'

/** A DogStatsD server on 127.0.0.1: every datagram received, stopped when the test ends. */
export interface UdpReceiver {
  readonly port: number
  readonly packets: Buffer[]
  /** Every line of every packet, in order. */
  lines(): string[]
}

export async function udpReceiver(t: TestContext): Promise<UdpReceiver> {
  const packets: Buffer[] = []
  const socket = createSocket('udp4')
  socket.on('message', (message) => packets.push(message))
  socket.bind(0, '127.0.0.1')
  await once(socket, 'listening')
  t.after(() => new Promise<void>((resolve) => socket.close(() => resolve())))
  return {
    port: socket.address().port,
    packets,
    lines: () => packets.flatMap((p) => p.toString('utf8').split('\n').filter((l) => l !== ''))
  }
}

export interface ProxyRequest {
  readonly method: string | undefined
  readonly path: string | undefined
  readonly headers: IncomingHttpHeaders
  readonly body: string
  /** The client's port: requests that share it came on one connection. */
  readonly remotePort: number | undefined
}

/** An agent's DogStatsD proxy on 127.0.0.1 that records each request (to any path) and answers `status`. */
export interface ProxyServer {
  readonly url: URL
  readonly requests: ProxyRequest[]
  status: number
  lines(): string[]
}

export async function proxyServer(t: TestContext, status = 200): Promise<ProxyServer> {
  const requests: ProxyRequest[] = []
  const proxy: { status: number } = { status }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      requests.push({ method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), remotePort: req.socket.remotePort })
      res.statusCode = proxy.status
      res.end()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  return Object.assign(proxy, {
    url,
    requests,
    lines: () => requests.flatMap((r) => r.body.split('\n').filter((l) => l !== ''))
  })
}

/** A loopback port nothing listens on (bound, read, released). */
export async function deadPort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Resolves once `check` is true, polling every 5 ms; rejects after `timeoutMs` with `what`. */
export async function waitUntil(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
