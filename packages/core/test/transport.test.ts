import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parseHead, readChunked } from '../src/agent-client/http1-response.js'
import { SocketTransport } from '../src/agent-client/socket-transport.js'
import { BODY_PIECE_BYTES, MAX_RESPONSE_BYTES } from '../src/agent-client/transport.js'
import { until } from './support/fault-agent.js'

type Ctx = { after: (fn: () => Promise<void> | void) => void }

/** A node:http server on 127.0.0.1 that records each request and the connections it saw, and answers 200. */
async function recorder(t: Ctx, answer = '{"rate_by_service":{}}') {
  const received: { method: string | undefined; url: string | undefined; headers: IncomingMessage['headers']; body: Buffer }[] = []
  let connections = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) })
      res.setHeader('content-type', 'application/json')
      res.end(answer)
    })
  })
  server.on('connection', () => connections++)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { server, url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), received, connections: () => connections }
}

/**
 * A raw TCP server on 127.0.0.1: `onData` gets each socket and what arrived so far, and answers as it
 * likes. `open()` counts the sockets not yet closed.
 */
async function rawServer(t: Ctx, onData: (socket: Socket, received: string, index: number) => void) {
  const sockets = new Set<Socket>()
  let index = 0
  const server = createNetServer((socket) => {
    sockets.add(socket)
    const n = index++
    let received = ''
    socket.on('data', (bytes) => {
      received += bytes.toString('latin1')
      onData(socket, received, n)
    })
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    for (const socket of sockets) socket.destroy()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), connections: () => index, open: () => sockets.size }
}

/** True once a whole request (head and content-length body) is in `text`. */
function wholeRequest(text: string): boolean {
  const end = text.indexOf('\r\n\r\n')
  if (end === -1) return false
  const length = Number(/content-length: (\d+)/i.exec(text.slice(0, end))?.[1] ?? 0)
  return text.length >= end + 4 + length
}

function transportFor(t: Ctx, url: URL): SocketTransport {
  const transport = new SocketTransport(url)
  t.after(() => transport.close())
  return transport
}

const json = { 'content-type': 'application/msgpack' }

test('a body larger than a piece goes out in pieces with its content-length and arrives whole; a small one beside it too', async (t) => {
  const { url, received } = await recorder(t)
  const transport = transportFor(t, url)
  const body = Buffer.alloc(BODY_PIECE_BYTES * 3 + 123)
  for (let i = 0; i < body.length; i++) body[i] = i % 251
  const small = Buffer.from('small body')
  const answers = await Promise.all([transport.send('/v0.5/traces', 'PUT', json, body, 5000), transport.send('/v0.4/traces', 'PUT', json, small, 5000)])
  assert.deepEqual(answers.map((a) => a.status), [200, 200])
  assert.deepEqual(answers.map((a) => a.body), ['{"rate_by_service":{}}', '{"rate_by_service":{}}'])
  assert.equal(answers[0].headers['content-type'], 'application/json')
  const big = received.find((r) => r.url === '/v0.5/traces')
  assert.ok(big, 'the large body arrived')
  assert.equal(big.method, 'PUT')
  assert.ok(big.body.equals(body), 'byte for byte')
  assert.equal(big.headers['content-length'], String(body.length))
  assert.equal(big.headers['transfer-encoding'], undefined)
  assert.equal(big.headers['content-type'], 'application/msgpack')
  assert.equal(big.headers.host, url.host)
  const little = received.find((r) => r.url === '/v0.4/traces')
  assert.ok(little, 'the small body arrived')
  assert.ok(little.body.equals(small))
  assert.equal(little.headers['content-length'], String(small.length))
})

test('a GET has no body and no content-length; one connection serves request after request', async (t) => {
  const { url, received, connections } = await recorder(t)
  const transport = transportFor(t, url)
  for (let i = 0; i < 5; i++) {
    const answer = await transport.send('/info', 'GET', { accept: 'application/json' }, undefined, 5000)
    assert.equal(answer.status, 200)
  }
  await transport.send('/v0.4/traces', 'PUT', json, new Uint8Array(0), 5000)
  assert.equal(received.length, 6)
  assert.equal(received[0].headers['content-length'], undefined)
  assert.equal(received[5].headers['content-length'], '0')
  assert.equal(connections(), 1, 'kept alive')
})

test('a header that would break the request (CR or LF in it) is left out; the rest go', async (t) => {
  const { url, received } = await recorder(t)
  const transport = transportFor(t, url)
  const answer = await transport.send('/v0.4/traces', 'PUT', { 'x-ok': 'yes', 'x-bad': 'a\r\nx-injected: 1', 'content-length': '999' }, Buffer.from('abc'), 5000)
  assert.equal(answer.status, 200)
  assert.equal(received[0].headers['x-ok'], 'yes')
  assert.equal(received[0].headers['x-bad'], undefined)
  assert.equal(received[0].headers['x-injected'], undefined)
  assert.equal(received[0].headers['content-length'], '3', 'the length is always the body\'s own')
})

test('answers framed every way: chunked in pieces, 1xx first, until close, length split across packets', async (t) => {
  const answers = [
    // chunked, with an extension and a trailer, sent byte by byte at first
    'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n',
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\nok',
    'HTTP/1.1 200 OK\r\nx-a: 1\r\nX-A: 2\r\ncontent-length: 11\r\n\r\nsplit body!'
  ]
  const server = await rawServer(t, (socket, received, index) => {
    if (!wholeRequest(received)) return
    const answer = answers[index]
    if (answer === undefined) {
      socket.end('HTTP/1.0 200 OK\r\n\r\nuntil the end')
      return
    }
    // Each answer in three writes, apart in time, so the client sees it in pieces.
    const cut = [0, 7, answer.length - 3, answer.length]
    for (let i = 0; i < 3; i++) setTimeout(() => socket.write(answer.slice(cut[i], cut[i + 1])), i * 15)
  })
  // A fresh transport per answer: a new connection each, so each answer's server-side index is known.
  const send = () => new SocketTransport(server.url).send('/v0.4/traces', 'PUT', json, Buffer.from('x'), 5000)
  const chunked = await send()
  assert.equal(chunked.status, 200)
  assert.equal(chunked.body, 'hello world')
  const accepted = await send()
  assert.equal(accepted.status, 202)
  assert.equal(accepted.body, 'ok')
  const split = await send()
  assert.equal(split.body, 'split body!')
  assert.deepEqual(split.headers['x-a'], ['1', '2'])
  const untilClose = await send()
  assert.equal(untilClose.status, 200)
  assert.equal(untilClose.body, 'until the end')
  assert.equal(untilClose.bodyError, undefined)
})

test('a kept-alive connection the agent closed is not used again: while idle, or as a GET goes out', async (t) => {
  let dropSecond = true
  const server = await rawServer(t, (socket, received) => {
    const requests = received.split('GET ').length - 1
    if (!wholeRequest(received.slice(received.lastIndexOf('GET ')))) return
    // The first connection answers its first request, then closes on the second without a word: the
    // race of a keep-alive timeout with a new request. A GET is safe to send twice, so it goes again, on
    // a new connection (a PUT whose body went out whole is not: the agent may have it).
    if (requests === 2 && dropSecond) {
      dropSecond = false
      socket.destroy()
      return
    }
    socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
  })
  const transport = transportFor(t, server.url)
  assert.equal((await transport.send('/info', 'GET', {}, undefined, 5000)).status, 200)
  assert.equal((await transport.send('/info', 'GET', {}, undefined, 5000)).status, 200)
  assert.equal(server.connections(), 2)

  // Closed while idle (the agent's idle timeout): noticed, and the next request opens a new connection
  // without a failed attempt first.
  let attempts = 0
  const closing = await rawServer(t, (socket, received) => {
    if (!wholeRequest(received)) return
    attempts++
    socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
    setTimeout(() => socket.end(), 20)
  })
  const second = transportFor(t, closing.url)
  assert.equal((await second.send('/info', 'GET', {}, undefined, 5000)).status, 200)
  // The server's socket closes once the client has taken the agent's end and ended its side too.
  await until(() => closing.open() === 0, "the agent's close of the idle connection to go through")
  assert.equal((await second.send('/info', 'GET', {}, undefined, 5000)).status, 200)
  assert.equal(closing.connections(), 2)
  assert.equal(attempts, 2)
})

test('an early 413 that closes the connection: the body still goes out while the agent reads it, and the next request gets a new connection', async (t) => {
  const answered = new Set<number>()
  const server = await rawServer(t, (socket, received, index) => {
    if (answered.has(index)) return
    if (index === 0 && received.includes('\r\n\r\n')) {
      answered.add(index)
      socket.write('HTTP/1.1 413 Request Entity Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
    } else if (index > 0 && wholeRequest(received)) {
      answered.add(index)
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
    }
  })
  const transport = transportFor(t, server.url)
  const big = Buffer.alloc(BODY_PIECE_BYTES * 8, 1)
  assert.equal((await transport.send('/v0.4/traces', 'PUT', json, big, 2000)).status, 413)
  assert.equal((await transport.send('/v0.4/traces', 'PUT', json, Buffer.from('x'), 2000)).status, 200)
  assert.equal(server.connections(), 2)
})

test('a closed connection before any answer on a new connection is an error, not a retry', async (t) => {
  const server = await rawServer(t, (socket) => socket.destroy())
  const transport = transportFor(t, server.url)
  await assert.rejects(transport.send('/v0.4/traces', 'PUT', json, Buffer.from('x'), 5000), { code: 'ECONNRESET' })
  assert.equal(server.connections(), 1, 'sent once')
})

test('garbage, truncated, oversized and silent answers', async (t) => {
  const big = MAX_RESPONSE_BYTES + 4096
  const behaviours: ((socket: Socket) => void)[] = [
    (socket) => socket.end('this is not http at all\r\n\r\n'),
    (socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b'),
    (socket) => socket.end(`HTTP/1.1 200 OK\r\ncontent-length: ${big}\r\n\r\n${'a'.repeat(big)}`),
    () => {}, // silent
    (socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhal'), // status, then silence
    (socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 1, 2\r\n\r\n'),
    (socket) => socket.end(`HTTP/1.1 200 OK\r\nx-long: ${'b'.repeat(70 * 1024)}\r\n\r\n`)
  ]
  const server = await rawServer(t, (socket, received, index) => {
    if (wholeRequest(received)) behaviours[index](socket)
  })
  const send = () => new SocketTransport(server.url).send('/v0.4/traces', 'PUT', json, Buffer.from('x'), 300)
  await assert.rejects(send(), { code: 'ERR_AGENT_RESPONSE' })
  const truncated = await send()
  assert.equal(truncated.status, 200, 'the status still counts')
  assert.equal(truncated.body, 'only ten b')
  assert.equal(truncated.bodyError, 'ECONNRESET')
  const oversized = await send()
  assert.equal(oversized.status, 200)
  assert.equal(oversized.body.length, MAX_RESPONSE_BYTES, 'cut at the limit')
  assert.equal(oversized.bodyError, 'ERR_RESPONSE_TOO_LARGE')
  const started = Date.now()
  await assert.rejects(send(), { code: 'ETIMEDOUT' })
  assert.ok(Date.now() - started < 2000)
  const stalled = await send()
  assert.equal(stalled.status, 200)
  assert.equal(stalled.bodyError, 'ETIMEDOUT')
  await assert.rejects(send(), { code: 'ERR_AGENT_RESPONSE', message: /content-length/ })
  await assert.rejects(send(), { code: 'ERR_AGENT_RESPONSE', message: /longer than/ })
})

test('nothing listening: the error is the connection\'s own', async (t) => {
  const { url, server } = await recorder(t)
  await new Promise<void>((resolve) => server.close(() => resolve()))
  await assert.rejects(new SocketTransport(url).send('/info', 'GET', {}, undefined, 2000), { code: 'ECONNREFUSED' })
})

test('over a Unix socket', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'dd-transport-')), 'apm.socket')
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => res.end(`{"path":"${req.url}","host":"${req.headers.host}"}`))
  })
  server.listen(path)
  await once(server, 'listening')
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const transport = transportFor(t, new URL(`unix://${path}`))
  const answer = await transport.send('/v0.4/traces', 'PUT', json, Buffer.from('x'), 2000)
  assert.deepEqual(JSON.parse(answer.body), { path: '/v0.4/traces', host: 'localhost' })
})

test('https:// speaks TLS and checks the certificate (a self-signed one is refused with its code)', async (t) => {
  const fixtures = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures')
  const server = createHttpsServer({ key: readFileSync(join(fixtures, 'tls-self-signed.key')), cert: readFileSync(join(fixtures, 'tls-self-signed.crt')) }, (_req, res) => res.end('{}'))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const transport = transportFor(t, new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}`))
  await assert.rejects(transport.send('/info', 'GET', {}, undefined, 2000), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })
})

test('an idle kept-alive connection does not hold the process open', async (t) => {
  const { url } = await recorder(t)
  const module = join(fileURLToPath(new URL('.', import.meta.url)), '../src/agent-client/socket-transport.ts')
  // Timed from the answer to the exit inside the child: starting a child with tsx takes seconds on a
  // loaded machine, and says nothing about the connection.
  const script = `
    import { SocketTransport } from ${JSON.stringify(module)}
    const answer = await new SocketTransport(new URL(${JSON.stringify(url.href)})).send('/info', 'GET', {}, undefined, 2000)
    const answered = Date.now()
    process.on('exit', () => console.log('status', answer.status, 'exit after', Date.now() - answered))
  `
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const [code] = (await once(child, 'exit')) as [number]
  assert.equal(code, 0)
  const exited = /status 200 exit after (\d+)/.exec(out)
  assert.ok(exited, out)
  // The keep-alive timer is 4 s; the process must not wait for it.
  assert.ok(Number(exited[1]) < 1000, `exited ${exited[1]} ms after the answer`)
})

/** What a parser said is wrong; fails the test when it said nothing is. */
function problem(result: object | string | undefined): string {
  assert.equal(typeof result, 'string', `a problem, not ${JSON.stringify(result)}`)
  return result as string
}

test('parseHead: incomplete, malformed and well-formed heads', () => {
  assert.equal(parseHead(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n')), undefined)
  assert.match(problem(parseHead(Buffer.from('HTTP/2 200\r\n\r\n'))), /status line/)
  assert.match(problem(parseHead(Buffer.from('HTTP/1.1 200 OK\r\nbad header\r\n\r\n'))), /header line/)
  assert.match(problem(parseHead(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n'))), /content-length/)
  const head = parseHead(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello'))
  assert.ok(typeof head === 'object')
  assert.deepEqual({ ...head, headers: undefined }, { status: 200, headers: undefined, length: 57, keepAlive: false, chunked: false, contentLength: 5 })
  const http10 = parseHead(Buffer.from('HTTP/1.0 404 Not Found\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n'))
  assert.ok(typeof http10 === 'object' && http10.keepAlive && http10.status === 404)
  const chunked = parseHead(Buffer.from('HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\ncontent-length: 9\r\n\r\n'))
  assert.ok(typeof chunked === 'object' && chunked.chunked && chunked.contentLength === undefined && chunked.keepAlive)
  const gzip = parseHead(Buffer.from('HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n'))
  assert.ok(typeof gzip === 'object' && !gzip.chunked && !gzip.keepAlive, 'framed by the close')
})

test('readChunked: incomplete, malformed and complete bodies', () => {
  assert.equal(readChunked(Buffer.from('5\r\nhel')), undefined)
  assert.equal(readChunked(Buffer.from('5\r\nhello\r\n0\r\n')), undefined, 'the blank line after the last chunk is still to come')
  assert.deepEqual(readChunked(Buffer.from('5\r\nhello\r\n0\r\n\r\nextra')), { body: Buffer.from('hello'), length: 15 })
  assert.match(problem(readChunked(Buffer.from('zz\r\n'))), /chunk size/)
  assert.match(problem(readChunked(Buffer.from('123456789\r\n'))), /chunk size/, 'a size past 8 hex digits is refused')
  assert.match(problem(readChunked(Buffer.from('2\r\nabcd'))), /CRLF/)
  assert.match(problem(readChunked(Buffer.alloc(2000, 0x31))), /too long/)
})
