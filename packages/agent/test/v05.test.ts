import assert from 'node:assert/strict'
import { test } from 'node:test'
import { start, request } from './http-helpers.js'
import { encode, tracerHeaders, uint32, uint64, type Encodable } from './test-encoder.js'

// A v0.5 span: [service, name, resource, trace_id, span_id, parent_id, start, duration, error, meta, metrics, type].
function v05Span(overrides: Partial<Record<number, Encodable>> = {}): Encodable[] {
  const span: Encodable[] = [uint32(1), uint32(2), uint32(3), uint64(5n), uint64(6n), uint64(0n), 1_700_000_000_000_000_000n, 1000, 0, new Map([[uint32(4), uint32(5)]]), new Map([[uint32(6), 1.5]]), uint32(7)]
  for (const [i, v] of Object.entries(overrides)) span[Number(i)] = v!
  return span
}
const table = ['', 'svc', 'web.request', 'GET /', 'http.method', 'GET', '_sampling_priority_v1', 'web']

async function putV05(url: string, payload: Encodable, traceCount: number) {
  const body = encode(payload)
  return request({ url, path: '/v0.5/traces', method: 'PUT', headers: { ...tracerHeaders(traceCount), 'content-length': body.length }, body })
}

test('a v0.5 payload is decoded through its string table and stored like v0.4', async (t) => {
  const agent = await start(t)
  const answer = await putV05(agent.url, [table, [[v05Span()]]], 1)
  assert.equal(answer.status, 200)
  const [trace] = agent.traces()
  assert.equal(trace?.endpoint, '/v0.5/traces')
  const span = trace.spans[0]
  assert.equal(span.service, 'svc')
  assert.equal(span.name, 'web.request')
  assert.equal(span.resource, 'GET /')
  assert.equal(span.trace_id, 5n)
  assert.deepEqual(span.meta, { 'http.method': 'GET' })
  assert.deepEqual(span.metrics, { _sampling_priority_v1: 1.5 })
  assert.equal(span.type, 'web')
  assert.deepEqual(agent.violations(), [])
})

test('v0.5 shapes the agent refuses get 400: a span of 11 or 13, an index past the table, a bad root', async (t) => {
  const agent = await start(t)
  const eleven = v05Span().slice(0, 11)
  const thirteen = [...v05Span(), 0]
  for (const [payload, why] of [
    [[table, [[eleven]]], 'exactly 12'],
    [[table, [[thirteen]]], 'exactly 12'],
    [[table, [[v05Span({ 0: uint32(8) })]]], 'out of range'],
    [[table, [[v05Span({ 0: uint32(7) })]]], null],
    [[table], 'array of 2']
  ] as const) {
    const answer = await putV05(agent.url, payload as unknown as Encodable, 1)
    if (why === null) {
      assert.equal(answer.status, 200, 'the last index in the table is accepted')
      continue
    }
    assert.equal(answer.status, 400, why)
    assert.equal(answer.body, 'invalid-v05-payload')
    assert.ok(agent.violations().some((v) => v.message.includes(why)), why)
  }
})
