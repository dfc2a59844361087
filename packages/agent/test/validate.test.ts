import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeMsgpackTree } from '../src/intake/msgpack-decoder.js'
import type { RuleId } from '../src/intake/rules.js'
import { validateRequest, type ValidationResult } from '../src/intake/validate.js'
import {
  encode, float32, float64, int8, int64, mapOf, raw, span, tracerHeaders, uint16, uint32, uint64, type Encodable
} from './test-encoder.js'

function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
}

function check(payload: Encodable, headers?: Record<string, string | undefined>): ValidationResult {
  const body = encode(payload)
  const count = Array.isArray(payload) ? payload.length : 0
  const merged: Record<string, string> = {}
  for (const [k, v] of Object.entries({ ...tracerHeaders(count), 'Content-Length': String(body.length), ...headers })) {
    if (v !== undefined) merged[k] = v
  }
  return validateRequest({ headers: lower(merged), bytes: body.length, root: decodeMsgpackTree(body), endpoint: '/v0.4/traces', receivedAt: 1 })
}

const rules = (result: ValidationResult): RuleId[] => result.violations.map((v) => v.rule)
const oneSpan = (overrides: Record<string, Encodable | undefined>): ValidationResult => check([[span(overrides)]])

void describe('validateRequest: a clean payload', () => {
  void it('has no violations and reads every field exactly', () => {
    const result = check([[span({ trace_id: uint64(2n ** 64n - 1n), span_id: uint64(2n ** 63n) })]])
    assert.deepEqual(result.violations, [])
    assert.equal(result.traces.length, 1)
    const s = result.traces[0]?.spans[0]
    assert.deepEqual(s, {
      trace_id: 2n ** 64n - 1n, span_id: 2n ** 63n, parent_id: 0n, name: 'express.request', service: 'web',
      resource: 'GET /users/:id', type: 'web', start: 1_700_000_000_000_000_000n, duration: 1_500_000n, error: 0,
      meta: { 'http.status_code': '200', 'span.kind': 'server' }, metrics: { _sampling_priority_v1: 1, '_dd.top_level': 1 }
    })
    assert.equal(result.traces[0]?.dropReason, undefined)
  })

  void it('accepts every uint format for ids and every int format for start/duration, and float32 metrics', () => {
    const result = oneSpan({ trace_id: 7, span_id: uint16(300), parent_id: uint32(9), start: uint64(1_700_000_000_000_000_000n), duration: int8(5), metrics: { m: float32(0.5), n: 3 } })
    assert.deepEqual(result.violations, [])
    assert.deepEqual(result.traces[0]?.spans[0]?.metrics, { m: 0.5, n: 3 })
  })

  void it('keeps meta_struct, span_links and span_events', () => {
    const result = oneSpan({
      meta_struct: { appsec: Uint8Array.from([0x80]) },
      span_links: [{ trace_id: uint64(5), span_id: uint64(6), attributes: { a: 'b' } }],
      span_events: [{ time_unix_nano: uint64(1), name: 'ev' }]
    })
    assert.deepEqual(result.violations, [])
    const s = result.traces[0]?.spans[0]
    assert.deepEqual(s?.meta_struct, { appsec: Uint8Array.from([0x80]) })
    assert.deepEqual(s?.span_links, [{ trace_id: 5n, span_id: 6n, attributes: { a: 'b' } }])
    assert.deepEqual(s?.span_events, [{ time_unix_nano: 1n, name: 'ev' }])
  })
})

void describe('validateRequest: headers', () => {
  const cases: Array<[string, Record<string, string | undefined>, RuleId]> = [
    ['trace count missing', { 'X-Datadog-Trace-Count': undefined }, 'trace-count-header-missing'],
    ['trace count not an integer', { 'X-Datadog-Trace-Count': 'two' }, 'trace-count-header-invalid'],
    ['trace count mismatch', { 'X-Datadog-Trace-Count': '2' }, 'trace-count-header-mismatch'],
    ['content type json', { 'Content-Type': 'application/json' }, 'content-type-not-msgpack'],
    ['content type missing', { 'Content-Type': undefined }, 'content-type-not-msgpack'],
    ['meta lang missing', { 'Datadog-Meta-Lang': undefined }, 'meta-lang-header-missing'],
    ['meta lang version missing', { 'Datadog-Meta-Lang-Version': undefined }, 'meta-lang-version-header-missing'],
    ['interpreter missing', { 'Datadog-Meta-Lang-Interpreter': undefined }, 'meta-lang-interpreter-header-missing'],
    ['tracer version empty', { 'Datadog-Meta-Tracer-Version': '' }, 'tracer-version-header-missing'],
    ['content length missing', { 'Content-Length': undefined }, 'content-length-missing'],
    ['content length wrong', { 'Content-Length': '3' }, 'content-length-mismatch']
  ]
  for (const [label, headers, rule] of cases) {
    void it(label, () => {
      assert.deepEqual(rules(check([[span()]], headers)), [rule])
    })
  }

  void it('a content type with parameters is still msgpack', () => {
    assert.deepEqual(rules(check([[span()]], { 'Content-Type': 'Application/MsgPack; charset=binary' })), [])
  })
})

void describe('validateRequest: structure', () => {
  void it('a body that is not an array is rejected', () => {
    const result = check({ traces: [] })
    assert.equal(result.rejection, 'payload-not-array')
    assert.ok(rules(result).includes('payload-not-array'))
  })

  void it('a trace that is not an array, and a span that is not a map, are skipped', () => {
    const result = check([[span(), 'x'], 7])
    assert.deepEqual(rules(result), ['span-not-map', 'trace-not-array'])
    assert.equal(result.traces.length, 1)
    assert.equal(result.traces[0]?.spans.length, 1)
  })

  void it('unknown, non-string and duplicate span keys', () => {
    const s = mapOf([...Object.entries(span()), ['colour', 'red'], [1, 2], ['name', 'again']])
    assert.deepEqual(rules(check([[s]])), ['span-unknown-key', 'span-key-not-string', 'span-duplicate-key'])
  })

  void it('empty trace, zero ids, foreign span and duplicate span ids set the drop reason', () => {
    const result = check([
      [],
      [span({ trace_id: uint64(0) })],
      [span({ span_id: uint64(0) })],
      [span(), span({ span_id: uint64(9), trace_id: uint64(0x9999) })],
      [span(), span({ parent_id: uint64(0x5678) })]
    ])
    assert.deepEqual(rules(result), ['trace-empty', 'trace-id-zero', 'span-id-zero', 'foreign-span', 'duplicate-span-id'])
    assert.deepEqual(result.traces.map((t) => t.dropReason), ['empty_trace', 'trace_id_zero', 'span_id_zero', 'foreign_span', undefined])
    assert.deepEqual(result.violations.map((v) => v.traceIndex), [0, 1, 2, 3, 4])
    assert.equal(result.violations[3]?.spanId, 9n)
    assert.equal(result.violations[0]?.endpoint, '/v0.4/traces')
    assert.equal(result.violations[0]?.receivedAt, 1)
  })
})

void describe('validateRequest: field types', () => {
  const cases: Array<[string, Record<string, Encodable>, RuleId[], (s: Record<string, unknown>) => void]> = [
    ['signed int trace_id is cast to uint64', { trace_id: raw(0xff) }, ['span-field-type'], (s) => assert.equal(s.trace_id, 2n ** 64n - 1n)],
    ['int64 span_id', { span_id: int64(5) }, ['span-field-type'], (s) => assert.equal(s.span_id, 5n)],
    ['float parent_id', { parent_id: float64(1) }, ['span-field-type'], (s) => assert.equal(s.parent_id, 0n)],
    ['nil trace_id', { trace_id: null }, ['span-field-type', 'trace-id-zero'], (s) => assert.equal(s.trace_id, 0n)],
    ['start in milliseconds', { start: uint64(1_700_000_000_000) }, ['start-before-2000'], (s) => assert.equal(s.start, 1_700_000_000_000n)],
    ['float start', { start: float64(1.7e18) }, ['span-field-type'], (s) => assert.equal(s.start, 1_700_000_000_000_000_000n)],
    ['uint64 duration beyond int64', { duration: uint64(2n ** 63n) }, ['span-field-type'], (s) => assert.equal(s.duration, 2n ** 63n)],
    ['negative duration', { duration: int64(-5) }, ['duration-negative'], (s) => assert.equal(s.duration, -5n)],
    ['error as float', { error: float64(1) }, ['span-field-type'], (s) => assert.equal(s.error, 1)],
    ['error as bool', { error: true }, ['span-field-type'], (s) => assert.equal(s.error, 1)],
    ['error 2', { error: 2 }, ['error-not-0-or-1'], (s) => assert.equal(s.error, 2)],
    ['service as bin', { service: Uint8Array.from([0x77]) }, ['span-field-type'], (s) => assert.equal(s.service, 'w')],
    ['name as number', { name: 5 }, ['span-field-type'], (s) => assert.equal(s.name, '5')],
    ['nil resource', { resource: null }, ['span-field-type', 'resource-empty'], (s) => assert.equal(s.resource, '')],
    ['invalid UTF-8 resource', { resource: raw(0xa2, 0x61, 0xfe) }, ['invalid-utf8'], (s) => assert.equal(s.resource, 'a\uFFFD')],
    ['meta not a map', { meta: ['a'] }, ['meta-not-map'], (s) => assert.deepEqual(s.meta, {})],
    ['nil meta', { meta: null }, ['meta-not-map'], (s) => assert.deepEqual(s.meta, {})],
    ['meta value a number', { meta: { a: 1 } }, ['meta-value-not-string'], (s) => assert.deepEqual(s.meta, { a: '1' })],
    ['meta key a number', { meta: new Map([[1, 'x']]) }, ['meta-key-not-string'], (s) => assert.deepEqual(s.meta, { 1: 'x' })],
    ['metrics value a string', { metrics: { a: '1' } }, ['metrics-value-not-number'], (s) => assert.deepEqual(s.metrics, { a: 0 })],
    ['metrics value nil', { metrics: { a: null } }, ['metrics-value-not-number'], (s) => assert.deepEqual(s.metrics, { a: 0 })],
    ['metrics value NaN', { metrics: { a: float64(NaN) } }, ['metrics-value-not-finite'], (s) => assert.deepEqual(s.metrics, { a: NaN })],
    ['metrics not a map', { metrics: 'x' }, ['metrics-not-map'], (s) => assert.deepEqual(s.metrics, {})],
    ['duplicate meta key', { meta: mapOf([['a', '1'], ['a', '2']]) }, ['meta-duplicate-key'], (s) => assert.deepEqual(s.meta, { a: '2' })],
    ['duplicate metrics key', { metrics: mapOf([['m', 1], ['m', 2]]) }, ['metrics-duplicate-key'], (s) => assert.deepEqual(s.metrics, { m: 2 })],
    ['meta key __proto__ stays data', { meta: { ['__proto__']: 'x' } }, [], (s) => assert.deepEqual(Object.keys(s.meta as object), ['__proto__'])],
    ['meta_struct value not bin', { meta_struct: { a: 'x' } }, ['span-field-type'], (s) => assert.deepEqual(s.meta_struct, {})],
    ['span_links not an array', { span_links: 'x' }, ['span-field-type'], (s) => assert.deepEqual(s.span_links, [])]
  ]
  for (const [label, overrides, expected, inspect] of cases) {
    void it(label, () => {
      const result = oneSpan(overrides)
      assert.deepEqual(rules(result), expected)
      const s = result.traces[0]?.spans[0]
      assert.ok(s)
      inspect(s as unknown as Record<string, unknown>)
    })
  }
})

void describe('validateRequest: values', () => {
  const cases: Array<[string, Record<string, Encodable | undefined>, RuleId[]]> = [
    ['empty service', { service: '' }, ['service-empty']],
    ['empty name', { name: '' }, ['name-empty']],
    ['missing resource', { resource: undefined }, ['resource-empty']],
    ['service of 100 bytes', { service: 's'.repeat(100) }, []],
    ['service of 101 bytes', { service: 's'.repeat(101) }, ['service-too-long']],
    ['service of 34 euro signs (102 bytes)', { service: '€'.repeat(34) }, ['service-too-long']],
    ['name of 101 bytes', { name: 'n'.repeat(101) }, ['name-too-long']],
    ['type of 101 bytes', { type: 't'.repeat(101) }, ['type-too-long']],
    ['resource of 5000 bytes', { resource: 'r'.repeat(5000) }, []],
    ['resource of 5001 bytes', { resource: 'r'.repeat(5001) }, ['resource-too-long']],
    ['meta key of 200 bytes', { meta: { ['k'.repeat(200)]: 'v' } }, []],
    ['meta key of 201 bytes', { meta: { ['k'.repeat(201)]: 'v' } }, ['meta-key-too-long']],
    ['meta value of 25000 bytes', { meta: { k: 'v'.repeat(25_000) } }, []],
    ['meta value of 25001 bytes', { meta: { k: 'v'.repeat(25_001) } }, ['meta-value-too-long']],
    ['metrics key of 201 bytes', { metrics: { ['k'.repeat(201)]: 1 } }, ['metrics-key-too-long']],
    ['http.status_code 599', { meta: { 'http.status_code': '599' } }, []],
    ['http.status_code 600', { meta: { 'http.status_code': '600' } }, ['http-status-code-invalid']],
    ['http.status_code 99', { meta: { 'http.status_code': '99' } }, ['http-status-code-invalid']],
    ['http.status_code text', { meta: { 'http.status_code': 'OK' } }, ['http-status-code-invalid']],
    ['_dd.p.tid valid', { meta: { '_dd.p.tid': '6553f1a200000000' } }, []],
    ['_dd.p.tid uppercase', { meta: { '_dd.p.tid': '6553F1A200000000' } }, ['trace-id-high-invalid']],
    ['_dd.p.tid 15 chars', { meta: { '_dd.p.tid': '6553f1a20000000' } }, ['trace-id-high-invalid']]
  ]
  for (const [label, overrides, expected] of cases) {
    void it(label, () => {
      assert.deepEqual(rules(oneSpan(overrides)), expected)
    })
  }

  void it('span-level violations carry the span id even when span_id comes last', () => {
    const s = mapOf([...Object.entries(span({ span_id: undefined, name: '' })), ['span_id', uint64(77)]])
    const [v] = check([[s]]).violations
    assert.equal(v?.rule, 'name-empty')
    assert.equal(v?.spanId, 77n)
    assert.equal(v?.traceIndex, 0)
  })
})
