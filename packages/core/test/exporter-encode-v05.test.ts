import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeMsgpackTree, v05ToV04Tree, validateRequest, type ReceivedSpan } from '@datadog-apm/agent'
import { decode } from '@msgpack/msgpack'
import { V04Encoder } from '../src/wire/encode-v04.js'
import { V05Encoder } from '../src/wire/encode-v05.js'
import { createTracer } from '../src/tracer/tracer.js'
import { SpanCollector } from './support/span-collector.js'
import type { CoreSpan } from '../src/model/span.js'

const decorations = { service: 'svc', globalMeta: { language: 'javascript', 'runtime-id': 'rid', env: 'prod' }, processId: 7 }
const headers = { 'content-type': 'application/msgpack', 'datadog-meta-lang': 'nodejs', 'datadog-meta-lang-version': 'v20', 'datadog-meta-lang-interpreter': 'v8', 'datadog-meta-tracer-version': '0.1.0' }

function chunks(): CoreSpan[][] {
  const exporter = new SpanCollector()
  const t = createTracer({ service: 'svc', exporter, flushOnExit: false })
  for (let i = 0; i < 5; i++) {
    t.trace('web.request', { resource: `GET /r${i % 2}`, type: 'web', tags: { 'http.method': 'GET', 'http.status_code': 200, 'peer.service': 'ピアサービス', n: i } }, (root) => {
      t.trace('db.query', { service: 'pg', type: 'sql', resource: `SELECT * FROM t WHERE id = ${i}` }, () => {})
      root.setTag('long', 'z'.repeat(300))
    })
  }
  return exporter.chunks()
}

function received(bytes: Buffer, endpoint: string, traceCount: number): ReceivedSpan[][] {
  let root = decodeMsgpackTree(bytes)
  if (endpoint === '/v0.5/traces') {
    const converted = v05ToV04Tree(root)
    assert.equal(converted.error, undefined)
    root = converted.root!
  }
  const result = validateRequest({ headers: { ...headers, 'x-datadog-trace-count': String(traceCount), 'content-length': String(bytes.length) }, bytes: bytes.length, root, endpoint, receivedAt: 0 })
  assert.deepEqual(result.violations, [])
  return result.traces.map((t) => t.spans)
}

/** Both encoders with every chunk appended (each must fit), their payloads not finished yet. */
function encodeBoth(input: readonly CoreSpan[][], maxV04: number, maxV05: number): { v4: V04Encoder; v5: V05Encoder } {
  const v4 = new V04Encoder(decorations, maxV04)
  const v5 = new V05Encoder(decorations, maxV05)
  v4.begin()
  v5.begin()
  for (const chunk of input) {
    assert.ok(v4.append(chunk))
    assert.ok(v5.append(chunk))
  }
  return { v4, v5 }
}

test('v0.5 carries exactly what v0.4 carries, in a string table', () => {
  const { v4, v5 } = encodeBoth(chunks(), 1 << 20, 1 << 20)
  const b4 = v4.finish()
  const b5 = v5.finish()
  assert.deepEqual(received(b5, '/v0.5/traces', 5), received(b4, '/v0.4/traces', 5))
  assert.ok(b5.length < b4.length * 0.7, `v0.5 ${b5.length} bytes, v0.4 ${b4.length}`)
  const [strings, traces] = decode(b5, { useBigInt64: true }) as [string[], unknown[][][]]
  assert.equal(strings[0], '')
  assert.equal(strings.filter((s) => s === 'z'.repeat(300)).length, 1, 'a repeated string is written once')
  for (const trace of traces) for (const span of trace) assert.equal(span.length, 12)
  assert.equal(b5[1], 0xdd, 'the table header is array32')
})

test('v0.5 sends SQL as written too; the intake takes a statement past 5000 bytes without a violation', () => {
  const exporter = new SpanCollector()
  const t = createTracer({ service: 'svc', exporter, flushOnExit: false })
  const statement = "SELECT * FROM users WHERE name = 'bob' AND id = 42"
  const bulk = `INSERT INTO t (a, b) VALUES ${Array.from({ length: 600 }, (_, i) => `(${i}, 'v${i}')`).join(', ')}`
  t.trace('pg.query', { type: 'sql', resource: statement, tags: { 'sql.query': statement } }, () => {})
  t.trace('pg.query', { type: 'sql', resource: bulk }, () => {})
  const { v4, v5 } = encodeBoth(exporter.chunks(), 1 << 20, 1 << 20)
  const spans = received(v5.finish(), '/v0.5/traces', 2).flat()
  assert.deepEqual(spans.map((s) => s.resource), [statement, bulk])
  assert.equal(spans[0].meta['sql.query'], statement)
  assert.equal(spans[1].meta['sql.query'], undefined)
  assert.deepEqual(received(v4.finish(), '/v0.4/traces', 2).flat(), spans)
})

test('a v0.5 chunk that does not fit is taken back with the strings it added', () => {
  const [small, big] = [chunks()[0], chunks()[1]]
  big[0].meta.huge = 'q'.repeat(5000)
  const v5 = new V05Encoder(decorations, 4096)
  v5.begin()
  assert.ok(v5.append(small))
  const before = v5.byteLength
  assert.equal(v5.append(big), false)
  assert.equal(v5.byteLength, before)
  const [strings] = decode(v5.finish(), { useBigInt64: true }) as [string[]]
  assert.ok(!strings.includes('q'.repeat(5000)))
  assert.equal(v5.traceCount, 1)
})

test('past 4,096 distinct strings new ones are written each time, and the payload still reads as v0.4', () => {
  const exporter = new SpanCollector()
  const t = createTracer({ service: 'svc', exporter, flushOnExit: false })
  // 3,000 traces with two strings of their own each: the table passes the cap halfway.
  for (let i = 0; i < 3000; i++) t.trace('web.request', { resource: `GET /r${i % 3}`, tags: { 'http.url': `/users/${i}`, 'request.id': `id-${i}` } }, () => {})
  const { v4, v5 } = encodeBoth(exporter.chunks(), 1 << 24, 1 << 20)
  // Past the cap, a chunk that does not fit is still taken back whole.
  const before = v5.byteLength
  // Meta values are cut at 25,000 bytes: 60 of them pass the 1 MiB payload limit.
  const huge = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`huge.${i}`, String(i).repeat(30_000)]))
  const tooBig = t.startSpan('too.big', { tags: { ...huge, fresh: 'never seen' } })
  tooBig.finish()
  assert.equal(v5.append(exporter.chunks().at(-1)!), false)
  assert.equal(v5.byteLength, before)
  const b5 = v5.finish()
  assert.deepEqual(received(b5, '/v0.5/traces', 3000), received(v4.finish(), '/v0.4/traces', 3000))
  const [strings] = decode(b5) as [string[]]
  assert.ok(strings.length > 6000, `${strings.length} strings`)
  assert.equal(strings.filter((s) => s === 'GET /r1').length, 1, 'strings seen before the cap are still written once')
  assert.ok(strings.filter((s) => s === 'web.request').length === 1)
  assert.ok(strings.filter((s) => s === 'http.url').length === 1)
  assert.ok(strings.filter((s) => s.startsWith('/users/')).length === 3000)
})

test('the intake refuses a v0.5 span that is not an array of 12, or an index out of range', () => {
  const str = (value: string) => ({ kind: 'str' as const, format: 'fixstr' as const, value, validUtf8: true })
  const uint = (value: number) => ({ kind: 'uint' as const, format: 'positive-fixint' as const, value })
  const span = (items: ReturnType<typeof uint>[]) => ({ kind: 'array' as const, format: 'fixarray' as const, items })
  const payload = (s: ReturnType<typeof span>) => ({
    kind: 'array' as const,
    format: 'fixarray' as const,
    items: [
      { kind: 'array' as const, format: 'fixarray' as const, items: [str(''), str('a')] },
      { kind: 'array' as const, format: 'fixarray' as const, items: [{ kind: 'array' as const, format: 'fixarray' as const, items: [s] }] }
    ]
  })
  assert.match(v05ToV04Tree(payload(span(Array.from({ length: 11 }, () => uint(0))))).error ?? '', /exactly 12/)
  const twelve = Array.from({ length: 12 }, () => uint(1))
  twelve[0] = uint(2)
  assert.match(v05ToV04Tree(payload(span(twelve))).error ?? '', /out of range/)
})

test('string indexes are written in the smallest unsigned form; the intake reads them back', () => {
  const input = chunks()
  const v5 = new V05Encoder(decorations, 1 << 20)
  v5.begin()
  for (const chunk of input) assert.ok(v5.append(chunk))
  const payload = v5.finishPayload()
  const b = payload.bytes
  // The first span: its trace's array header, the span's fixarray of 12, then the service's index.
  const span = payload.spanStarts[0]
  assert.equal(b[span], 0x9c)
  assert.ok(b[span + 1] < 0x80, `service index written as ${b[span + 1].toString(16)}`)
  const [strings, traces] = decode(b, { useBigInt64: true }) as [string[], unknown[][][]]
  assert.equal(strings[traces[0][0][0] as number], 'svc')
  assert.deepEqual(received(b, '/v0.5/traces', input.length).length, input.length)
})
