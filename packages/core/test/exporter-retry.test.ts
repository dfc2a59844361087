import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AgentExporter, type AgentExporterOptions } from '../src/export/agent-exporter.js'
import { Verdict, backoffMs, verdictFor } from '../src/export/retry.js'
import type { SendOptions, Transport, TransportResponse } from '../src/agent-client/transport.js'
import { Diagnostics } from '../src/base/diagnostics.js'
import { createTracer } from '../src/tracer/tracer.js'
import { SpanCollector } from './support/span-collector.js'
import type { CoreSpan } from '../src/model/span.js'

type Answer = TransportResponse | Error

/** Answers each request from a script (then 200); records path and size. */
class ScriptedTransport implements Transport {
  readonly requests: { path: string; method: string; bytes: number }[] = []
  readonly #script: Answer[]
  info: TransportResponse = { status: 404, body: '', headers: {} }
  constructor(script: Answer[] = []) {
    this.#script = script
  }
  send(path: string, method: string, _headers: Record<string, string>, body: Uint8Array | undefined, _timeoutMs?: number, _options?: SendOptions): Promise<TransportResponse> {
    this.requests.push({ path, method, bytes: body?.length ?? 0 })
    if (path === '/info') return Promise.resolve(this.info)
    const next = this.#script.shift() ?? { status: 200, body: '{}', headers: {} }
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next)
  }
  close(): Promise<void> {
    return Promise.resolve()
  }
}

const status = (code: number, body = ''): TransportResponse => ({ status: code, body, headers: {} })
const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })

function chunks(count: number, spansEach = 1): CoreSpan[][] {
  const memory = new SpanCollector()
  const tracer = createTracer({ service: 'svc', exporter: memory, flushOnExit: false })
  for (let i = 0; i < count; i++) {
    const root = tracer.startSpan('root', { tags: { pad: 'p'.repeat(100) } })
    for (let s = 1; s < spansEach; s++) tracer.startSpan('child', { childOf: root }).finish()
    root.finish()
  }
  return memory.chunks()
}

function exporter(transport: Transport, options: Partial<AgentExporterOptions> = {}): AgentExporter {
  return new AgentExporter({
    url: new URL('http://127.0.0.1:8126'),
    decorations: { service: 'svc', globalMeta: {}, processId: 1 },
    diagnostics: new Diagnostics(false, { write() {} }),
    transport,
    flushIntervalMs: 60_000,
    retryBaseDelayMs: 1,
    retryMaxDelayMs: 4,
    containerIdentity: { containerId: 'abc', entityId: 'ci-abc' },
    random: () => 0.5,
    ...options
  })
}

test('verdicts: what is retried, split, downgraded or dropped', () => {
  assert.equal(verdictFor(undefined, '0.4'), Verdict.retry)
  for (const s of [408, 429, 500, 502, 503, 599]) assert.equal(verdictFor(s, '0.4'), Verdict.retry, String(s))
  assert.equal(verdictFor(413, '0.4'), Verdict.split)
  assert.equal(verdictFor(404, '0.5'), Verdict.downgrade)
  assert.equal(verdictFor(415, '0.5'), Verdict.downgrade)
  for (const s of [400, 401, 403, 404, 415, 499]) assert.equal(verdictFor(s, '0.4'), Verdict.drop, String(s))
  assert.equal(verdictFor(200, '0.5'), Verdict.sent)
})

test('backoff doubles from the base up to the cap, with jitter between half and all of it', () => {
  const options = { deadlineMs: 1000, baseDelayMs: 100, maxDelayMs: 1000 }
  assert.equal(backoffMs(1, { ...options, random: () => 0 }), 50)
  assert.equal(backoffMs(1, { ...options, random: () => 0.999999 }), 100)
  assert.equal(backoffMs(3, { ...options, random: () => 0 }), 200)
  assert.equal(backoffMs(10, { ...options, random: () => 0.999999 }), 1000)
})

test('5xx then success: retried in the same slot, counted once as sent', async () => {
  const transport = new ScriptedTransport([status(503), refused(), status(200, '{"rate_by_service":{}}')])
  const e = exporter(transport)
  for (const c of chunks(3)) e.export(c)
  await e.flush()
  const h = e.health()
  assert.equal(h.tracesSent, 3)
  assert.equal(h.retries, 2)
  assert.equal(h.tracesDropped, 0)
  assert.equal(transport.requests.filter((r) => r.path !== '/info').length, 3)
  assert.equal(h.discovery, 'absent')
  // Each attempt of a trace payload, as dd-trace's exporter counts them (/info is not one).
  assert.deepEqual(
    [h.requests, h.responses, h.responsesByStatus, h.errors, h.errorsByName, h.errorsByCode],
    [3, 2, { 200: 1, 503: 1 }, 1, { Error: 1 }, { ECONNREFUSED: 1 }]
  )
})

test('past the deadline a failing payload is dropped as network, with the last error', async () => {
  const transport = new ScriptedTransport(Array.from({ length: 1000 }, refused))
  const e = exporter(transport, { retryDeadlineMs: 30 })
  for (const c of chunks(2)) e.export(c)
  await e.flush()
  const h = e.health()
  assert.equal(h.droppedByReason.network, 2)
  assert.equal(h.lastError, 'ECONNREFUSED')
  assert.ok(h.retries >= 1)
  assert.equal(h.inFlightRequests, 0)
  assert.equal(h.inFlightBytes, 0)
})

test('retryDeadlineMs 0: no retry at all', async () => {
  const transport = new ScriptedTransport([status(503)])
  const e = exporter(transport, { retryDeadlineMs: 0 })
  e.export(chunks(1)[0])
  await e.flush()
  assert.equal(e.health().droppedByReason.status_503, 1)
  assert.equal(e.health().retries, 0)
})

test('413: the payload goes again in halves, and later payloads stay under half its size', async () => {
  const transport = new ScriptedTransport([status(413, 'payload-too-large')])
  const e = exporter(transport)
  for (const c of chunks(40)) e.export(c)
  await e.flush()
  const traces = transport.requests.filter((r) => r.path === '/v0.4/traces')
  assert.ok(traces.length >= 3, `${traces.length} requests`)
  const resent = traces.slice(1)
  assert.ok(resent.every((r) => r.bytes <= traces[0].bytes / 2 + 64), JSON.stringify(traces))
  assert.ok(resent.reduce((n, r) => n + r.bytes, 0) < traces[0].bytes + 64 * resent.length)
  const h = e.health()
  assert.equal(h.tracesSent, 40)
  assert.equal(h.payloadsSplit, 1)
  assert.ok(h.maxPayloadBytes <= traces[0].bytes / 2 + 1)
})

test('413 on a single chunk splits its spans; 413 on a single span drops it', async () => {
  const transport = new ScriptedTransport([status(413), status(413)])
  const e = exporter(transport)
  e.export(chunks(1, 2)[0])
  await e.flush()
  const h = e.health()
  assert.equal(h.payloadsSplit, 2)
  assert.equal(h.spansSent, 1, 'the half that was not refused again arrived')
  assert.equal(h.spansDroppedByReason.too_large, 1)
})

test('404 on v0.5: the same traces go again as v0.4, and v0.4 is used from then on', async () => {
  const transport = new ScriptedTransport([status(404)])
  const e = exporter(transport, { protocolVersion: '0.5', discovery: false })
  for (const c of chunks(2)) e.export(c)
  await e.flush()
  e.export(chunks(1)[0])
  await e.flush()
  assert.deepEqual(transport.requests.map((r) => r.path), ['/v0.5/traces', '/v0.4/traces', '/v0.4/traces'])
  assert.equal(e.health().tracesSent, 3)
  assert.equal(e.health().protocolVersion, '0.4')
})

test('auto with an /info that lists v0.5 sends v0.5, and takes the agent\'s smaller payload limit', async () => {
  const transport = new ScriptedTransport()
  transport.info = { status: 200, body: JSON.stringify({ version: '7.99.0', endpoints: ['/v0.4/traces', '/v0.5/traces'], client_drop_p0s: true, config: { max_request_bytes: 4096 } }), headers: { 'datadog-agent-state': 's1' } }
  const e = exporter(transport, { protocolVersion: 'auto' })
  for (const c of chunks(100)) e.export(c)
  await e.flush()
  const sent = transport.requests.filter((r) => r.path !== '/info')
  assert.ok(sent.every((r) => r.path === '/v0.5/traces' && r.bytes <= 4096), JSON.stringify(sent))
  assert.ok(sent.length > 1)
  const h = e.health()
  assert.equal(h.agent?.clientDropP0s, true)
  assert.equal(h.agent?.version, '7.99.0')
  assert.equal(h.maxPayloadBytes, 4096)
  assert.equal(h.tracesSent, 100)
})

test('spans the agent would drop a whole trace for: zero span ids removed, zero trace ids dropped, foreign spans split off', async () => {
  const transport = new ScriptedTransport()
  const e = exporter(transport, { discovery: false })
  const [a, b, c] = chunks(3, 2) as [CoreSpan[], CoreSpan[], CoreSpan[]]
  ;(a[0] as unknown as { spanId: bigint }).spanId = 0n
  ;(b[0].trace as unknown as { traceId: bigint }).traceId = 0n
  e.export(a)
  e.export(b)
  e.export([...c, chunks(1)[0][0]])
  await e.flush()
  const h = e.health()
  assert.equal(h.spansDroppedByReason.span_id_zero, 1)
  assert.equal(h.droppedByReason.trace_id_zero, 1)
  assert.equal(h.tracesSent, 3, 'a (one span left), c, and the foreign span on its own')
  assert.equal(h.spansSent, 4)
})

test('the in-flight budget: no new request past maxInFlight or maxInFlightBytes', async () => {
  let release: (() => void) | undefined
  const held: Promise<void> = new Promise((resolve) => (release = resolve))
  const transport = new ScriptedTransport()
  const slow: Transport = {
    send: async (...args) => {
      await held
      return transport.send(...args)
    },
    close: () => Promise.resolve()
  }
  const e = exporter(slow, { discovery: false, maxPayloadBytes: 2048, maxInFlightBytes: 3000, maxInFlight: 5 })
  for (const c of chunks(60)) e.export(c)
  const flushed = e.flush()
  await new Promise((resolve) => setImmediate(resolve))
  const h = e.health()
  assert.equal(h.inFlightRequests, 2, 'the second payload passed the 3000-byte budget; the third waits')
  assert.ok(h.inFlightBytes <= 3000 + 2048)
  release!()
  await flushed
  assert.equal(e.health().tracesSent, 60)
})

const unanswered = (): Error => Object.assign(new Error('no answer'), { code: 'ETIMEDOUT', stage: 'maybe-delivered' })
const notSent = (): Error => Object.assign(new Error('reset'), { code: 'ECONNRESET', stage: 'not-sent' })
const tracePuts = (transport: ScriptedTransport) => transport.requests.filter((r) => r.path !== '/info')

test('written whole and unanswered, then accepted: sent once more, counted as sent and as maybe delivered once', async () => {
  const transport = new ScriptedTransport([unanswered()])
  const e = exporter(transport, { discovery: false })
  for (const c of chunks(2)) e.export(c)
  await e.flush()
  const h = e.health()
  assert.equal(tracePuts(transport).length, 2)
  assert.equal(h.tracesSent, 2)
  assert.equal(h.payloadsMaybeDelivered, 1)
  assert.equal(h.tracesMaybeDelivered, 0)
  assert.equal(h.retries, 1)
})

test('unanswered twice: given up after the one more attempt, counted as maybe delivered, never dropped', async () => {
  const transport = new ScriptedTransport([unanswered(), unanswered()])
  const e = exporter(transport, { discovery: false })
  for (const c of chunks(3)) e.export(c)
  await e.flush()
  const h = e.health()
  assert.equal(tracePuts(transport).length, 2)
  assert.equal(h.payloadsMaybeDelivered, 2)
  assert.equal(h.tracesMaybeDelivered, 3)
  assert.equal(h.spansMaybeDelivered, 3)
  assert.equal(h.tracesDropped, 0)
  assert.equal(h.lastError, 'ETIMEDOUT')
})

test('after an unanswered attempt, attempts the agent cannot have had are retried; the next one that reaches it is the last', async () => {
  const transport = new ScriptedTransport([unanswered(), notSent(), refused(), status(503)])
  const e = exporter(transport, { discovery: false })
  e.export(chunks(1)[0])
  await e.flush()
  const h = e.health()
  assert.equal(tracePuts(transport).length, 4, 'the 503 ended it: no fifth attempt')
  assert.equal(h.tracesMaybeDelivered, 1)
  assert.equal(h.retries, 3)
})

test('unanswered, with no retry allowed: given up as maybe delivered, not dropped as network', async () => {
  const transport = new ScriptedTransport([unanswered()])
  const e = exporter(transport, { discovery: false, retryDeadlineMs: 0 })
  e.export(chunks(1)[0])
  await e.flush()
  assert.equal(tracePuts(transport).length, 1)
  assert.equal(e.health().tracesMaybeDelivered, 1)
  assert.deepEqual(e.health().droppedByReason, {})
})

test('not sent (reset before the body was written) is retried like a refused connection', async () => {
  const transport = new ScriptedTransport([notSent(), notSent(), notSent()])
  const e = exporter(transport, { discovery: false })
  e.export(chunks(1)[0])
  await e.flush()
  assert.equal(tracePuts(transport).length, 4)
  assert.equal(e.health().tracesSent, 1)
  assert.equal(e.health().payloadsMaybeDelivered, 0)
})

test('flush resolves by its deadline with a transport that never settles; the payload stays in flight and shows', async () => {
  const never: Transport = { send: () => new Promise(() => {}), close: () => Promise.resolve() }
  const e = exporter(never, { discovery: false, flushTimeoutMs: 50 })
  e.export(chunks(1)[0])
  const started = Date.now()
  await e.flush()
  assert.ok(Date.now() - started < 1000)
  await e.flush({ timeoutMs: 20 })
  const h = e.health()
  assert.equal(h.flushTimeouts, 2)
  assert.equal(h.inFlightRequests, 1)
  assert.equal(e.pending, true)
})

test('the first payload waits for /info as an event: it goes as soon as the answer comes, in the format it says', async () => {
  let answerInfo: (() => void) | undefined
  const transport = new ScriptedTransport()
  const slowInfo: Transport = {
    send: (path, ...rest) => {
      if (path !== '/info') return transport.send(path, ...rest)
      transport.requests.push({ path, method: 'GET', bytes: 0 })
      return new Promise((resolve) => {
        answerInfo = () => resolve({ status: 200, body: JSON.stringify({ endpoints: ['/v0.4/traces', '/v0.5/traces'] }), headers: {} })
      })
    },
    close: () => Promise.resolve()
  }
  const e = exporter(slowInfo, { discoveryWaitMs: 10_000 })
  e.export(chunks(1)[0])
  const flushed = e.flush()
  await new Promise((resolve) => setTimeout(resolve, 20))
  assert.deepEqual(transport.requests.map((r) => r.path), ['/info'], 'the payload waits')
  const answered = Date.now()
  answerInfo!()
  await flushed
  assert.ok(Date.now() - answered < 200, 'flushed as soon as /info answered')
  assert.deepEqual(transport.requests.map((r) => r.path), ['/info', '/v0.5/traces'])
})

test('an /info that never answers holds the first payload for discoveryWaitMs only', async () => {
  const transport = new ScriptedTransport()
  const silentInfo: Transport = {
    send: (path, ...rest) => (path === '/info' ? new Promise(() => {}) : transport.send(path, ...rest)),
    close: () => Promise.resolve()
  }
  const e = exporter(silentInfo, { discoveryWaitMs: 50, protocolVersion: 'auto' })
  e.export(chunks(1)[0])
  const started = Date.now()
  await e.flush()
  const elapsed = Date.now() - started
  assert.ok(elapsed >= 45 && elapsed < 1000, `${elapsed} ms`)
  assert.deepEqual(transport.requests.map((r) => r.path), ['/v0.4/traces'])
  assert.equal(e.health().tracesSent, 1)
})
