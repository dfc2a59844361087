// Property tests of the answer parser: thousands of malformed and hostile answers, fed whole and in
// random pieces to the reader the connections use, and a few hundred of them to a live connection. No
// exception escapes, every answer comes to an end, and the pieces never change what is read.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { test } from 'node:test'
import fc from 'fast-check'
import { ChunkedDecoder, parseHead, readChunked } from '../src/agent-client/http1-response.js'
import { ResponseReader } from '../src/agent-client/response-reader.js'
import { SocketTransport } from '../src/agent-client/socket-transport.js'
import { MAX_RESPONSE_BYTES } from '../src/agent-client/transport.js'

const text = (s: string) => Buffer.from(s, 'latin1')

const statusLine = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('HTTP/1.1 200 OK', 'HTTP/1.1 413 Request Entity Too Large', 'HTTP/1.0 200 OK', 'HTTP/1.1 204 No Content', 'HTTP/1.1 304 Not Modified', 'HTTP/1.1 500') },
  { weight: 2, arbitrary: fc.constantFrom('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK', 'HTTP/1.1 103 Early Hints\r\nlink: x\r\n\r\nHTTP/1.1 202 Accepted', 'HTTP/1.1 100 Continue') },
  { weight: 3, arbitrary: fc.constantFrom('HTTP/2 200', 'HTTP/1.1 20 OK', 'HTTP/1.1 2000', 'http/1.1 200 OK', '', 'HTTP/1.1  200 OK', 'HTTP/1.1 200OK', 'HTTP/1.2 200 OK', 'HTTP/1.1 -200 x', 'ICY 200 OK') },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) }
)

/** Content-length values an agent should send, and ones it should not ({n}: the body's length). */
const lengthValue = fc.constantFrom('{n}', '{n}', '{n-1}', '{n+1}', '0', '999999999999999', '9999999999999999', '-1', '1e3', ' 5', '{n}, {n}', '{n},{n+1}', '', '0x10', '+5')

const headerName = fc.stringMatching(/^[a-z-]{1,12}$/)
const headerLine = fc.oneof(
  { weight: 4, arbitrary: lengthValue.map((v) => `content-length: ${v}`) },
  { weight: 3, arbitrary: fc.constantFrom('transfer-encoding: chunked', 'Transfer-Encoding: gzip, chunked', 'transfer-encoding: chunked, gzip', 'transfer-encoding: identity', 'transfer-encoding: gzip') },
  { weight: 2, arbitrary: fc.constantFrom('connection: close', 'connection: keep-alive', 'Connection: Upgrade, close', 'content-type: application/json') },
  { weight: 2, arbitrary: fc.constantFrom('no colon here', ': empty name', 'bad name: x', 'x-bare\nlf: 1', 'x-nul: \u0000', '\tfolded: continuation', 'x-8bit: \u00ff\u00fe') },
  { weight: 1, arbitrary: fc.tuple(headerName, fc.string({ maxLength: 30 })).map(([k, v]) => `${k}: ${v}`) }
)

/** Chunked bodies: right, and wrong in every way a size line or a chunk can be. */
const chunk = fc.oneof(
  { weight: 5, arbitrary: fc.string({ minLength: 1, maxLength: 20 }).map((d) => `${Buffer.byteLength(d, 'latin1').toString(16)}\r\n${d}\r\n`) },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 8 }).map((d) => `${d.length.toString(16)};ext="1"\r\n${d}\r\n`) },
  { weight: 1, arbitrary: fc.constantFrom('zz\r\nab\r\n', '123456789\r\n', 'ffffffff\r\nabc', '-1\r\n', '0x2\r\nab\r\n', '5\r\nab\r\n', '2\r\nabcd\r\n', '2\r\nab', '3\nabc\r\n', ' 2 \r\nab\r\n', '2\r\nab\n') },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) }
)
const lastChunk = fc.constantFrom('0\r\n\r\n', '0\r\n\r\n', '0\r\nx-trailer: 1\r\n\r\n', '0\r\n', '0;x=y\r\n\r\n', '', '0\r\nbad trailer\r\n\r\n', `0\r\n${'t'.repeat(2000)}\r\n\r\n`)
const chunkedBody = fc.tuple(fc.array(chunk, { maxLength: 6 }), lastChunk).map(([chunks, last]) => chunks.join('') + last)

const structured = fc
  .record({
    status: statusLine,
    headers: fc.array(headerLine, { maxLength: 4 }),
    end: fc.constantFrom('\r\n\r\n', '\r\n\r\n', '\r\n\r\n', '\n\n', '\r\n', '\r\r\n\n'),
    body: fc.oneof(fc.string({ maxLength: 60 }), chunkedBody),
    tail: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.string({ maxLength: 30 }) }, { weight: 1, arbitrary: fc.constant('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok') })
  })
  .map((a) => {
    const n = Buffer.byteLength(a.body, 'latin1')
    const headers = a.headers.map((h) => h.replaceAll('{n}', String(n)).replaceAll('{n-1}', String(Math.max(0, n - 1))).replaceAll('{n+1}', String(n + 1)))
    return text([a.status, ...headers].join('\r\n') + a.end + a.body + a.tail)
  })

/** An answer: structured (right or wrong), random bytes, or a structured one cut short or with bytes flipped. */
const answer = fc.oneof(
  { weight: 5, arbitrary: structured },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
  { weight: 2, arbitrary: fc.tuple(structured, fc.nat()).map(([b, cut]) => b.subarray(0, b.length === 0 ? 0 : cut % b.length)) },
  {
    weight: 1,
    arbitrary: fc.tuple(structured, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })).map(([b, flips]) => {
      const out = Buffer.from(b)
      for (const [at, value] of flips) if (out.length > 0) out[at % out.length] = value
      return out
    })
  },
  // Heads and chunk lines past their limits.
  { weight: 1, arbitrary: fc.constantFrom(text(`HTTP/1.1 200 OK\r\nx-long: ${'a'.repeat(70 * 1024)}\r\n\r\n`), text(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${'1'.repeat(2000)}\r\n`), text('HTTP/1.1 200 OK\r\n'.repeat(5000))) }
)

/** Cut points that split an answer into pieces, from one byte to the whole. */
function pieces(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b)
  const out: Buffer[] = []
  let from = 0
  for (const cut of at) {
    if (cut > from) out.push(bytes.subarray(from, cut))
    from = Math.max(from, cut)
  }
  out.push(bytes.subarray(from))
  return out
}

/** What a reader made of an answer after the connection ended: the same for any split of the bytes. */
function read(parts: Buffer[]): string {
  const reader = new ResponseReader()
  for (const part of parts) reader.push(part)
  const before = reader.done
  reader.end()
  // Once the connection ends, an answer whose head is in is over: nothing is left waiting.
  assert.ok(reader.head === undefined || reader.done, 'a head without an end')
  if (reader.problem !== undefined) return `problem ${reader.problem}`
  if (!reader.done) return 'no answer'
  const response = reader.response()
  return JSON.stringify({ status: response.status, body: response.body, bodyError: response.bodyError, before, reusable: before && reader.reusable })
}

test('the answer reader: 12,000 hostile answers, whole and in random pieces, read the same and never throw', () => {
  fc.assert(
    fc.property(answer, fc.array(fc.nat(), { maxLength: 12 }), fc.array(fc.nat(), { minLength: 1, maxLength: 200 }), (bytes, cuts, manyCuts) => {
      const whole = read([bytes])
      assert.equal(read(pieces(bytes, cuts)), whole)
      // A byte at a time, as a trickling agent sends it (for the short ones).
      if (bytes.length <= 400) assert.equal(read([...bytes].map((b) => Buffer.of(b))), whole)
      else assert.equal(read(pieces(bytes, manyCuts)), whole)
    }),
    { numRuns: 12000 }
  )
})

test('well-formed answers are read exactly, however they are split', () => {
  const wellFormed = fc.record({
    status: fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 304),
    body: fc.string({ maxLength: 300 }),
    framing: fc.constantFrom('length', 'chunked', 'close'),
    chunk: fc.integer({ min: 1, max: 40 }),
    cuts: fc.array(fc.nat(), { maxLength: 10 })
  })
  fc.assert(
    fc.property(wellFormed, ({ status, body, framing, chunk, cuts }) => {
      const bytes = Buffer.from(body, 'utf8')
      let message = `HTTP/1.1 ${status} X\r\nx-a: 1\r\n`
      if (framing === 'length') message += `content-length: ${bytes.length}\r\n\r\n${bytes.toString('latin1')}`
      else if (framing === 'close') message += `connection: close\r\n\r\n${bytes.toString('latin1')}`
      else {
        message += 'transfer-encoding: chunked\r\n\r\n'
        for (let at = 0; at < bytes.length; at += chunk) {
          const part = bytes.subarray(at, at + chunk)
          message += `${part.length.toString(16)}\r\n${part.toString('latin1')}\r\n`
        }
        message += '0\r\n\r\n'
      }
      const reader = new ResponseReader()
      for (const part of pieces(text(message), cuts)) reader.push(part)
      if (framing === 'close') {
        assert.equal(reader.done, false, 'framed by the close: not over until it')
        reader.end()
      }
      assert.ok(reader.done)
      const response = reader.response()
      assert.equal(response.status, status)
      assert.equal(response.body, body)
      assert.equal(response.bodyError, undefined)
      assert.equal(response.headers['x-a'], '1')
      assert.equal(reader.reusable, framing !== 'close')
    }),
    { numRuns: 2000 }
  )
})

test('an answer past MAX_RESPONSE_BYTES is cut at it, however its last bytes are split', () => {
  const big = Buffer.alloc(MAX_RESPONSE_BYTES + 4096, 0x61)
  const byFraming = {
    length: Buffer.concat([text(`HTTP/1.1 200 OK\r\ncontent-length: ${big.length}\r\n\r\n`), big]),
    chunked: Buffer.concat([text(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n`), big, text('\r\n0\r\n\r\n')]),
    close: Buffer.concat([text('HTTP/1.1 200 OK\r\n\r\n'), big])
  }
  fc.assert(
    fc.property(fc.constantFrom<'length' | 'chunked' | 'close'>('length', 'chunked', 'close'), fc.array(fc.integer({ min: big.length - 8192, max: big.length + 200 }), { maxLength: 3 }), (framing, cuts) => {
      const reader = new ResponseReader()
      for (const part of pieces(byFraming[framing], cuts)) reader.push(part)
      reader.end()
      assert.ok(reader.done)
      const response = reader.response()
      assert.equal(response.body.length, MAX_RESPONSE_BYTES)
      assert.equal(response.bodyError, 'ERR_RESPONSE_TOO_LARGE')
      assert.equal(reader.reusable, false)
    }),
    { numRuns: 24 }
  )
})

test('parseHead, readChunked and the chunked decoder never throw on random bytes, and the decoder in pieces agrees with readChunked', () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), chunkedBody.map(text)), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
      parseHead(bytes)
      const whole = readChunked(bytes)
      const decoder = new ChunkedDecoder()
      const data: Buffer[] = []
      let used = 0
      for (const part of pieces(bytes, cuts)) {
        used += decoder.push(part, (d) => data.push(Buffer.from(d)))
        if (decoder.done || decoder.problem !== undefined) break
      }
      if (typeof whole === 'string') assert.equal(decoder.problem, whole)
      else if (whole === undefined) assert.ok(!decoder.done && decoder.problem === undefined)
      else assert.deepEqual({ body: Buffer.concat(data), length: used }, whole)
    }),
    { numRuns: 3000 }
  )
})

test('a live connection: 400 hostile answers in random pieces, each send settles as the reader says, within its timeout', async (t) => {
  const answers = new Map<string, Buffer[]>()
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.setNoDelay(true)
    let head = ''
    socket.on('data', (bytes: Buffer) => {
      head += bytes.toString('latin1')
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      // The request is a head and a one-byte body: once both are in, the answer goes out piece by piece.
      const id = /x-case: (\d+)/.exec(head)?.[1] ?? ''
      if (head.length < end + 5) return
      head = ''
      const parts = answers.get(id) ?? []
      let at = 0
      const next = () => {
        if (socket.destroyed) return
        if (at === parts.length) {
          socket.end()
          return
        }
        socket.write(parts[at++])
        setImmediate(next)
      }
      next()
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
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  let next = 0
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(answer, fc.array(fc.nat(), { maxLength: 6 })), { minLength: 20, maxLength: 20 }), async (batch) => {
      await Promise.all(
        batch.map(async ([bytes, cuts]) => {
          const id = String(next++)
          answers.set(id, pieces(bytes, cuts))
          const offline = read([bytes])
          const transport = new SocketTransport(url)
          const started = Date.now()
          const outcome = await transport.send('/v0.4/traces', 'PUT', { 'x-case': id }, Buffer.from('x'), 2000).then(
            (r) => ({ status: r.status, body: r.body, bodyError: r.bodyError }),
            (err: { code?: string; stage?: string }) => ({ code: err.code, stage: err.stage })
          )
          answers.delete(id)
          await transport.close()
          assert.ok(Date.now() - started < 2500, `case ${id} settled after ${Date.now() - started} ms`)
          const bytesJson = JSON.stringify(bytes.toString('latin1'))
          if (offline.startsWith('problem')) assert.deepEqual(outcome, { code: 'ERR_AGENT_RESPONSE', stage: 'maybe-delivered' }, bytesJson)
          else if (offline === 'no answer') assert.deepEqual(outcome, { code: 'ECONNRESET', stage: 'maybe-delivered' }, bytesJson)
          else {
            const expected = JSON.parse(offline) as { status: number; body: string; bodyError?: string; before: boolean }
            assert.equal('status' in outcome && outcome.status, expected.status, bytesJson)
            assert.equal('body' in outcome && outcome.body, expected.body, bytesJson)
            // Framed by the close, the end is clean; otherwise a body cut short says so, as offline.
            if (expected.before) assert.equal('bodyError' in outcome && outcome.bodyError, expected.bodyError, bytesJson)
            else assert.ok('bodyError' in outcome, bytesJson)
          }
        })
      )
    }),
    { numRuns: 20 }
  )
})
