import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { startAgent, type Agent, type SpanJson, type SummaryRow, type TraceListItemJson, type ViolationJson } from '@datadog-apm/agent'
import { createTracer } from '@datadog-apm/core'

// The intake's query API against what real tracers send: our exporter, and dd-trace itself (dd-trace@5 on
// Node 20, dd-trace@6 on Node 22 and later). A payload from dd-trace must raise no violation: when it
// does, either our rule is wrong or the rule needs a note in the agent's README.

const testDir = fileURLToPath(new URL('.', import.meta.url))

async function withAgent(t: { after(fn: () => Promise<void>): void }): Promise<Agent> {
  const agent = await startAgent()
  t.after(() => agent.close())
  return agent
}

async function api<T>(agent: Agent, path: string): Promise<T> {
  const response = await fetch(`${agent.url}${path}`)
  assert.equal(response.status, 200, `${path} answered ${response.status}`)
  return (await response.json()) as T
}

type TraceDetail = TraceListItemJson & { spans: SpanJson[]; violations: ViolationJson[] }

test('our exporter: a trace of two services sent by two tracers reads back as one trace', async (t) => {
  const agent = await withAgent(t)
  const web = createTracer({ service: 'web', env: 'test', url: agent.url, flushOnExit: false })
  const api2 = createTracer({ service: 'api', env: 'test', url: agent.url, flushOnExit: false })
  web.trace('express.request', { resource: 'GET /orders/:id', type: 'web', tags: { 'http.status_code': '200' } }, (root) => {
    // The api's part, continued from the web span's context as it would be from propagated headers.
    const server = api2.startSpan('fastify.request', { childOf: root.context(), resource: 'GET /stock', type: 'web' })
    server.setTag('http.status_code', '500')
    server.setError(new TypeError('stock service down'))
    api2.withSpan(server, () => api2.trace('db.query', { resource: 'SELECT 1', type: 'sql' }, () => undefined))
    server.finish()
  })
  await Promise.all([web.flush(), api2.flush()])

  const list = await api<{ traces: TraceListItemJson[] }>(agent, '/api/traces')
  assert.equal(list.traces.length, 1, 'two payloads, one trace')
  const [item] = list.traces
  assert.ok(item)
  assert.deepEqual([item.service, item.resource, item.services, item.chunkCount, item.rootCount, item.error], ['web', 'GET /orders/:id', ['web', 'api'], 2, 1, true])
  assert.match(item.traceIdHex, /^[0-9a-f]{32}$/)

  const { trace } = await api<{ trace: TraceDetail }>(agent, `/api/traces/${item.traceIdHex}`)
  const [root, server, query] = trace.spans
  assert.ok(root && server && query)
  assert.equal(server.parent_id, root.span_id)
  assert.deepEqual([query.name, query.service, query.parent_id], ['db.query', 'api', server.span_id])
  assert.equal(server.meta['error.type'], 'TypeError')
  assert.match(server.meta['error.stack'] ?? '', /stock service down/)
  assert.deepEqual(trace.violations, [])

  const { rows } = await api<{ rows: SummaryRow[] }>(agent, '/api/summary')
  const apiRow = rows.find((r) => r.service === 'api' && r.name === 'fastify.request')
  assert.deepEqual([apiRow?.requests, apiRow?.errors], [1, 1])
  assert.equal((await api<{ total: number }>(agent, '/api/violations')).total, 0)
})

// dd-trace in its own process, as an app would run it: init, a few spans, flush, exit.
const DD_TRACE_APP = `
const major = Number(process.versions.node.split('.')[0])
const tracer = require(major >= 22 ? 'dd-trace6' : 'dd-trace').init({
  url: process.env.AGENT_URL, service: 'ddtrace-app', env: 'test', version: '1.2.3', startupLogs: false,
  flushInterval: 3600000, plugins: false, telemetry: { enabled: false }, remoteConfig: { enabled: false }
})
tracer.trace('web.request', { resource: 'GET /users/:id', type: 'web', tags: { 'http.status_code': '200', 'http.method': 'GET', 'span.kind': 'server' } }, (span) => {
  span.setTag('user.tier', 'gold')
  span.setTag('items', 3)
  tracer.trace('db.query', { service: 'ddtrace-db', resource: 'SELECT * FROM users WHERE id = ?', type: 'sql' }, () => {})
  try {
    tracer.trace('payment.charge', { resource: 'charge' }, () => { throw new RangeError('card declined') })
  } catch {}
})
tracer.trace('worker.job', { resource: 'nightly' }, () => {})
tracer._tracer._exporter.flush(() => process.exit(0))
`

test('dd-trace: its payloads are read whole and raise no violation', async (t) => {
  const agent = await withAgent(t)
  const child = spawn(process.execPath, ['-e', DD_TRACE_APP], {
    cwd: testDir,
    env: { ...process.env, AGENT_URL: agent.url, DD_TRACE_STARTUP_LOGS: 'false', DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false' },
    stdio: ['ignore', 'inherit', 'inherit']
  })
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  // dd-trace's app flushes and exits on its own; the signal is the deadline of that wait.
  const [code] = (await once(child, 'exit', { signal: AbortSignal.timeout(30_000) })) as [number | null]
  assert.equal(code, 0)

  const list = await api<{ traces: TraceListItemJson[] }>(agent, '/api/traces')
  assert.deepEqual(list.traces.map((x) => x.resource).sort(), ['GET /users/:id', 'nightly'])
  const web = list.traces.find((x) => x.resource === 'GET /users/:id')
  assert.ok(web)
  assert.deepEqual([web.service, web.spanCount, web.rootCount, web.errorCount, web.status], ['ddtrace-app', 3, 1, 1, '200'])
  assert.deepEqual(web.services, ['ddtrace-app', 'ddtrace-db'])
  assert.match(web.traceIdHex, /^[0-9a-f]{32}$/, 'dd-trace sends 128-bit ids')

  const { trace } = await api<{ trace: TraceDetail }>(agent, `/api/traces/${web.traceId}`)
  const failed = trace.spans.find((s) => s.name === 'payment.charge')
  assert.equal(failed?.error, 1)
  assert.equal(failed?.meta['error.type'], 'RangeError')
  assert.match(failed?.meta['error.stack'] ?? '', /card declined/)
  const root = trace.spans.find((s) => s.parent_id === '0')
  assert.equal(root?.metrics.items, 3)
  assert.equal(root?.meta['user.tier'], 'gold')

  const payloads = await api<{ payloads: Array<{ path: string; status: number; headers: Record<string, string> }> }>(agent, '/api/payloads')
  const traced = payloads.payloads.filter((p) => p.path === '/v0.4/traces')
  assert.ok(traced.length >= 1)
  assert.ok(traced.every((p) => p.status === 200 && p.headers['datadog-meta-lang'] === 'nodejs'))

  const violations = await api<{ total: number; violations: ViolationJson[] }>(agent, '/api/violations')
  assert.deepEqual(violations.violations.map((v) => `${v.rule}: ${v.message}`), [])
})
