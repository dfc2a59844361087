import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { once } from 'node:events'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { test } from 'node:test'
import { SocketTransport } from '../src/agent-client/socket-transport.js'
import { BODY_PIECE_BYTES, type TransportResponse } from '../src/agent-client/transport.js'
import { faultAgent, firstForeignByte, payloadBytes, until } from './support/fault-agent.js'

// How the client hands a payload's bytes to the agent when the agent does not simply read a request and
// then answer it: each test here failed on the client before the delivery rules were written down.

type Ctx = { after: (fn: () => Promise<void> | void) => void }

const OK = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}'
const TOO_LARGE = 'HTTP/1.1 413 Request Entity Too Large\r\ncontent-length: 17\r\n\r\npayload-too-large'

function transportFor(t: Ctx, url: URL): SocketTransport {
  const transport = new SocketTransport(url)
  t.after(() => transport.close())
  return transport
}

/**
 * Sends payload `id` from `buffer` as the exporter does, and overwrites the buffer the moment the send
 * settles, as the exporter's pool does when it hands the buffer to the next payload: any byte the agent
 * receives after that is foreign.
 */
async function sendPooled(transport: SocketTransport, id: number, buffer: Buffer, timeoutMs: number): Promise<TransportResponse> {
  payloadBytes(id, buffer.length, buffer)
  try {
    return await transport.send('/v0.4/traces', 'PUT', { 'x-payload': String(id) }, buffer, timeoutMs)
  } finally {
    buffer.fill(0xee)
  }
}

/** Every body the agent received is its own payload's, byte for byte (a prefix when cut short). */
function assertOwnBytes(requests: { headers: Readonly<Record<string, string>>; contentLength: number; body(): Buffer }[]): void {
  for (const request of requests) {
    const id = Number(request.headers['x-payload'])
    const at = firstForeignByte(id, request.contentLength, request.body())
    assert.equal(at, -1, `payload ${id}: a foreign byte at offset ${at} of ${request.contentLength}`)
  }
}

interface Failure {
  code?: string
  stage?: string
}

/** What a send rejected with; undefined when it resolved. */
function failureOf(sent: Promise<TransportResponse>): Promise<Failure | undefined> {
  return sent.then(
    () => undefined,
    (err: unknown) => err as Failure
  )
}

/** An address on 127.0.0.1 where nothing listens any more. */
async function closedPort(): Promise<URL> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return url
}

/** The client sockets opened while `fn` runs, seen through Node's own `net.client.socket` channel. */
async function withClientSockets<T>(fn: (sockets: Socket[]) => Promise<T>): Promise<T> {
  const sockets: Socket[] = []
  const onSocket = (message: unknown) => sockets.push((message as { socket: Socket }).socket)
  subscribe('net.client.socket', onSocket)
  try {
    return await fn(sockets)
  } finally {
    unsubscribe('net.client.socket', onSocket)
  }
}

test('an agent that answers 200 while the body is still queued, then reads the rest, gets the rest of this body, not of the next payload', async (t) => {
  // The agent stops reading after the head, so the body backs up on the client; then it reads again and
  // answers once it has 1 MiB, keeping on reading. The client may settle only after its last byte left.
  const answered = new Set<object>()
  const agent = await faultAgent(t, {
    head: (_request, side) => side.pauseFor(150),
    body: (request, side) => {
      if (request.received >= 1 << 20 && !answered.has(request)) {
        answered.add(request)
        side.write(OK)
      }
    }
  })
  const transport = transportFor(t, agent.url)
  const buffer = Buffer.alloc(8 << 20)
  const answer = await sendPooled(transport, 1, buffer, 5000)
  assert.equal(answer.status, 200)
  await until(() => agent.requests[0]?.complete === true, 'the whole body at the agent')
  assertOwnBytes(agent.requests)
})

test('an agent that answers 200 after the first 64 KiB and then reads the rest receives the whole body; the connection serves the next request', async (t) => {
  const answered = new Set<object>()
  const agent = await faultAgent(t, {
    body: (request, side) => {
      if (request.received >= BODY_PIECE_BYTES && !answered.has(request)) {
        answered.add(request)
        side.write(OK)
      }
    }
  })
  const transport = transportFor(t, agent.url)
  const buffer = Buffer.alloc(2 << 20)
  assert.equal((await sendPooled(transport, 1, buffer, 5000)).status, 200)
  await until(() => agent.requests[0].complete, 'the whole first body at the agent')
  assert.equal((await sendPooled(transport, 2, buffer, 5000)).status, 200)
  await until(() => agent.requests[1].complete, 'the whole second body at the agent')
  assert.equal(agent.requests.length, 2)
  assert.equal(agent.connections(), 1, 'both bodies were framed whole, so the connection stayed sound')
  assertOwnBytes(agent.requests)
})

test('an early 413 from an agent that keeps reading: the body goes out whole, then the answer settles the send', async (t) => {
  const agent = await faultAgent(t, { head: (_request, side) => side.write(TOO_LARGE), request: () => {} })
  const transport = transportFor(t, agent.url)
  const buffer = Buffer.alloc(BODY_PIECE_BYTES * 8)
  const answer = await sendPooled(transport, 7, buffer, 5000)
  assert.equal(answer.status, 413)
  assert.equal(answer.body, 'payload-too-large')
  await until(() => agent.requests[0].complete, 'the whole body at the agent')
  assertOwnBytes(agent.requests)
})

test('writes respect backpressure: an agent that does not read never has more than one piece queued on the client', async (t) => {
  const agent = await faultAgent(t, { head: (_request, side) => side.socket.pause() })
  const transport = transportFor(t, agent.url)
  await withClientSockets(async (sockets) => {
    const body = payloadBytes(3, 16 << 20)
    const sent = failureOf(transport.send('/v0.4/traces', 'PUT', { 'x-payload': '3' }, body, 1000))
    await until(() => sockets.length === 1, 'the client socket')
    // 400 turns of the event loop: room for all 256 pieces of the body, one per turn, had nothing held them.
    let most = 0
    for (let turn = 0; turn < 400; turn++) {
      most = Math.max(most, sockets[0].writableLength)
      await new Promise((resolve) => setImmediate(resolve))
    }
    assert.ok(most <= BODY_PIECE_BYTES + 1024, `at most one piece and the head queued, saw ${most} bytes`)
    const err = await sent
    assert.equal(err?.code, 'ETIMEDOUT')
    assert.equal(err?.stage, 'not-sent', 'the agent cannot have had the whole body')
  })
})

test('a reused connection closed after the whole body went out is not retried: the agent may have it', async (t) => {
  const agent = await faultAgent(t, {
    request: (request, side) => {
      if (agent.requests.indexOf(request) === 0) side.write(OK)
      else side.reset()
    }
  })
  const transport = transportFor(t, agent.url)
  assert.equal((await transport.send('/v0.4/traces', 'PUT', {}, Buffer.from('first'), 2000)).status, 200)
  const err = await failureOf(transport.send('/v0.4/traces', 'PUT', {}, Buffer.from('second'), 2000))
  assert.equal(agent.requests.length, 2, 'sent once, not again')
  assert.equal(agent.connections(), 1)
  assert.deepEqual({ code: err?.code, stage: err?.stage }, { code: 'ECONNRESET', stage: 'maybe-delivered' })
})

test('a reused connection closed before the body went out whole is retried once on a new connection', async (t) => {
  const agent = await faultAgent(t, {
    head: (_request, side) => {
      if (side.index === 0 && agent.requests.length === 2) side.reset()
    },
    request: (_request, side) => side.write(OK)
  })
  const transport = transportFor(t, agent.url)
  const buffer = Buffer.alloc(16 << 20)
  assert.equal((await sendPooled(transport, 1, Buffer.alloc(10), 2000)).status, 200)
  assert.equal((await sendPooled(transport, 2, buffer, 5000)).status, 200)
  assert.equal(agent.connections(), 2)
  const whole = agent.requests.filter((r) => r.complete)
  assert.deepEqual(whole.map((r) => [r.connection, r.headers['x-payload']]), [[0, '1'], [1, '2']])
  assertOwnBytes(agent.requests)
})

test('every rejection says how far the request got', async (t) => {
  const stall = await faultAgent(t, {})
  const midBody = await faultAgent(t, { body: (request, side) => request.received >= 1 << 20 && side.reset() })
  const afterBody = await faultAgent(t, { request: (_request, side) => side.reset() })
  const garbage = await faultAgent(t, { request: (_request, side) => side.write('SMTP ready\r\n\r\n') })
  const notReading = await faultAgent(t, { head: (_request, side) => side.socket.pause() })
  const big = payloadBytes(1, 8 << 20)
  const small = Buffer.from('x')
  const refusedUrl = await closedPort()
  const cases: [string, Promise<Failure | undefined>, string, string][] = [
    ['refused', failureOf(new SocketTransport(refusedUrl).send('/v0.4/traces', 'PUT', {}, small, 1000)), 'ECONNREFUSED', 'not-sent'],
    ['reset mid-body', failureOf(transportFor(t, midBody.url).send('/v0.4/traces', 'PUT', {}, big, 3000)), 'ECONNRESET', 'not-sent'],
    ['reset after the body', failureOf(transportFor(t, afterBody.url).send('/v0.4/traces', 'PUT', {}, small, 3000)), 'ECONNRESET', 'maybe-delivered'],
    ['no answer', failureOf(transportFor(t, stall.url).send('/v0.4/traces', 'PUT', {}, small, 300)), 'ETIMEDOUT', 'maybe-delivered'],
    ['not read', failureOf(transportFor(t, notReading.url).send('/v0.4/traces', 'PUT', {}, big, 300)), 'ETIMEDOUT', 'not-sent'],
    ['garbage', failureOf(transportFor(t, garbage.url).send('/v0.4/traces', 'PUT', {}, small, 3000)), 'ERR_AGENT_RESPONSE', 'maybe-delivered']
  ]
  for (const [name, sent, code, stage] of cases) {
    const err = await sent
    assert.deepEqual({ name, code: err?.code, stage: err?.stage }, { name, code, stage })
  }
})

test('bytes the agent sends after its answer are never read as the next request\'s answer', async (t) => {
  // An answer of exactly 64 KiB, the size of one socket read, and a stray answer behind it in the same
  // write: the client reads them in two reads of one turn, and the next request goes out between them.
  const head = 'HTTP/1.1 200 OK\r\ncontent-length: '
  const bodyLength = 65536 - head.length - '65464\r\n\r\n'.length
  const first = `${head}${bodyLength}\r\n\r\n${'f'.repeat(bodyLength)}`
  assert.equal(first.length, 65536)
  const agent = await faultAgent(t, {
    request: (request, side) => {
      if (request.headers['x-payload'] === '1') side.write(first + 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nstray')
      else side.write('HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecond')
    }
  })
  const transport = transportFor(t, agent.url)
  for (let round = 0; round < 5; round++) {
    assert.equal((await transport.send('/v0.4/traces', 'PUT', { 'x-payload': '1' }, Buffer.from('a'), 2000)).body.length, bodyLength)
    assert.equal((await transport.send('/v0.4/traces', 'PUT', { 'x-payload': '2' }, Buffer.from('b'), 2000)).body, 'second', `round ${round}`)
  }
})
