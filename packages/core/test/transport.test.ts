import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { BODY_PIECE_BYTES, UndiciTransport, inPieces } from '../src/exporter/transport.js'

/** A server on 127.0.0.1 that records each request's headers and body, and answers 200. */
async function recorder(t: { after: (fn: () => Promise<void>) => void }) {
  const received: { headers: IncomingMessage['headers']; body: Buffer; pieces: number }[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks), pieces: chunks.length })
      res.end('{}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), received }
}

test('a body larger than a piece goes out in pieces with its content-length, and arrives whole', async (t) => {
  const { url, received } = await recorder(t)
  const transport = new UndiciTransport(url)
  t.after(() => transport.close())
  const body = Buffer.alloc(BODY_PIECE_BYTES * 3 + 123)
  for (let i = 0; i < body.length; i++) body[i] = i % 251
  const small = Buffer.from('small body')
  const answers = await Promise.all([
    transport.send('/v0.5/traces', 'PUT', { 'content-type': 'application/msgpack' }, body, 5000),
    transport.send('/v0.4/traces', 'PUT', { 'content-type': 'application/msgpack' }, small, 5000)
  ])
  assert.deepEqual(answers.map((a) => a.status), [200, 200])
  const big = received.find((r) => r.body.length === body.length)
  assert.ok(big, 'the large body arrived')
  assert.ok(big.body.equals(body), 'byte for byte')
  assert.equal(big.headers['content-length'], String(body.length))
  assert.equal(big.headers['transfer-encoding'], undefined)
  assert.equal(big.headers['content-type'], 'application/msgpack')
  const little = received.find((r) => r.body.length === small.length)
  assert.ok(little, 'the small body arrived')
  assert.ok(little.body.equals(small))
  assert.equal(little.headers['content-length'], String(small.length))
})

test('pieces: at most BODY_PIECE_BYTES each, in order, with a turn of the event loop between two', async () => {
  const bytes = Buffer.alloc(BODY_PIECE_BYTES * 2 + 10, 7)
  const events: string[] = []
  let turns = 0
  const tick = (): void => {
    turns++
    if (turns < 50) setImmediate(tick)
  }
  setImmediate(tick)
  for await (const piece of inPieces(bytes)) events.push(`${piece.length}@${turns}`)
  const sizes = events.map((e) => Number(e.split('@')[0]))
  const at = events.map((e) => Number(e.split('@')[1]))
  assert.deepEqual(sizes, [BODY_PIECE_BYTES, BODY_PIECE_BYTES, 10])
  assert.ok(at[0] < at[1] && at[1] < at[2], `turns seen at each piece: ${at.join(', ')}`)
})
