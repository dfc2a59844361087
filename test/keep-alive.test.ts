import assert from 'node:assert/strict'
import { once } from 'node:events'
import { Agent as HttpAgent, createServer, request, type IncomingMessage, type RequestListener, type Server } from 'node:http'
import { connect as http2Connect } from 'node:http2'
import { createRequire } from 'node:module'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { startAgent } from '@datadog-apm/agent'
import { createTracer, type Span, type Tracer } from '@datadog-apm/core'
import { datadog } from '@datadog-apm/express'
import { datadogPlugin } from '@datadog-apm/fastify'
import Fastify from 'fastify'

// Node arms a connection's keep-alive timer after each response, inside the request's async context.
// The tracer re-arms it outside, so that an idle keep-alive connection does not keep its last request
// (span, tags, trace) alive; the timer itself must behave as before. Real apps on 127.0.0.1, the local
// intake as the agent, a keep-alive client that holds its connection open.

// Express is loaded untyped (the e2e package has no @types/express); this is the little of it used here.
interface ExpressApp extends RequestListener {
  use(middleware: unknown): void
  get(path: string, handler: (req: { params: Record<string, string> }, res: { json(body: unknown): void }) => void): void
}
const express = createRequire(import.meta.url)('express') as () => ExpressApp

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

type Ctx = { after(fn: () => Promise<void> | void): void }

interface Served {
  readonly url: string
  readonly server: Server
}

interface TracedServer extends Served {
  /** How many request spans were garbage-collected, and how many there were. */
  collected(): { spans: number; collected: number }
  /** The server's side of each connection it accepted. */
  readonly sockets: Socket[]
}

type Framework = (t: Ctx, tracer: Tracer, keepAliveTimeout: number, onSpan: (span: Span) => void) => Promise<Served>

const frameworks: Record<string, Framework> = {
  async express(t, tracer, keepAliveTimeout, onSpan) {
    const app = express()
    app.use(datadog({ tracer, hooks: { request: onSpan } }))
    app.get('/users/:id', (req, res) => {
      res.json({ id: req.params.id })
    })
    const server = createServer(app)
    server.keepAliveTimeout = keepAliveTimeout
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.after(() => {
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    })
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
  },
  async fastify(t, tracer, keepAliveTimeout, onSpan) {
    const app = Fastify()
    // Set on the server itself: Fastify's option takes 0 for its default (72 s).
    app.server.keepAliveTimeout = keepAliveTimeout
    await app.register(datadogPlugin, { tracer, hooks: { request: onSpan } })
    app.get('/users/:id', (req, reply) => {
      void reply.send({ id: (req.params as { id: string }).id })
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    t.after(() => app.close())
    return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, server: app.server }
  }
}

async function tracedServer(t: Ctx, framework: Framework, keepAliveTimeout: number): Promise<TracedServer & { tracer: Tracer }> {
  const agent = await startAgent()
  const tracer = createTracer({ service: 'keep-alive', url: agent.url, flushOnExit: false, flushIntervalMs: 20 })
  t.after(async () => {
    await tracer.shutdown()
    await agent.close()
  })
  // A FinalizationRegistry rather than a WeakRef: a WeakRef keeps its target alive for the rest of the
  // job that created or read it.
  let spans = 0
  let collected = 0
  const registry = new FinalizationRegistry<number>(() => collected++)
  const served = await framework(t, tracer, keepAliveTimeout, (span) => {
    registry.register(span, ++spans)
  })
  const sockets: Socket[] = []
  served.server.on('connection', (socket: Socket) => sockets.push(socket))
  return { ...served, tracer, sockets, collected: () => ({ spans, collected }) }
}

/** One GET over `agent`'s connection; the response read to its end, and the client socket it used. */
async function get(url: string, agent: HttpAgent): Promise<{ res: IncomingMessage; body: string; socket: Socket }> {
  const req = request(url, { agent })
  req.end()
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  let body = ''
  res.setEncoding('utf8')
  for await (const chunk of res) body += chunk as string
  return { res, body, socket: req.socket as Socket }
}

for (const [name, framework] of Object.entries(frameworks)) {
  test(`${name}: an idle keep-alive connection does not keep its last request span alive`, async (t) => {
    const served = await tracedServer(t, framework, 60_000)
    const client = new HttpAgent({ keepAlive: true, maxSockets: 1 })
    t.after(() => client.destroy())
    const first = await get(`${served.url}/users/1`, client)
    assert.equal(first.res.statusCode, 200)
    assert.equal(first.res.headers.connection, 'keep-alive')
    // The span was sent; the connection stays open and idle, its keep-alive timer armed.
    await served.tracer.flush()
    for (let i = 0; i < 50 && served.collected().collected === 0; i++) {
      gc()
      await sleep(10)
    }
    assert.deepEqual(served.collected(), { spans: 1, collected: 1 }, 'the request span is still reachable while its connection idles')
    assert.equal(first.socket.destroyed, false, 'the keep-alive connection was closed')
    // The connection is still usable, and the next request is traced on it as usual.
    const second = await get(`${served.url}/users/2`, client)
    assert.equal(second.socket, first.socket)
    assert.equal(second.body, '{"id":"2"}')
    assert.equal(served.collected().spans, 2)
  })
  test(`${name}: a server without a keep-alive timeout gets no timer on its connections`, async (t) => {
    const served = await tracedServer(t, framework, 0)
    const client = new HttpAgent({ keepAlive: true, maxSockets: 1 })
    t.after(() => client.destroy())
    const { res } = await get(`${served.url}/users/1`, client)
    assert.equal(res.statusCode, 200)
    await served.tracer.flush()
    assert.equal(served.collected().spans, 1)
    assert.equal(served.sockets.length, 1)
    assert.equal(served.sockets[0].timeout, undefined)
  })

  test(`${name}: the keep-alive timeout still closes an idle connection, on time`, async (t) => {
    // Node closes an idle connection keepAliveTimeout + 1 s after the response (its buffer against races
    // with clients); the re-armed timer keeps that length. A raw socket, because Node's own client
    // would close first, following the response's Keep-Alive hint.
    const served = await tracedServer(t, framework, 300)
    const socket = connect(Number(new URL(served.url).port), '127.0.0.1')
    t.after(() => socket.destroy())
    await once(socket, 'connect')
    let response = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => (response += chunk))
    socket.write('GET /users/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    const started = Date.now()
    await once(socket, 'end')
    const elapsed = Date.now() - started
    assert.match(response, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n\{"id":"1"\}$/)
    assert.equal(served.sockets.length, 1)
    assert.ok(elapsed >= 1200 && elapsed < 4000, `the server closed the idle connection after ${elapsed} ms`)
    assert.equal(served.collected().spans, 1)
  })
}

test('fastify over HTTP/2 (h2c): requests are answered and traced on one session, without a warning', async (t) => {
  // An HTTP/2 request's `socket` is a proxy of its stream and session (the re-arm leaves it alone).
  const agent = await startAgent()
  const warnings: string[] = []
  const tracer = createTracer({ service: 'h2c', url: agent.url, flushOnExit: false, flushIntervalMs: 20, diagnostics: { write: (line) => warnings.push(line) } })
  t.after(async () => {
    await tracer.shutdown()
    await agent.close()
  })
  const app = Fastify({ http2: true })
  await app.register(datadogPlugin, { tracer })
  app.get('/users/:id', (req, reply) => {
    void reply.send({ id: (req.params as { id: string }).id })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const session = http2Connect(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`)
  // The client session goes first: the server's close waits for open sessions (72 s on Node 20).
  t.after(() => {
    session.destroy()
    return app.close()
  })
  for (const id of ['1', '2']) {
    const stream = session.request({ ':path': `/users/${id}` })
    const [headers] = (await once(stream, 'response')) as [Record<string, unknown>]
    let body = ''
    stream.setEncoding('utf8')
    for await (const chunk of stream) body += chunk as string
    assert.equal(headers[':status'], 200)
    assert.equal(body, `{"id":"${id}"}`)
  }
  await tracer.flush()
  const traces = await agent.waitForTraces(2, { filter: (trace) => trace.spans.some((s) => s.service === 'h2c'), timeoutMs: 5000 })
  assert.deepEqual(traces.map((trace) => trace.spans[0]?.resource).sort(), ['GET /users/:id', 'GET /users/:id'])
  assert.equal(session.closed, false)
  assert.deepEqual(warnings, [])
})
