import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { test, type TestContext } from 'node:test'
import { SocketTransport } from '../src/agent-client/socket-transport.js'
import { Diagnostics } from '../src/base/diagnostics.js'
import { MAX_PACKET_BYTES } from '../src/metrics/packets.js'
import { DOGSTATSD_PROXY_PATH, DogStatsDSender, MAX_PROXY_BODY_BYTES } from '../src/metrics/sender.js'
import { deadPort, proxyServer, udpReceiver, waitUntil } from './support/dogstatsd-servers.js'

function logged(): { diagnostics: Diagnostics; lines: string[] } {
  const lines: string[] = []
  return { diagnostics: new Diagnostics(false, { write: (line) => void lines.push(line) }), lines }
}

function sender(t: TestContext, options: { url?: URL; port: number; maxQueuedPackets?: number; timeoutMs?: number }, diagnostics: Diagnostics): DogStatsDSender {
  const transport = options.url === undefined ? undefined : new SocketTransport(options.url)
  const s = new DogStatsDSender({
    transport,
    agentUrl: options.url?.href,
    host: '127.0.0.1',
    port: options.port,
    diagnostics,
    maxQueuedPackets: options.maxQueuedPackets,
    requestTimeoutMs: options.timeoutMs
  })
  t.after(async () => {
    await s.close()
    await transport?.close()
  })
  return s
}

const lines = (n: number, prefix = 'm'): string[] => Array.from({ length: n }, (_, i) => `${prefix}.${i}:${i}|g|#service:svc\n`)

test('lines go in one POST to the agent proxy while it answers 200; nothing over UDP', async (t) => {
  const proxy = await proxyServer(t)
  const udp = await udpReceiver(t)
  const { diagnostics, lines: log } = logged()
  const s = sender(t, { url: proxy.url, port: udp.port }, diagnostics)
  s.send(lines(50))
  await s.flush()
  assert.equal(proxy.requests.length, 1)
  assert.equal(proxy.requests[0].method, 'POST')
  assert.equal(proxy.requests[0].path, DOGSTATSD_PROXY_PATH)
  assert.deepEqual(proxy.lines(), lines(50).map((l) => l.trimEnd()))
  assert.equal(s.mode, 'http')
  assert.equal(s.counters.httpRequests, 1)
  assert.equal(udp.packets.length, 0)
  assert.deepEqual(log, [])
})

test('a large flush goes in several proxy requests of at most MAX_PROXY_BODY_BYTES', async (t) => {
  const proxy = await proxyServer(t)
  const udp = await udpReceiver(t)
  const s = sender(t, { url: proxy.url, port: udp.port }, logged().diagnostics)
  const many = lines(2000)
  s.send(many)
  await s.flush()
  assert.ok(proxy.requests.length >= 2, `${proxy.requests.length} requests`)
  assert.ok(proxy.requests.every((r) => Buffer.byteLength(r.body) <= MAX_PROXY_BODY_BYTES))
  assert.deepEqual(proxy.lines(), many.map((l) => l.trimEnd()))
})

test('after an HTTP error the lines go over UDP; the proxy is tried again next time', async (t) => {
  const proxy = await proxyServer(t, 500)
  const udp = await udpReceiver(t)
  const { diagnostics, lines: log } = logged()
  const s = sender(t, { url: proxy.url, port: udp.port }, diagnostics)
  s.send(lines(3, 'first'))
  await s.flush()
  await waitUntil(() => udp.lines().length === 3, 'three lines over UDP')
  assert.deepEqual(udp.lines(), lines(3, 'first').map((l) => l.trimEnd()))
  assert.equal(s.mode, 'http')
  proxy.status = 200
  s.send(lines(2, 'second'))
  await s.flush()
  assert.equal(proxy.requests.length, 2)
  assert.deepEqual(proxy.lines().slice(-2), lines(2, 'second').map((l) => l.trimEnd()))
  assert.equal(log.length, 1, log.join(''))
  assert.match(log[0], /answered 500; sending metrics over UDP to 127\.0\.0\.1:\d+ instead/)
})

test('after a 404 every later line goes over UDP, and the proxy is never asked again', async (t) => {
  const proxy = await proxyServer(t, 404)
  const udp = await udpReceiver(t)
  const { diagnostics, lines: log } = logged()
  const s = sender(t, { url: proxy.url, port: udp.port }, diagnostics)
  s.send(lines(2, 'a'))
  await s.flush()
  assert.equal(s.mode, 'udp')
  proxy.status = 200
  for (let i = 0; i < 5; i++) {
    s.send(lines(2, `b${i}`))
    await s.flush()
  }
  await waitUntil(() => udp.lines().length === 12, 'twelve lines over UDP')
  assert.equal(proxy.requests.length, 1)
  assert.equal(log.length, 1)
  assert.match(log[0], /has no DogStatsD proxy \(\/dogstatsd\/v2\/proxy answered 404\); metrics go over UDP to 127\.0\.0\.1:\d+ from now on/)
})

test('an agent where nothing listens: UDP takes the lines, and twenty flushes cost one log line', async (t) => {
  const udp = await udpReceiver(t)
  const { diagnostics, lines: log } = logged()
  const s = sender(t, { url: new URL(`http://127.0.0.1:${await deadPort()}`), port: udp.port }, diagnostics)
  for (let i = 0; i < 20; i++) {
    s.send(lines(1, `f${i}`))
    await s.flush()
  }
  await waitUntil(() => udp.lines().length === 20, 'twenty lines over UDP')
  assert.equal(s.counters.httpErrors, 20)
  assert.equal(log.length, 1, log.join(''))
  assert.match(log[0], /sending metrics to http:\/\/127\.0\.0\.1:\d+\/\/dogstatsd\/v2\/proxy failed \(ECONNREFUSED\); sending them over UDP/)
})

test('UDP where nothing listens either: nothing throws, nothing is logged, the app goes on', async (t) => {
  const { diagnostics, lines: log } = logged()
  const s = sender(t, { url: new URL(`http://127.0.0.1:${await deadPort()}`), port: await deadPort() }, diagnostics)
  for (let i = 0; i < 10; i++) {
    s.send(lines(5))
    await s.flush()
  }
  assert.equal(log.length, 1, 'only the proxy failure; a datagram to a closed port is not reported back')
})

test('UDP packets carry several lines, stay under 1024 bytes and split when full', async (t) => {
  const udp = await udpReceiver(t)
  const s = sender(t, { port: udp.port }, logged().diagnostics)
  const many = lines(300)
  s.send(many)
  await s.flush()
  await waitUntil(() => udp.lines().length === 300, 'every line')
  assert.ok(udp.packets.every((p) => p.length <= MAX_PACKET_BYTES), udp.packets.map((p) => p.length).join(','))
  assert.ok(udp.packets.every((p) => p.toString().endsWith('\n')), 'no line is cut between packets')
  // Every packet but the last was full: the next line would not have fitted.
  const longest = Math.max(...many.map((l) => Buffer.byteLength(l)))
  const sizes = udp.packets.map((p) => p.length).sort((a, b) => b - a)
  assert.ok(sizes.slice(0, -1).every((size) => size > MAX_PACKET_BYTES - longest), sizes.join(','))
  assert.ok(udp.packets.length > 1)
  assert.deepEqual(new Set(udp.lines()), new Set(many.map((l) => l.trimEnd())))
  assert.equal(s.counters.udpPackets, udp.packets.length)
})

test('a stalled agent never holds the caller, and the queue is bounded', async (t) => {
  // Accepts connections and never answers.
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    for (const socket of sockets) socket.destroy()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const udp = await udpReceiver(t)
  const s = sender(t, { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), port: udp.port, maxQueuedPackets: 4, timeoutMs: 300 }, logged().diagnostics)
  const started = performance.now()
  for (let i = 0; i < 10; i++) s.send(lines(20, `q${i}`))
  assert.ok(performance.now() - started < 50, 'send only queues')
  await s.flush()
  // The first packet is in the request when the rest arrive; 4 wait; the other 5 are dropped and counted.
  assert.equal(s.counters.packetsDropped, 5, JSON.stringify(s.counters))
  await waitUntil(() => udp.packets.length === 5, 'the five packets over UDP after the timeouts')
  assert.equal(s.counters.httpErrors, 2)
})
