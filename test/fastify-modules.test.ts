// One traced Fastify app, run as CommonJS, as ESM, as TypeScript through tsx and as an esbuild bundle: each
// a child process on 127.0.0.1 configured only by DD_* variables, each sending the same spans to the intake.
// This is where dd-trace needs loaders, import order or bundler plugins; here nothing of the kind exists.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { startAgent, type Agent, type ReceivedTrace } from '@datadog-apm/agent'
import { bundleApp } from './support/bundle.js'
import { startFixture, type FixtureProcess } from './support/fixture-process.js'

const fixtures = fileURLToPath(new URL('./fixtures/fastify/', import.meta.url))
let agent: Agent
let outDir: string

before(async () => {
  agent = await startAgent()
  outDir = mkdtempSync(join(tmpdir(), 'dd-fastify-bundle-'))
})
after(async () => {
  await agent.close()
  rmSync(outDir, { recursive: true, force: true })
})

interface LogLine {
  msg?: string
  reqId?: string
  port?: number
  dd?: { trace_id?: string; span_id?: string; service?: string; env?: string }
}

function launch(args: string[], service: string): Promise<FixtureProcess<LogLine>> {
  return startFixture<LogLine>(args, fixtures, { DD_TRACE_AGENT_URL: agent.url, DD_SERVICE: service, DD_ENV: 'test', DD_TRACE_FLUSH_INTERVAL: '0', DD_TRACE_STARTUP_LOGS: 'false' })
}

/** What must be equal whatever the module format: everything but ids, times and the port. */
function shape(trace: ReceivedTrace): unknown {
  return trace.spans
    .map((s) => ({
      name: s.name,
      resource: s.resource,
      service: s.service,
      type: s.type,
      error: s.error,
      root: s.parent_id === 0n,
      meta: {
        env: s.meta.env,
        kind: s.meta['span.kind'],
        component: s.meta.component,
        method: s.meta['http.method'],
        status: s.meta['http.status_code'],
        route: s.meta['http.route'],
        url: s.meta['http.url']?.replace(/:\d+\//, ':PORT/'),
        errorType: s.meta['error.type'],
        errorMessage: s.meta['error.message']
      }
    }))
    .sort((a, b) => a.name.localeCompare(b.name))
}

const expected = (service: string): unknown[] => {
  const request = (resource: string, status: string, route: string | undefined, url: string, error?: string) => ({
    name: 'fastify.request',
    resource,
    service,
    type: 'web',
    error: error === undefined ? 0 : 1,
    root: true,
    meta: {
      env: 'test',
      kind: 'server',
      component: 'fastify',
      method: resource.split(' ')[0],
      status,
      route,
      url: `http://127.0.0.1:PORT/${url}`,
      errorType: error === undefined ? undefined : 'Error',
      errorMessage: error
    }
  })
  return [
    [request('GET /v1/users/:id', '200', '/v1/users/:id', 'v1/users/42')],
    [
      request('POST /v1/orders', '200', '/v1/orders', 'v1/orders'),
      {
        name: 'orders.save',
        resource: 'orders.save',
        service,
        type: '',
        error: 0,
        root: false,
        meta: { env: 'test', kind: undefined, component: undefined, method: undefined, status: undefined, route: undefined, url: undefined, errorType: undefined, errorMessage: undefined }
      }
    ].sort((a, b) => a.name.localeCompare(b.name)),
    [request('GET /*', '404', '/*', 'missing')],
    [request('GET /v1/fail', '500', '/v1/fail', 'v1/fail', 'fixture failure')]
  ]
}

async function exercise(format: string, args: string[]): Promise<void> {
  const service = `fixture-${format}`
  const running = await launch(args, service)
  try {
    const user = (await (await fetch(`${running.base}/v1/users/42`)).json()) as { id: string; traced: boolean }
    assert.deepEqual(user, { id: '42', traced: true })
    const order = (await (
      await fetch(`${running.base}/v1/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sku: 'A1' }) })
    ).json()) as { active: boolean; root: string; child: string; body: unknown }
    assert.equal(order.active, true, 'the request span is active in the handler of a POST')
    assert.deepEqual(order.body, { sku: 'A1' })
    assert.equal((await fetch(`${running.base}/missing`)).status, 404)
    assert.equal((await fetch(`${running.base}/v1/fail`)).status, 500)

    const ofService = (trace: ReceivedTrace): boolean => trace.spans.some((s) => s.service === service)
    const traces = await agent.waitForTraces(4, { timeoutMs: 5000, filter: ofService })
    const byResource = (trace: ReceivedTrace): string => trace.spans.find((s) => s.parent_id === 0n)?.resource ?? ''
    const order4 = ['GET /v1/users/:id', 'POST /v1/orders', 'GET /*', 'GET /v1/fail']
    const sorted = [...traces].sort((a, b) => order4.indexOf(byResource(a)) - order4.indexOf(byResource(b)))
    assert.deepEqual(sorted.map(shape), expected(service))
    const orderTrace = sorted[1]
    const root = orderTrace.spans.find((s) => s.parent_id === 0n)!
    const child = orderTrace.spans.find((s) => s.name === 'orders.save')!
    assert.equal(root.span_id.toString(), order.root)
    assert.equal(child.span_id.toString(), order.child)
    assert.equal(child.parent_id, root.span_id)
    assert.deepEqual(agent.violations(), [])

    // Fastify's own "request completed" line of each request carries the ids of its span; its
    // "incoming request" line, written before any hook runs, carries none.
    await running.linesUntil(() => running.lines.filter((line) => line.msg === 'request completed').length === 4, 'four request completed lines')
    for (const trace of sorted) {
      const span = trace.spans.find((s) => s.parent_id === 0n)!
      const tid = span.meta['_dd.p.tid']
      const traceId = tid === undefined ? span.trace_id.toString() : tid + span.trace_id.toString(16).padStart(16, '0')
      const completed = running.lines.find((line) => line.msg === 'request completed' && line.dd?.span_id === span.span_id.toString())
      assert.deepEqual(completed?.dd, { trace_id: traceId, span_id: span.span_id.toString(), service, env: 'test' }, span.resource)
      const incoming = running.lines.find((line) => line.msg === 'incoming request' && line.reqId === completed.reqId)
      assert.deepEqual(incoming?.dd, { service, env: 'test' })
    }
    assert.doesNotMatch(running.stderr(), /datadog-apm/, 'the tracer had nothing to complain about')
  } finally {
    await running.stop()
  }
}

test('CommonJS: require() of the packages', async () => {
  await exercise('cjs', ['app.cjs'])
})

test('ESM: import of the packages', async () => {
  await exercise('esm', ['app.mjs'])
})

test('TypeScript through tsx', async () => {
  await exercise('tsx', ['--import', 'tsx', 'app.ts'])
})

test('an esbuild bundle with Fastify and our packages inside', async () => {
  const outfile = join(outDir, 'app.bundle.mjs')
  const inputs = await bundleApp(join(fixtures, 'app.ts'), outfile)
  for (const part of ['packages/fastify/dist/plugin.js', 'packages/core/dist/tracer/tracer.js', 'packages/logger/dist/pino-mixin.js', 'fastify/fastify.js', 'fastify-plugin/plugin.js']) {
    assert.ok(
      inputs.some((input) => input.includes(part)),
      `${part} is bundled`
    )
  }
  await exercise('bundle', [outfile])
})
