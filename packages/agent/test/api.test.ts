import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import type { Agent } from '../src/agent.js'
import { MAX_LIST_LIMIT } from '../src/store/api.js'
import { request, sendTraces, start } from './http-helpers.js'
import { float64, int64, span, uint64 } from './test-encoder.js'

interface Json { [key: string]: unknown }

async function get(agent: Agent, path: string, init?: RequestInit): Promise<{ status: number; body: Json; headers: Headers }> {
  const response = await fetch(`${agent.url}${path}`, init)
  return { status: response.status, body: (await response.json()) as Json, headers: response.headers }
}

const T0 = 1_700_000_000_000_000_000n
const ms = (n: number): bigint => BigInt(n) * 1_000_000n

/** Three traces: a fast one, a slow one of two services sent as two payloads, and a failing one. */
async function seed(t: TestContext): Promise<Agent> {
  const agent = await start(t)
  await sendTraces(agent, [[span({ trace_id: uint64(1), span_id: uint64(11), resource: 'GET /fast', start: int64(T0), duration: int64(ms(2)) })]])
  await sendTraces(agent, [[span({ trace_id: uint64(2), span_id: uint64(21), resource: 'GET /slow', start: int64(T0 + ms(10)), duration: int64(ms(300)), meta: { '_dd.p.tid': '6b0600aa00000000', 'http.status_code': '200' } })]])
  await sendTraces(agent, [[span({
    trace_id: uint64(2), span_id: uint64(22), parent_id: uint64(21), service: 'api', name: 'fastify.request', resource: 'GET /quote',
    start: int64(T0 + ms(20)), duration: int64(ms(250)), meta: { 'http.status_code': '200', '<b>evil</b>': '<script>alert(1)</script>' }
  })]])
  await sendTraces(agent, [[
    span({ trace_id: uint64(3), span_id: uint64(31), resource: 'POST /orders', start: int64(T0 + ms(30)), duration: int64(ms(9)), error: 1, meta: { 'http.status_code': '500', 'error.stack': 'Error: boom\n  at x' } }),
    span({ trace_id: uint64(3), span_id: uint64(32), parent_id: uint64(31), name: 'payment', resource: 'pay', start: int64(T0 + ms(31)), duration: int64(ms(5)), error: 1, metrics: { _sampling_priority_v1: float64(1) } })
  ]])
  return agent
}

void describe('API: /api/traces', () => {
  void it('lists traces newest first, a trace sent in two payloads by two services as one', async (t) => {
    const agent = await seed(t)
    const { status, body, headers } = await get(agent, '/api/traces')
    assert.equal(status, 200)
    assert.match(headers.get('content-type') ?? '', /^application\/json/)
    assert.equal(headers.get('cache-control'), 'no-store')
    const traces = body.traces as Json[]
    assert.deepEqual(traces.map((x) => x.traceId), ['3', '2', '1'])
    const slow = traces[1]
    assert.deepEqual(
      [slow?.service, slow?.resource, slow?.services, slow?.spanCount, slow?.chunkCount, slow?.rootCount, slow?.status, slow?.durationNs, slow?.traceIdHex],
      ['web', 'GET /slow', ['web', 'api'], 2, 2, 1, '200', 300_000_000, '6b0600aa000000000000000000000002']
    )
    assert.equal(traces[0]?.error, true)
    assert.equal(traces[0]?.errorCount, 2)
    assert.equal(traces[2]?.traceIdHex, '0000000000000001')
    assert.equal(body.total, 3)
    assert.equal(body.held, 3)
    const filtered = (await get(agent, '/api/traces?service=nobody')).body
    assert.deepEqual([filtered.held, filtered.total, filtered.traces], [3, 0, []], 'held counts every trace, matching or not')
  })

  void it('filters by service, resource, error and minimum duration', async (t) => {
    const agent = await seed(t)
    const ids = async (query: string): Promise<unknown[]> => ((await get(agent, `/api/traces?${query}`)).body.traces as Json[]).map((x) => x.traceId)
    assert.deepEqual(await ids('service=api'), ['2'])
    assert.deepEqual(await ids('resource=GET%20%2Fquote'), ['2'], 'any span of the trace')
    assert.deepEqual(await ids('resource=GET'), [])
    assert.deepEqual(await ids('error=true'), ['3'])
    assert.deepEqual(await ids('error=false'), ['2', '1'])
    assert.deepEqual(await ids('minDurationMs=300'), ['2'], 'the last duration accepted')
    assert.deepEqual(await ids('minDurationMs=300.000001'), [], 'the first refused')
    assert.deepEqual(await ids('minDurationMs=0'), ['3', '2', '1'])
    assert.deepEqual(await ids('limit=1'), ['3'])
    assert.deepEqual(await ids('service=web&error=false&limit=1'), ['2'])
  })

  void it('refuses bad parameters with 400 and a message naming them', async (t) => {
    const agent = await seed(t)
    assert.equal((await get(agent, `/api/traces?limit=${MAX_LIST_LIMIT}`)).status, 200)
    for (const [query, message] of [
      [`limit=${MAX_LIST_LIMIT + 1}`, /limit must be an integer from 1 to 1000/],
      ['limit=0', /limit/],
      ['limit=1.5', /limit/],
      ['limit=', /limit/],
      ['error=yes', /error must be true or false/],
      ['minDurationMs=-1', /minDurationMs/],
      ['minDurationMs=abc', /minDurationMs/],
      ['servce=web', /unknown parameter "servce"/]
    ] as const) {
      const { status, body } = await get(agent, `/api/traces?${query}`)
      assert.equal(status, 400, query)
      assert.match(String(body.error), message, query)
    }
  })

  void it('keeps a span tag that looks like markup as plain data', async (t) => {
    const agent = await seed(t)
    const { body } = await get(agent, '/api/traces/2')
    const api = ((body.trace as Json).spans as Json[])[1]
    assert.deepEqual(api?.meta, { 'http.status_code': '200', '<b>evil</b>': '<script>alert(1)</script>' })
  })
})

void describe('API: /api/traces/<id>', () => {
  void it('answers one trace with its spans in start order, ids as decimal strings, offsets in ns', async (t) => {
    const agent = await seed(t)
    const { status, body } = await get(agent, '/api/traces/2')
    assert.equal(status, 200)
    const trace = body.trace as Json
    const spans = trace.spans as Json[]
    assert.deepEqual(spans.map((s) => [s.span_id, s.parent_id, s.service, s.offsetNs, s.duration]), [
      ['21', '0', 'web', 0, 300_000_000],
      ['22', '21', 'api', 10_000_000, 250_000_000]
    ])
    assert.equal(spans[0]?.trace_id, '2')
    assert.equal(spans[0]?.start, (T0 + ms(10)).toString())
    assert.deepEqual(trace.violations, [])
  })

  void it('takes the 128-bit id in hex, and refuses one whose high half is another trace', async (t) => {
    const agent = await seed(t)
    assert.equal((await get(agent, '/api/traces/6b0600aa000000000000000000000002')).status, 200)
    assert.equal((await get(agent, '/api/traces/6B0600AA000000000000000000000002')).status, 200)
    assert.equal((await get(agent, '/api/traces/6b0600ab000000000000000000000002')).status, 404)
    assert.equal((await get(agent, '/api/traces/00000000000000000000000000000001')).status, 200, 'no high half known: the low half decides')
  })

  void it('answers 404 for an id not held, too large, or not an id', async (t) => {
    const agent = await seed(t)
    for (const id of ['4', '18446744073709551616', '99999999999999999999999', 'abc', '-1', '0x2']) {
      const { status, body } = await get(agent, `/api/traces/${id}`)
      assert.equal(status, 404, id)
      assert.match(String(body.error), /no trace/)
    }
    assert.equal((await get(agent, '/api/traces/2?x=1')).status, 400)
  })

  void it('carries the violations found in the trace, with payload, trace and span', async (t) => {
    const agent = await start(t)
    await sendTraces(agent, [[span({ trace_id: uint64(7), span_id: uint64(70), meta: { 'http.status_code': '999' } })]])
    const { body } = await get(agent, '/api/traces/7')
    const trace = body.trace as Json
    assert.equal(trace.violationCount, 1)
    assert.deepEqual(trace.violations, [{
      rule: 'http-status-code-invalid',
      message: 'meta http.status_code is "999", not an integer in 100-599; the agent removes it',
      endpoint: '/v0.4/traces',
      receivedAt: (trace.violations as Json[])[0]?.receivedAt,
      payloadId: 1,
      traceIndex: 0,
      traceId: '7',
      spanId: '70'
    }])
  })
})

void describe('API: summary, violations, payloads, status, clear', () => {
  void it('summarizes entry spans per service and resource', async (t) => {
    const agent = await seed(t)
    const { body } = await get(agent, '/api/summary')
    assert.equal(body.source, 'spans')
    const rows = body.rows as Json[]
    assert.deepEqual(rows.map((r) => [r.service, r.resource, r.requests, r.errors, r.p50Ns]), [
      ['api', 'GET /quote', 1, 0, 250_000_000],
      ['web', 'GET /fast', 1, 0, 2_000_000],
      ['web', 'GET /slow', 1, 0, 300_000_000],
      ['web', 'POST /orders', 1, 1, 9_000_000]
    ])
  })

  void it('lists violations newest first, filtered by rule and trace', async (t) => {
    const agent = await start(t)
    await sendTraces(agent, [[span({ trace_id: uint64(1), span_id: uint64(0) })]])
    await sendTraces(agent, [[span({ trace_id: uint64(2), meta: { 'http.status_code': 'x' } })]], { headers: { 'Content-Type': 'application/msgpack' } })
    const all = (await get(agent, '/api/violations')).body
    const rules = (all.violations as Json[]).map((v) => v.rule)
    assert.equal(rules[rules.length - 1], 'span-id-zero')
    assert.ok(rules.includes('trace-count-header-missing'))
    assert.equal(all.total, rules.length)
    const byRule = (await get(agent, '/api/violations?rule=span-id-zero')).body.violations as Json[]
    assert.deepEqual(byRule.map((v) => [v.traceId, v.spanId, v.payloadId]), [['1', '0', 1]])
    const byTrace = (await get(agent, '/api/violations?traceId=2')).body.violations as Json[]
    assert.deepEqual(byTrace.map((v) => v.rule), ['http-status-code-invalid'], 'request-level violations belong to no trace')
    assert.equal((await get(agent, '/api/violations?limit=1')).body.violations instanceof Array, true)
    assert.equal((await get(agent, '/api/violations?traceId=zz')).status, 400)
  })

  void it('lists payloads newest first and reports the status of the store', async (t) => {
    const agent = await seed(t)
    const payloads = (await get(agent, '/api/payloads?limit=2')).body
    assert.equal(payloads.total, 4)
    assert.deepEqual((payloads.payloads as Json[]).map((p) => [p.id, p.status, p.traceCount]), [[4, 200, 1], [3, 200, 1]])
    const status = (await get(agent, '/api/status')).body
    assert.deepEqual(
      [status.traces, status.chunks, status.spans, status.payloads, status.violations, status.services, status.maxTraces, status.url],
      [3, 4, 5, 4, 0, ['api', 'web'], 10_000, agent.url]
    )
    assert.equal(typeof status.version, 'number')
  })

  void it('clears on POST /api/clear only, and the version moves', async (t) => {
    const agent = await seed(t)
    const before = (await get(agent, '/api/status')).body.version as number
    assert.equal((await get(agent, '/api/clear')).status, 405)
    const cleared = await get(agent, '/api/clear', { method: 'POST' })
    assert.equal(cleared.status, 200)
    assert.equal(cleared.body.version, before + 1)
    assert.deepEqual((await get(agent, '/api/traces')).body.traces, [])
    assert.equal(agent.traces().length, 0)
  })

  void it('answers unknown API paths with 404 and other methods with 405', async (t) => {
    const agent = await start(t)
    assert.equal((await get(agent, '/api/nope')).status, 404)
    assert.equal((await get(agent, '/api')).status, 404)
    const put = await get(agent, '/api/traces', { method: 'PUT' })
    assert.equal(put.status, 405)
    assert.equal(put.headers.get('allow'), 'GET')
  })

  void it('refuses cross-site browser requests, as the agent does', async (t) => {
    const agent = await seed(t)
    for (const path of ['/api/traces', '/', '/page.js']) {
      const answer = await request({ url: agent.url, path, headers: { 'Sec-Fetch-Site': 'cross-site' } })
      assert.equal(answer.status, 403, path)
    }
    const sameOrigin = await request({ url: agent.url, path: '/api/clear', method: 'POST', headers: { 'Sec-Fetch-Site': 'same-origin' } })
    assert.equal(sameOrigin.status, 200)
  })
})

void describe('the page', () => {
  void it('serves the page, its script and stylesheet, with a policy that loads nothing else', async (t) => {
    const agent = await start(t)
    const page = await fetch(`${agent.url}/`)
    assert.equal(page.status, 200)
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
    const csp = page.headers.get('content-security-policy') ?? ''
    assert.match(csp, /default-src 'none'/)
    assert.match(csp, /script-src 'self'/)
    const html = await page.text()
    assert.match(html, /<script src="\/page\.js" defer><\/script>/)
    assert.match(html, /<link rel="stylesheet" href="\/page\.css">/)
    for (const [path, type] of [['/page.js', /^text\/javascript/], ['/page.css', /^text\/css/], ['/index.html', /^text\/html/]] as const) {
      const answer = await fetch(`${agent.url}${path}`)
      assert.equal(answer.status, 200, path)
      assert.match(answer.headers.get('content-type') ?? '', type)
      assert.ok((await answer.text()).length > 100)
    }
    const head = await request({ url: agent.url, path: '/', method: 'HEAD' })
    assert.equal(head.status, 200)
    assert.equal(head.body, '')
    assert.equal((await request({ url: agent.url, path: '/', method: 'POST' })).status, 405)
    assert.equal((await fetch(`${agent.url}/favicon.ico`)).status, 204)
  })

  void it('leaves the agent endpoints as they were', async (t) => {
    const agent = await start(t)
    assert.equal((await fetch(`${agent.url}/v0.4/traces`)).status, 405)
    assert.equal((await fetch(`${agent.url}/nope`)).status, 404)
    assert.equal((await fetch(`${agent.url}/info`)).status, 200)
  })
})
