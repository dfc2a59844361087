import assert from 'node:assert/strict'
import { mock, test } from 'node:test'
import { AgentExporter, type AgentExporterOptions } from '../src/export/agent-exporter.js'
import type { Transport, TransportResponse } from '../src/agent-client/transport.js'
import { Diagnostics } from '../src/base/diagnostics.js'
import { createTracer } from '../src/tracer/tracer.js'
import { SpanCollector } from './support/span-collector.js'
import type { CoreSpan } from '../src/model/span.js'
import { V04Encoder } from '../src/wire/encode-v04.js'
import { BufferPool } from '../src/wire/buffer-pool.js'
import { decode } from '@msgpack/msgpack'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A transport seam that records requests and answers when told to. */
class RecordingTransport implements Transport {
  readonly requests: { path: string; headers: Record<string, string>; bytes: number }[] = []
  readonly #pending: ((response: TransportResponse) => void)[] = []
  autoAnswer = true
  send(path: string, _method: string, headers: Record<string, string>, body: Uint8Array | undefined): Promise<TransportResponse> {
    this.requests.push({ path, headers, bytes: body?.length ?? 0 })
    return new Promise((resolve) => {
      if (this.autoAnswer) resolve({ status: 200, body: '{"rate_by_service":{"service:,env:":0.5}}', headers: {} })
      else this.#pending.push(resolve)
    })
  }
  get pendingCount(): number {
    return this.#pending.length
  }
  answerAll(): void {
    for (const resolve of this.#pending.splice(0)) resolve({ status: 200, body: '{}', headers: {} })
  }
  close(): Promise<void> {
    return Promise.resolve()
  }
}

function chunks(count: number, spansEach = 1): CoreSpan[][] {
  const memory = new SpanCollector()
  const tracer = createTracer({ service: 'svc', exporter: memory, flushOnExit: false })
  for (let i = 0; i < count; i++) {
    const root = tracer.startSpan('root')
    for (let s = 1; s < spansEach; s++) tracer.startSpan('child', { childOf: root }).finish()
    root.finish()
  }
  return memory.chunks()
}

function exporter(transport: Transport, options: Partial<AgentExporterOptions> = {}) {
  return new AgentExporter({
    url: new URL('http://127.0.0.1:8126'),
    decorations: { service: 'svc', globalMeta: {}, processId: 1 },
    diagnostics: new Diagnostics(false, { write() {} }),
    transport,
    // Batching is what these tests are about; discovery (GET /info first) has tests of its own.
    discovery: false,
    containerIdentity: { containerId: undefined, entityId: undefined },
    ...options
  })
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => queueMicrotask(resolve))
}

test('export only queues; a millisecond later it is encoded; the timer sends one batch after the interval', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] })
  const transport = new RecordingTransport()
  const rates: Record<string, number>[] = []
  const e = exporter(transport, { flushIntervalMs: 2000, onRates: (r) => rates.push({ ...r }) })
  for (const chunk of chunks(3)) e.export(chunk)
  assert.equal(transport.requests.length, 0, 'nothing is sent on export')
  assert.equal(e.health().queuedSpans, 3)
  // A millisecond later the chunks are encoded into the open payload; the interval starts there.
  t.mock.timers.tick(1)
  assert.equal(transport.requests.length, 0, 'nothing is sent when they are encoded either')
  assert.equal(e.health().queuedSpans, 3, 'encoded spans count as queued until sent')
  t.mock.timers.tick(1999)
  assert.equal(transport.requests.length, 0)
  t.mock.timers.tick(1)
  assert.equal(transport.requests.length, 1)
  assert.equal(transport.requests[0].path, '/v0.4/traces')
  assert.equal(transport.requests[0].headers['x-datadog-trace-count'], '3')
  await settle()
  assert.deepEqual(rates, [{ 'service:,env:': 0.5 }])
  assert.equal(e.health().tracesSent, 3)
})

test('the size threshold sends before the interval ends', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] })
  const first = chunks(2, 4)
  const last = chunks(1, 2)
  // The threshold is the size of all three chunks' payload: the first two stay under it.
  const encoder = new V04Encoder({ service: 'svc', globalMeta: {}, processId: 1 }, 1 << 20)
  encoder.begin()
  for (const chunk of [...first, ...last]) assert.ok(encoder.append(chunk))
  const transport = new RecordingTransport()
  const e = exporter(transport, { flushIntervalMs: 60_000, flushThresholdBytes: encoder.byteLength })
  for (const chunk of first) e.export(chunk)
  t.mock.timers.tick(1)
  assert.equal(transport.requests.length, 0, 'two traces: under the threshold')
  for (const chunk of last) e.export(chunk)
  t.mock.timers.tick(1)
  assert.equal(transport.requests.length, 1, 'three traces: sent once encoded, a millisecond later')
  assert.equal(transport.requests[0].headers['x-datadog-trace-count'], '3')
  assert.equal(transport.requests[0].bytes, encoder.byteLength)
})

test('flushIntervalMs 0 sends each chunk on the next turn of the event loop', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] })
  const transport = new RecordingTransport()
  const e = exporter(transport, { flushIntervalMs: 0 })
  const [a] = chunks(1)
  e.export(a)
  assert.equal(transport.requests.length, 0)
  t.mock.timers.tick(0)
  assert.equal(transport.requests.length, 1)
})

test('at most two requests in flight; the rest waits in the bounded queue', async () => {
  const transport = new RecordingTransport()
  transport.autoAnswer = false
  const e = exporter(transport, { maxPayloadBytes: 1024, maxQueueSpans: 50, flushIntervalMs: 60_000 })
  for (const chunk of chunks(60)) e.export(chunk)
  assert.equal(e.health().droppedByReason.queue_full, 10, 'the 51st span and later are dropped')
  let done = false
  const flushed = e.flush().then(() => (done = true))
  await settle()
  assert.equal(transport.requests.length, 2, 'two payloads in flight')
  for (let turn = 0; !done && turn < 100; turn++) {
    assert.ok(transport.pendingCount <= 2, `${transport.pendingCount} requests in flight`)
    transport.answerAll()
    await new Promise((resolve) => setImmediate(resolve))
  }
  await flushed
  const health = e.health()
  assert.equal(health.tracesSent, 50)
  assert.equal(health.queuedSpans, 0)
  assert.ok(transport.requests.every((r) => r.bytes <= 1024))
  await e.shutdown()
})

test('after shutdown chunks are refused and counted', async () => {
  const transport = new RecordingTransport()
  const e = exporter(transport)
  await e.shutdown()
  e.export(chunks(1)[0])
  assert.equal(e.health().droppedByReason.shutdown, 1)
  assert.equal(transport.requests.length, 0)
})

test('mock timers are restored', () => {
  assert.equal(typeof mock.timers.reset, 'function')
})

test('with the socket transport, payload buffers go back to the pool once the agent answers, and each payload arrives whole', async (t) => {
  const bodies: Buffer[] = []
  const server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (part: Buffer) => parts.push(part))
    req.on('end', () => {
      bodies.push(Buffer.concat(parts))
      res.setHeader('content-type', 'application/json')
      res.end('{"rate_by_service":{}}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const pool = new BufferPool()
  const e = new AgentExporter({
    url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    decorations: { service: 'svc', globalMeta: {}, processId: 1 },
    diagnostics: new Diagnostics(false, { write() {} }),
    discovery: false,
    containerIdentity: { containerId: undefined, entityId: undefined },
    bufferPool: pool
  })
  t.after(async () => {
    await e.shutdown()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const memory = new SpanCollector()
  const tracer = createTracer({ service: 'svc', exporter: memory, flushOnExit: false })
  for (let round = 0; round < 3; round++) {
    // Each round's payload is written into the block the last one gave back: what arrived before must
    // be exactly what was sent then.
    for (let i = 0; i < 20; i++) tracer.startSpan(`round${round}`, { resource: `r${round}-${i}` }).finish()
    for (const chunk of memory.chunks()) e.export(chunk)
    memory.reset()
    await e.flush()
    assert.equal(pool.freeCount, 1, `round ${round}: the one block is back in the pool`)
  }
  assert.equal(bodies.length, 3)
  bodies.forEach((body, round) => {
    const traces = decode(body, { useBigInt64: true }) as { name: string; resource: string }[][]
    assert.deepEqual(
      traces.map(([span]) => `${span.name} ${span.resource}`),
      Array.from({ length: 20 }, (_, i) => `round${round} r${round}-${i}`)
    )
  })
})
