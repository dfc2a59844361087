import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decode } from '@msgpack/msgpack'
import { V04Encoder } from '../src/wire/encode-v04.js'
import {
  FALLBACK_SERVICE,
  isValidStatusCode,
  normalizeName,
  normalizePeerService,
  normalizeService,
  normalizeTag,
  normalizeTagValue,
  truncateUtf8,
  truncateWithEllipsis
} from '../src/wire/normalize.js'
import { CoreSpan, TraceState } from '../src/model/span.js'
import { CoreTracer, createTracer } from '../src/tracer/tracer.js'
import { SpanCollector } from './support/span-collector.js'

type Decoded = { name: string; service: string; resource: string; type: string; start: bigint; duration: bigint; parent_id: bigint; meta: Record<string, string>; metrics: Record<string, number> }

const decorations = { service: 'svc', globalMeta: { language: 'javascript', env: 'Prod Env' }, processId: 1 }

function encodeOne(build: (span: CoreSpan) => void): Decoded {
  const exporter = new SpanCollector()
  const tracer = new CoreTracer({ service: 'svc', exporter, flushOnExit: false })
  const span = tracer.startSpan('op')
  build(span)
  span.finish()
  const encoder = new V04Encoder(decorations, 1 << 22)
  encoder.begin()
  assert.ok(encoder.append(exporter.chunks()[0]))
  return (decode(encoder.finish(), { useBigInt64: true }) as Decoded[][])[0][0]
}

test('service names as the agent normalizes them (traceutil/normalize tests)', () => {
  const cases: [string, string][] = [
    ['', FALLBACK_SERVICE],
    ['good', 'good'],
    ['Good-Service', 'good-service'],
    ['bad$service', 'bad_service'],
    ['a'.repeat(101), 'a'.repeat(100)],
    ['&&&', FALLBACK_SERVICE],
    ['123-service', '123-service'],
    ['My Service!!', 'my_service'],
    ['ÉTÉ', 'été'],
    ['a__b', 'a_b'],
    ['__a', '_a'],
    ['ok:1.0/x-y', 'ok:1.0/x-y']
  ]
  for (const [input, expected] of cases) assert.equal(normalizeService(input), expected, JSON.stringify(input))
  assert.equal(normalizePeerService('&&&'), '')
  assert.equal(normalizePeerService('Peer.Service'), 'peer.service')
})

test('tags and tag values: only a letter may lead a full tag, at most 200 characters', () => {
  assert.equal(normalizeTag('1abc'), 'abc')
  assert.equal(normalizeTag('_key:value'), 'key:value')
  assert.equal(normalizeTagValue('1abc'), '1abc')
  assert.equal(normalizeTagValue('a'.repeat(200)), 'a'.repeat(200), 'the last length accepted')
  assert.equal(normalizeTagValue('a'.repeat(201)), 'a'.repeat(200), 'the first refused is cut')
  assert.equal(normalizeTagValue('A b'), 'a_b')
  assert.equal(normalizeTagValue('trailing!!'), 'trailing')
})

test('operation names follow the metric-name rules', () => {
  const cases: [string, string][] = [
    ['', 'unnamed_operation'],
    ['bad-name', 'bad_name'],
    ['&***', 'unnamed_operation'],
    ['express.request', 'express.request'],
    ['9lives', 'lives'],
    ['a_.b', 'a.b'],
    ['a__b', 'a_b'],
    ['name_', 'name'],
    ['a'.repeat(100), 'a'.repeat(100)],
    ['a'.repeat(101), 'a'.repeat(100)],
    ['café.op', 'caf_.op'.replace('_.', '.')]
  ]
  for (const [input, expected] of cases) assert.equal(normalizeName(input), expected, JSON.stringify(input))
})

test('status codes: integers 100 to 599 only', () => {
  for (const ok of ['100', '200', '599', '0200']) assert.equal(isValidStatusCode(ok), true, ok)
  for (const bad of ['99', '600', '', 'abc', '20 0', '-200', '200.0']) assert.equal(isValidStatusCode(bad), false, bad)
})

test('UTF-8 truncation never splits a character; the agent appends ... to cut keys and values', () => {
  assert.equal(truncateUtf8('ééé', 5), 'éé')
  assert.equal(truncateUtf8('😀😀', 6), '😀')
  assert.equal(truncateUtf8('abc', 3), 'abc')
  assert.equal(truncateWithEllipsis('k'.repeat(200), 200), 'k'.repeat(200))
  assert.equal(truncateWithEllipsis('k'.repeat(201), 200), `${'k'.repeat(200)}...`)
})

test('the encoder applies the agent\'s rules at encode time', () => {
  const span = encodeOne((s) => {
    s.name = 'Bad-Name'
    s.service = 'My Service'
    s.resource = ''
    s.type = 't'.repeat(150)
    s.meta['http.status_code'] = '999'
    s.meta['peer.service'] = 'Other DB'
    s.meta['k'.repeat(201)] = 'v'
    s.meta['k'.repeat(200)] = 'kept'
    s.meta.big = 'x'.repeat(25_001)
    s.meta.fits = 'x'.repeat(25_000)
    s.meta.env = 'QA Env'
    s.metrics['m'.repeat(201)] = 1
    s.metrics.nan = Number.NaN
  })
  assert.equal(span.name, 'Bad_Name', 'names keep their case')
  assert.equal(span.service, 'my_service')
  assert.equal(span.resource, 'Bad_Name', 'an empty resource takes the name')
  assert.equal(span.type.length, 100)
  assert.equal(span.meta['http.status_code'], undefined)
  assert.equal(span.meta['peer.service'], 'other_db')
  assert.equal(span.meta[`${'k'.repeat(200)}...`], 'v')
  assert.equal(span.meta['k'.repeat(200)], 'kept')
  assert.equal(span.meta.big, `${'x'.repeat(25_000)}...`)
  assert.equal(span.meta.fits, 'x'.repeat(25_000))
  assert.equal(span.meta.env, 'qa_env', 'env is tag-normalized')
  assert.equal(span.meta['_dd.base_service'], 'svc')
  assert.equal(span.metrics[`${'m'.repeat(200)}...`], 1)
  assert.equal(span.metrics.nan, undefined, 'a NaN metric is not sent')
})

test('a tag value set past the agent limit arrives as the agent would leave it: 25,000 bytes and ...', () => {
  const span = encodeOne((s) => {
    s.setTag('long', 'y'.repeat(30_000))
    s.setTag('wide', '\u00e9'.repeat(20_000))
    s.setTag('edge', 'z'.repeat(25_001))
  })
  assert.equal(span.meta.long, `${'y'.repeat(25_000)}...`)
  assert.equal(span.meta.wide, `${'\u00e9'.repeat(12_500)}...`, 'bytes are counted, not characters')
  assert.equal(span.meta.edge, `${'z'.repeat(25_000)}...`)
})

test('global env is normalized once; hostile field values written by user code never throw', () => {
  const span = encodeOne((s) => {
    ;(s as unknown as { name: unknown }).name = 42
    ;(s as unknown as { resource: unknown }).resource = { toString: () => 'obj' }
    ;(s as unknown as { meta: Record<string, unknown> }).meta.num = 5
    ;(s as unknown as { meta: Record<string, unknown> }).meta.nul = null
    ;(s as unknown as { metrics: Record<string, unknown> }).metrics.str = 'x'
    s.duration = -5
  })
  assert.equal(span.meta.env, 'prod_env')
  assert.equal(span.name, 'unnamed_operation', '"42" has no letter')
  assert.equal(span.resource, 'obj')
  assert.equal(span.meta.num, '5')
  assert.equal(span.meta.nul, undefined)
  assert.equal(span.metrics.str, undefined)
})

test('start before 2000 becomes now - duration; a parent equal to both ids is reset', () => {
  const owner = { config: createTracer({ exporter: new SpanCollector(), flushOnExit: false }).config, finishSpan() {} }
  const trace = new TraceState(7n, '', 1, undefined, {})
  const span = new CoreSpan(owner, trace, 7n, 7n, undefined, 'op', 'svc', 'op', '', -performance.timeOrigin + 1000)
  span.duration = 2
  const encoder = new V04Encoder(decorations, 1 << 20)
  encoder.begin()
  encoder.append([span])
  const [[out]] = decode(encoder.finish(), { useBigInt64: true }) as Decoded[][]
  const now = BigInt(Date.now()) * 1_000_000n
  assert.ok(out.start > now - 10_000_000_000n && out.start <= now, `start ${out.start}`)
  assert.equal(BigInt(out.duration), 2_000_000n)
  assert.equal(out.parent_id, 0n)
})
