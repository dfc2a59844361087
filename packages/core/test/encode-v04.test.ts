import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decode } from '@msgpack/msgpack'
import { V04Encoder, type SpanDecorations } from '../src/wire/encode-v04.js'
import { MsgpackWriter, PayloadTooLargeError } from '../src/wire/msgpack-writer.js'
import { CoreSpan, TraceState } from '../src/model/span.js'
import { CoreTracer, createTracer } from '../src/tracer/tracer.js'
import { SpanCollector } from './support/span-collector.js'

type Decoded = Record<string, unknown> & { meta: Record<string, string>; metrics: Record<string, number> }

const decorations: SpanDecorations = {
  service: 'svc',
  globalMeta: { language: 'javascript', 'runtime-id': 'rid', env: 'prod', version: '1.2.3', team: 'apm' },
  processId: 4242
}

function encode(chunks: CoreSpan[][], maxPayloadBytes = 1 << 20): Decoded[][] {
  const encoder = new V04Encoder(decorations, maxPayloadBytes)
  encoder.begin()
  for (const chunk of chunks) assert.ok(encoder.append(chunk))
  return decode(encoder.finish(), { useBigInt64: true }) as Decoded[][]
}

function tracer() {
  const exporter = new SpanCollector()
  return { tracer: new CoreTracer({ service: 'svc', exporter, flushOnExit: false }), exporter }
}

test('a span decodes field by field, with the agent key set and types', () => {
  const { tracer: t, exporter } = tracer()
  const root = t.startSpan('express.request', { resource: 'GET /users/:id', type: 'web' })
  root.setTag('http.method', 'GET').setTag('http.status_code', 200).setTag('ratio', 0.25)
  const child = t.startSpan('db.query', { childOf: root, service: 'postgres', type: 'sql' })
  child.setError(new Error('timeout'))
  child.finish()
  root.finish()
  const [[first, second]] = encode(exporter.chunks()) as [[Decoded, Decoded]]

  assert.deepEqual(Object.keys(first).sort(), ['duration', 'error', 'meta', 'metrics', 'name', 'parent_id', 'resource', 'service', 'span_id', 'start', 'trace_id', 'type'])
  assert.equal(first.name, 'express.request', 'the local root comes first')
  assert.equal(first.trace_id, root.traceId)
  assert.equal(first.span_id, root.spanId)
  assert.equal(first.parent_id, 0n)
  assert.equal(first.resource, 'GET /users/:id')
  assert.equal(first.service, 'svc')
  assert.equal(first.type, 'web')
  assert.equal(first.error, 0)
  assert.equal(typeof first.start, 'bigint')
  const startNs = BigInt(Math.round(root.startTime * 1e3)) * 1000n
  assert.ok(((first.start as bigint) - startNs) ** 2n < 10_000n ** 2n, 'start is epoch ns of the span start')
  assert.equal(BigInt(first.duration as number | bigint), BigInt(Math.round(root.duration * 1e6)))
  assert.deepEqual(first.meta, {
    'http.method': 'GET',
    'http.status_code': '200',
    '_dd.p.tid': root.trace.traceIdHigh,
    '_dd.p.dm': '-0',
    language: 'javascript',
    'runtime-id': 'rid',
    env: 'prod',
    version: '1.2.3',
    team: 'apm'
  })
  // `_dd.agent_psr` is the sampler's (default agent rate 1, set on the local root when it decides).
  assert.deepEqual(first.metrics, { ratio: 0.25, '_dd.agent_psr': 1, _sampling_priority_v1: 1, '_dd.top_level': 1, process_id: 4242 })

  assert.equal(second.parent_id, root.spanId)
  assert.equal(second.service, 'postgres')
  assert.equal(second.error, 1)
  assert.equal(second.meta['error.message'], 'timeout')
  assert.equal(second.meta['_dd.base_service'], 'svc')
  assert.equal(second.meta['_dd.p.tid'], undefined, 'trace tags only on the first span of a chunk')
  assert.equal(second.metrics['_dd.top_level'], 1, 'a span of another service is top-level')
})

test('64-bit ids are exact at 2^63 and 2^64-1', () => {
  const owner = { config: createTracer({ exporter: new SpanCollector(), flushOnExit: false }).config, finishSpan() {} }
  const trace = new TraceState(2n ** 64n - 1n, '', 1, undefined, {})
  const span = new CoreSpan(owner, trace, 2n ** 63n, 2n ** 64n - 2n, undefined, 'op', 'svc', 'op', '', performance.now())
  span.duration = 1
  const [[decoded]] = encode([[span]]) as [[Decoded]]
  assert.equal(decoded.trace_id, 2n ** 64n - 1n)
  assert.equal(decoded.span_id, 2n ** 63n)
  assert.equal(decoded.parent_id, 2n ** 64n - 2n)
})

test('a span the user gave env itself keeps its own value, once', () => {
  const { tracer: t, exporter } = tracer()
  t.startSpan('op', { tags: { env: 'staging' } }).finish()
  const [[span]] = encode(exporter.chunks()) as [[Decoded]]
  assert.equal(span.meta.env, 'staging')
})

test('long, non-ASCII and empty strings survive; empty name and resource get fallbacks', () => {
  const { tracer: t, exporter } = tracer()
  const long = 'SELECT * FROM t WHERE '.repeat(500)
  t.startSpan('', { tags: { long, jp: 'ピアサービス', short: 'é', empty: '' }, resource: '' }).finish()
  const [[span]] = encode(exporter.chunks()) as [[Decoded]]
  assert.equal(span.meta.long, long)
  assert.equal(span.meta.jp, 'ピアサービス')
  assert.equal(span.meta.short, 'é')
  assert.equal(span.meta.empty, '')
  assert.equal(span.name, 'unnamed_operation')
  assert.equal(span.resource, 'unnamed_operation')
})

test('SQL goes as written, as dd-trace sends it: resource and sql.query untouched, and not cut at the resource limit', () => {
  const { tracer: t, exporter } = tracer()
  const statement = "SELECT * FROM users WHERE name = 'bob' AND id IN (1, 2, 3) -- lookup"
  // Over 5000 bytes: the agent obfuscates before it truncates, so the statement must reach it whole.
  const bulk = `INSERT INTO t (a, b) VALUES ${Array.from({ length: 600 }, (_, i) => `(${i}, 'v${i}')`).join(', ')}`
  const huge = `SELECT ${'1, '.repeat(40_000)}1`
  t.trace('pg.query', { type: 'sql', resource: statement, tags: { 'sql.query': statement } }, () => {})
  t.trace('cassandra.query', { type: 'cassandra', resource: bulk }, () => {})
  t.trace('pg.query', { type: 'sql', resource: huge }, () => {})
  t.trace('web.request', { type: 'web', resource: bulk }, () => {})
  const [[written], [long], [tooLong], [web]] = encode(exporter.chunks(), 1 << 22) as [[Decoded], [Decoded], [Decoded], [Decoded]]
  assert.equal(written.resource, statement)
  assert.equal(written.meta['sql.query'], statement, 'a sql.query the span set goes as it is')
  assert.ok(bulk.length > 5000)
  assert.equal(long.resource, bulk)
  assert.equal(long.meta['sql.query'], undefined, 'the agent fills sql.query, the tracer does not')
  assert.equal(tooLong.resource, huge.slice(0, 5000), 'past 100,000 characters a statement is cut to the resource limit')
  assert.equal(web.resource, bulk.slice(0, 5000), 'any other resource is cut at the limit, as the agent cuts it')
})

test('many traces in one payload; map headers past 15 and 65535 entries', () => {
  const { tracer: t, exporter } = tracer()
  for (let i = 0; i < 40; i++) {
    const s = t.startSpan(`op${i}`)
    for (let k = 0; k < (i === 0 ? 70_000 : 20); k++) s.metrics[`m${k}`] = k
    s.finish()
  }
  const decoded = encode(exporter.chunks(), 8 << 20)
  assert.equal(decoded.length, 40)
  // 70000 + _dd.agent_psr, _sampling_priority_v1, _dd.top_level, process_id
  assert.equal(Object.keys(decoded[0][0].metrics).length, 70_004)
  assert.equal(decoded[39][0].name, 'op39')
})

test('a chunk that does not fit is refused whole, leaving the payload valid', () => {
  const { tracer: t, exporter } = tracer()
  t.startSpan('small').finish()
  t.startSpan('big', { tags: { blob: 'x'.repeat(20_000) } }).finish()
  const encoder = new V04Encoder(decorations, 4096)
  encoder.begin()
  const [small, big] = exporter.chunks()
  assert.equal(encoder.append(small), true)
  assert.equal(encoder.append(big), false)
  assert.equal(encoder.traceCount, 1)
  const decoded = decode(encoder.finish(), { useBigInt64: true }) as Decoded[][]
  assert.deepEqual(decoded.map((c) => c[0].name), ['small'])
})

test('the writer refuses to pass its cap: the last byte accepted, the next refused', () => {
  const writer = new MsgpackWriter(4, 16)
  writer.raw(new Uint8Array(16))
  assert.equal(writer.length, 16)
  assert.throws(() => writer.nil(), PayloadTooLargeError)
})

test('every integer and string format the writer uses decodes back', () => {
  const writer = new MsgpackWriter(8, 1 << 24)
  const values: unknown[] = []
  const put = (value: unknown, write: () => void) => {
    values.push(value)
    write()
  }
  writer.arrayHeader(0) // placeholder replaced below
  writer.reset()
  const strings = ['', 'a', 'x'.repeat(31), 'x'.repeat(32), 'y'.repeat(255), 'z'.repeat(256), 'w'.repeat(70_000), 'ü'.repeat(20)]
  // Under 256 characters ASCII is copied char by char; a later non-ASCII character falls back to utf8.
  strings.push('x'.repeat(100) + 'é', 'é' + 'x'.repeat(60), 'ü'.repeat(100), 'ü'.repeat(200), 'x'.repeat(254) + '€')
  const uints = [0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1]
  // number(): integers of up to 32 bits in their smallest int form, anything else as float64.
  const numbers = [0, 1, 127, 128, 65536, 2 ** 32 - 1, 2 ** 32, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, 0.25, -0.5, 1e300]
  const total = strings.length + uints.length + numbers.length + 5
  writer.arrayHeader(total)
  for (const s of strings) put(s, () => writer.string(s))
  for (const n of uints) put(n, () => writer.uint(n))
  for (const n of numbers) put(n, () => writer.number(n))
  put(2 ** 32, () => writer.uintLong(2 ** 32))
  put(2 ** 53 - 1, () => writer.uintLong(2 ** 53 - 1))
  put(-1.5, () => writer.float64(-1.5))
  put(null, () => writer.nil())
  put(2n ** 64n - 1n, () => writer.uint64(2n ** 64n - 1n))
  const decoded = decode(writer.bytes(), { useBigInt64: true }) as unknown[]
  assert.deepEqual(
    decoded.map((v) => (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v)),
    values
  )
})

test('number() takes the smallest form; a map header reserved as one byte grows past 15 entries', () => {
  const size = (write: (w: MsgpackWriter) => void): number => {
    const w = new MsgpackWriter(8, 1 << 20)
    write(w)
    return w.length
  }
  assert.deepEqual(
    [1, -1, 200, -200, 70_000, -70_000, 2 ** 32, 0.5].map((n) => size((w) => w.number(n))),
    [1, 1, 2, 3, 5, 5, 9, 9]
  )
  for (const n of [0, 15, 16, 300, 70_000]) {
    const w = new MsgpackWriter(8, 1 << 24)
    w.arrayHeader(2)
    const at = w.reserveMapHeader()
    for (let i = 0; i < n; i++) {
      w.string(`k${i}`)
      w.uint(i)
    }
    w.patchMapHeader(at, n)
    w.string('after')
    const [map, after] = decode(w.bytes()) as [Record<string, number>, string]
    assert.equal(Object.keys(map).length, n)
    assert.equal(map[`k${n - 1}`], n === 0 ? undefined : n - 1)
    assert.equal(after, 'after')
    assert.equal(w.bytes()[1], n < 16 ? 0x80 | n : n < 0x10000 ? 0xde : 0xdf)
  }
})

test('a global tag the span set itself is written once, with its value, however many global tags there are', () => {
  for (const extra of [0, 40]) {
    const globalMeta: Record<string, string> = { ...decorations.globalMeta }
    for (let i = 0; i < extra; i++) globalMeta[`g${i}`] = `v${i}`
    const { tracer: t, exporter } = tracer()
    // 'team' is set by the span; 'tier' and 'g1x' have a global key's length and are none.
    const span = t.startSpan('op', { tags: { team: 'mine', tier: 'gold', g1x: 'y' } })
    // A key an app left undefined (meta written directly) is no tag of its own.
    ;(span.meta as Record<string, string | undefined>).version = undefined
    span.finish()
    const encoder = new V04Encoder({ ...decorations, globalMeta }, 1 << 20)
    encoder.begin()
    encoder.append(exporter.chunks()[0])
    const bytes = encoder.finish()
    const [[decoded]] = decode(bytes, { useBigInt64: true }) as [[Decoded]]
    const meta = decoded.meta
    assert.equal(meta.team, 'mine', `${extra} extra globals`)
    assert.equal(meta.version, '1.2.3', 'a key set to undefined is not the span\'s own')
    assert.equal(meta.tier, 'gold')
    assert.equal(meta.g1, extra === 0 ? undefined : 'v1')
    // @msgpack/msgpack keeps the last of repeated keys; count the pairs on the wire instead.
    const keys = Object.keys(meta).length
    const header = bytes.indexOf(Buffer.from('\xa4meta', 'latin1')) + 5
    const count = bytes[header] < 0x90 ? bytes[header] & 0x0f : bytes.readUInt16BE(header + 1)
    assert.equal(count, keys, `${extra} extra globals: every key once`)
  }
})

test('keys the encoder adds are never repeated when the span set them itself', () => {
  const { tracer: t, exporter } = tracer()
  const root = t.startSpan('op', { childOf: { traceId: 5n, traceIdHigh: 'abcdef0000000000', spanId: 6n, origin: 'rum', traceTags: { '_dd.p.usr': 'u' } }, service: 'other' })
  root.setTags({ '_dd.p.tid': 'x', '_dd.origin': 'mine', '_dd.base_service': 'b', '_dd.p.usr': 'v', env: 'e' })
  root.metrics._sampling_priority_v1 = 2
  root.metrics['_dd.top_level'] = 0
  root.finish()
  const encoder = new V04Encoder(decorations, 1 << 20)
  encoder.begin()
  encoder.append(exporter.chunks()[0])
  const bytes = encoder.finish()
  const [[span]] = decode(bytes, { useBigInt64: true }) as [[Decoded]]
  assert.deepEqual(span.meta, { '_dd.p.tid': 'x', '_dd.p.dm': '-0', '_dd.origin': 'mine', '_dd.base_service': 'b', '_dd.p.usr': 'v', env: 'e', language: 'javascript', 'runtime-id': 'rid', version: '1.2.3', team: 'apm' })
  // @msgpack/msgpack keeps the last of repeated keys; count the keys on the wire instead.
  const metaHeader = bytes.indexOf(Buffer.from('\xa4meta', 'latin1'))
  assert.equal(bytes[metaHeader + 5], 0x80 | 10, 'a fixmap of 10 pairs')
})
