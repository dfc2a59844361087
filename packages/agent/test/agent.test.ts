import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { encode, span, tracerHeaders, uint64 } from './test-encoder.js'
import { request, sendTraces, start } from './http-helpers.js'

void describe('agent: accepting traces', () => {
  void it('stores a valid payload with exact ids and answers 200 with rate_by_service', async (t) => {
    const agent = await start(t)
    assert.match(agent.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    const answer = await sendTraces(agent, [[
      span({ trace_id: uint64(2n ** 64n - 1n), span_id: uint64(2n ** 63n) }),
      span({ trace_id: uint64(2n ** 64n - 1n), span_id: uint64(3), parent_id: uint64(2n ** 63n), name: 'child' })
    ]])
    assert.equal(answer.status, 200)
    assert.equal(answer.headers.get('content-type'), 'application/json')
    assert.deepEqual(JSON.parse(answer.body), { rate_by_service: { 'service:,env:': 1 } })
    assert.equal(answer.headers.get('datadog-agent-version'), '0.1.0')
    assert.match(answer.headers.get('datadog-agent-state') ?? '', /^[0-9a-f]{64}$/)

    const [trace] = agent.traces()
    assert.ok(trace)
    assert.equal(trace.endpoint, '/v0.4/traces')
    assert.equal(trace.headers['datadog-meta-lang'], 'nodejs')
    assert.equal(trace.headers['x-datadog-trace-count'], '1')
    assert.deepEqual(trace.spans.map((s) => [s.trace_id, s.span_id, s.parent_id]), [
      [2n ** 64n - 1n, 2n ** 63n, 0n],
      [2n ** 64n - 1n, 3n, 2n ** 63n]
    ])
    assert.deepEqual(agent.spans().map((s) => s.name), ['express.request', 'child'])
    assert.deepEqual(agent.violations(), [])
    const [payload] = agent.payloads()
    assert.equal(payload?.method, 'PUT')
    assert.equal(payload?.path, '/v0.4/traces')
    assert.equal(payload?.status, 200)
    assert.equal(payload?.traceCount, 1)
    assert.equal(payload?.bytes, Number(payload?.headers['content-length']))
  })

  void it('answers the rates it is given, and setRates changes them', async (t) => {
    const agent = await start(t, { rateByService: { 'service:web,env:prod': 0.5, 'service:,env:': 1 } })
    assert.deepEqual(JSON.parse((await sendTraces(agent, [[span()]])).body), {
      rate_by_service: { 'service:web,env:prod': 0.5, 'service:,env:': 1 }
    })
    agent.setRates({ 'service:web,env:prod': 0.1 })
    assert.deepEqual(JSON.parse((await sendTraces(agent, [[span()]])).body), { rate_by_service: { 'service:web,env:prod': 0.1 } })
  })

  void it('takes POST as well as PUT', async (t) => {
    const agent = await start(t)
    assert.equal((await sendTraces(agent, [[span()]], { method: 'POST' })).status, 200)
    assert.equal(agent.payloads()[0]?.method, 'POST')
    assert.equal(agent.traces().length, 1)
  })

  void it('records a trace-count mismatch and missing headers, and still answers 200', async (t) => {
    const agent = await start(t)
    const headers = { 'Content-Type': 'application/msgpack', 'X-Datadog-Trace-Count': '3', 'Datadog-Meta-Lang': 'nodejs' }
    assert.equal((await sendTraces(agent, [[span()]], { headers })).status, 200)
    assert.deepEqual(agent.violations().map((v) => v.rule).sort(), [
      'meta-lang-interpreter-header-missing',
      'meta-lang-version-header-missing',
      'trace-count-header-mismatch',
      'tracer-version-header-missing'
    ])
    agent.clear()
    await sendTraces(agent, [[span()]], { headers: { 'Content-Type': 'application/msgpack' } })
    assert.ok(agent.violations().some((v) => v.rule === 'trace-count-header-missing'))
  })

  void it('stores traces the agent would drop, flagged, with their violations', async (t) => {
    const agent = await start(t)
    await sendTraces(agent, [
      [span({ trace_id: uint64(0) })],
      [span({ span_id: uint64(0) })],
      [span(), span({ trace_id: uint64(1), span_id: uint64(2) })]
    ])
    assert.deepEqual(agent.traces().map((tr) => tr.dropReason), ['trace_id_zero', 'span_id_zero', 'foreign_span'])
    assert.deepEqual(agent.violations().map((v) => [v.rule, v.traceIndex]), [
      ['trace-id-zero', 0],
      ['span-id-zero', 1],
      ['foreign-span', 2]
    ])
    assert.equal(agent.violations()[2]?.spanId, 2n)
  })
})

void describe('agent: refusing payloads', () => {
  const cases: Array<[string, Uint8Array, string]> = [
    ['garbage', Uint8Array.from([0x91, 0xc1]), 'invalid-type-byte'],
    ['trailing bytes', Uint8Array.from([0x90, 0x00]), 'trailing-bytes'],
    ['truncated', encode([[span()]]).subarray(0, 40), 'unexpected-eof'],
    ['empty body', new Uint8Array(0), 'unexpected-eof'],
    ['not an array', encode({ a: 1 }), 'payload-not-array']
  ]
  for (const [label, body, reason] of cases) {
    void it(`${label} → 400 ${reason}`, async (t) => {
      const agent = await start(t)
      const answer = await sendTraces(agent, [[]], { body })
      assert.equal(answer.status, 400)
      assert.equal(answer.body, reason)
      assert.match(answer.headers.get('datadog-agent-state') ?? '', /^[0-9a-f]{64}$/)
      assert.deepEqual(agent.traces(), [])
      assert.equal(agent.payloads()[0]?.status, 400)
      assert.equal(agent.payloads()[0]?.error, reason)
      const expectedRule = reason === 'payload-not-array' ? 'payload-not-array' : 'payload-undecodable'
      assert.ok(agent.violations().some((v) => v.rule === expectedRule))
    })
  }

  void it('unknown paths are 404 and other methods on the intake 405', async (t) => {
    const agent = await start(t)
    const missing = await fetch(`${agent.url}/v0.7/traces`, { method: 'PUT', body: encode([]) })
    assert.equal(missing.status, 404)
    assert.ok(missing.headers.get('datadog-agent-version'))
    await missing.text()
    const wrongMethod = await fetch(`${agent.url}/v0.4/traces`)
    assert.equal(wrongMethod.status, 405)
    assert.equal(wrongMethod.headers.get('allow'), 'PUT, POST')
    await wrongMethod.text()
    assert.deepEqual(agent.payloads(), [])
  })

  void it('/info answers JSON whose sha256 is the Datadog-Agent-State', async (t) => {
    const agent = await start(t, { maxPayloadBytes: 1234 })
    const response = await fetch(`${agent.url}/info`)
    const body = await response.text()
    assert.equal(response.headers.get('datadog-agent-state'), createHash('sha256').update(body).digest('hex'))
    const info = JSON.parse(body) as { endpoints: string[]; config: { max_request_bytes: number; receiver_port: number } }
    assert.ok(info.endpoints.includes('/v0.4/traces'))
    assert.equal(info.config.max_request_bytes, 1234)
    assert.equal(info.config.receiver_port, agent.port)
  })

  void it('the query string does not change the route', async (t) => {
    const agent = await start(t)
    const answer = await request({ url: agent.url, path: '/v0.4/traces?x=1', method: 'PUT', headers: tracerHeaders(0), body: encode([]) })
    assert.equal(answer.status, 200)
  })
})
