import assert from 'node:assert/strict'
import { hasSubscribers } from 'node:diagnostics_channel'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { echoServer } from './support/echo-server.js'
import { test, type TestContext } from 'node:test'
import { request as undiciRequest } from 'undici'
import { startAgent } from '@datadog-apm/agent'
import { runSuppressed } from '../src/model/context.js'
import type { TracerOptions } from '../src/tracer/options.js'
import { coreSpan, type CoreSpan } from '../src/model/span.js'
import { InMemoryExporter, type ExportedSpan } from '../src/testing.js'
import { CoreTracer } from '../src/tracer/tracer.js'



function tracerFor(t: TestContext, options: TracerOptions = {}): { tracer: CoreTracer; exporter: InMemoryExporter; warnings: string[] } {
  const exporter = new InMemoryExporter()
  const warnings: string[] = []
  const tracer = new CoreTracer({ service: 'client-test', exporter, flushOnExit: false, diagnostics: { write: (l) => warnings.push(l) }, ...options })
  t.after(() => tracer.shutdown())
  return { tracer, exporter, warnings }
}

/** Outbound spans: `http.request` (fetch), `undici.request` (the npm package), `http.client.request` (fetch under schema v1). */
function clientSpans(exporter: InMemoryExporter): ExportedSpan[] {
  return exporter.spans().filter((s) => s.meta['span.kind'] === 'client')
}

test('importing core subscribes to nothing; a tracer subscribes unless told not to, and its shutdown undoes it', async () => {
  await import('../src/index.js')
  const channels = ['undici:request:create', 'undici:request:headers', 'undici:request:trailers', 'undici:request:error', 'http.client.response.finish']
  const subscribed = (): boolean[] => channels.map((name) => hasSubscribers(name))
  assert.deepEqual(subscribed(), [false, false, false, false, false])
  const off = new CoreTracer({ exporter: new InMemoryExporter(), flushOnExit: false, integrations: { http: false } })
  const offByEnv = new CoreTracer({ exporter: new InMemoryExporter(), flushOnExit: false, httpClients: false })
  assert.deepEqual(subscribed(), [false, false, false, false, false])
  const traced = new CoreTracer({ exporter: new InMemoryExporter(), flushOnExit: false })
  assert.deepEqual(subscribed(), [true, true, true, true, true])
  await off.shutdown()
  await offByEnv.shutdown()
  assert.deepEqual(subscribed(), [true, true, true, true, true], 'only the owner turns it off')
  await traced.shutdown()
  assert.deepEqual(subscribed(), [false, false, false, false, false])
})

test('fetch(): a client span, child of the active span, whose ids travel in the headers', async (t) => {
  const echo = await echoServer(t)
  const { tracer, exporter } = tracerFor(t)
  let root: CoreSpan | undefined
  await tracer.trace('web.request', async (span) => {
    root = coreSpan(span)
    const res = await fetch(`${echo.base}/users/42?token=secret#frag`, { method: 'POST', body: 'x' })
    await res.text()
  })
  const [client] = clientSpans(exporter)
  assert.ok(client && root)
  assert.equal(client.parentId, root.spanId)
  assert.equal(client.traceId, root.traceId)
  assert.equal(client.resource, 'POST')
  assert.equal(client.type, 'http')
  assert.equal(client.service, 'client-test')
  assert.deepEqual(client.meta, {
    'span.kind': 'client',
    component: 'fetch',
    '_dd.integration': 'fetch',
    'http.method': 'POST',
    'http.url': `${echo.base}/users/42`,
    'out.host': '127.0.0.1',
    'http.status_code': '200'
  })
  assert.equal(client.metrics['network.destination.port'], echo.port)
  assert.equal(client.error, 0)
  const headers = echo.seen[0]
  assert.ok(headers)
  assert.equal(headers['x-datadog-trace-id'], root.traceId.toString())
  assert.equal(headers['x-datadog-parent-id'], client.spanId.toString())
  assert.equal(headers['x-datadog-sampling-priority'], String(root.trace.samplingPriority))
  assert.match(String(headers.traceparent), new RegExp(`^00-${root.trace.traceIdHigh}[0-9a-f]{16}-${client.spanId.toString(16).padStart(16, '0')}-01$`))
  assert.equal(root.trace.samplingLocked, true, 'the decision is locked once sent')
})

test('the npm undici package: an undici.request span, component undici, headers injected', async (t) => {
  const echo = await echoServer(t)
  const { tracer, exporter } = tracerFor(t)
  await tracer.trace('job', async () => {
    const res = await undiciRequest(`${echo.base}/x?q=1`, { headers: { 'x-app': '1' } })
    await res.body.text()
  })
  const [client] = clientSpans(exporter)
  assert.equal(client?.name, 'undici.request')
  assert.equal(client?.meta.component, 'undici')
  assert.equal(client?.meta['http.url'], `${echo.base}/x`)
  assert.equal(echo.seen[0]?.['x-datadog-parent-id'], client?.spanId.toString())
  assert.equal(echo.seen[0]?.['x-app'], '1')
})

test('span attribute schema v1: fetch gives http.client.request with peer.service from the host; undici.request keeps its name', async (t) => {
  const echo = await echoServer(t)
  const { tracer, exporter } = tracerFor(t, { spanAttributeSchema: 'v1', peerServiceMapping: { '127.0.0.1': 'echo-service' } })
  await tracer.trace('job', async () => {
    await (await fetch(`${echo.base}/a`)).text()
    await (await undiciRequest(`${echo.base}/b`)).body.text()
  })
  const spans = clientSpans(exporter)
  assert.deepEqual(spans.map((s) => s.name), ['http.client.request', 'undici.request'])
  for (const span of spans) {
    assert.equal(span.service, 'client-test', 'v1 keeps the service of the tracer')
    assert.equal(span.meta['peer.service'], 'echo-service')
    assert.equal(span.meta['_dd.peer.service.source'], 'out.host')
    assert.equal(span.meta['_dd.peer.service.remapped_from'], '127.0.0.1')
  }
  const v0 = tracerFor(t, { service: 'client-v0' })
  await v0.tracer.trace('job', async () => (await fetch(`${echo.base}/c`)).text())
  const [plain] = clientSpans(v0.exporter)
  assert.equal(plain?.name, 'http.request')
  assert.equal(plain?.meta['peer.service'], undefined, 'no peer.service under v0 unless DD_TRACE_PEER_SERVICE_DEFAULTS_ENABLED')
})

test('status codes: 4xx marks the client span as failed by default, 5xx does not', async (t) => {
  const echo = await echoServer(t)
  const { tracer, exporter } = tracerFor(t)
  await tracer.trace('job', async () => {
    for (const code of [399, 400, 499, 500]) await (await fetch(`${echo.base}/status/${code}`)).text()
  })
  const byStatus = Object.fromEntries(clientSpans(exporter).map((s) => [s.meta['http.status_code'], s.error]))
  assert.deepEqual(byStatus, { '399': 0, '400': 1, '499': 1, '500': 0 })
})

test('DD_TRACE_HTTP_CLIENT_ERROR_STATUSES and validateStatus change which statuses fail', async (t) => {
  const echo = await echoServer(t)
  process.env.DD_TRACE_HTTP_CLIENT_ERROR_STATUSES = '500-599'
  let fromEnv: ReturnType<typeof tracerFor>
  try {
    fromEnv = tracerFor(t)
  } finally {
    delete process.env.DD_TRACE_HTTP_CLIENT_ERROR_STATUSES
  }
  await fetch(`${echo.base}/status/404`).then((r) => r.text())
  await fetch(`${echo.base}/status/503`).then((r) => r.text())
  assert.deepEqual(clientSpans(fromEnv.exporter).map((s) => s.error), [0, 1])
  await fromEnv.tracer.shutdown()

  const custom = tracerFor(t, { httpClients: { validateStatus: (status) => status === 418 } })
  await fetch(`${echo.base}/status/418`).then((r) => r.text())
  await fetch(`${echo.base}/status/404`).then((r) => r.text())
  assert.deepEqual(clientSpans(custom.exporter).map((s) => s.error), [1, 0])
})

test('a refused connection fails the span with the error; the caller still gets its rejection', async (t) => {
  const echo = await echoServer(t)
  const { tracer, exporter } = tracerFor(t)
  const closed = createServer()
  closed.listen(0, '127.0.0.1')
  await once(closed, 'listening')
  const port = (closed.address() as AddressInfo).port
  closed.close()
  await tracer.trace('job', async () => {
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`), TypeError)
    await assert.rejects(undiciRequest(`http://127.0.0.1:${port}/`), { code: 'ECONNREFUSED' })
  })
  const spans = clientSpans(exporter)
  assert.equal(spans.length, 2)
  for (const span of spans) {
    assert.equal(span.error, 1)
    assert.match(span.meta['error.message'] ?? '', /ECONNREFUSED/)
    assert.equal(span.meta['http.status_code'], undefined)
  }
  assert.equal(echo.seen.length, 0)
})

test('propagationFilter keeps headers from third parties; skip leaves a request untraced', async (t) => {
  const echo = await echoServer(t)
  const urls: string[] = []
  const { tracer, exporter, warnings } = tracerFor(t, {
    httpClients: {
      propagationFilter: (url) => {
        urls.push(url)
        if (url.endsWith('/throws')) throw new Error('filter bug')
        return !url.includes('/third-party')
      },
      skip: (url) => url.endsWith('/health')
    }
  })
  await tracer.trace('job', async () => {
    for (const path of ['/internal?x=1', '/third-party', '/throws', '/health']) await fetch(echo.base + path).then((r) => r.text())
  })
  assert.deepEqual(urls, [`${echo.base}/internal`, `${echo.base}/third-party`, `${echo.base}/throws`])
  assert.ok(echo.seen[0]?.traceparent)
  assert.equal(echo.seen[1]?.traceparent, undefined)
  assert.equal(echo.seen[2]?.traceparent, undefined, 'a throwing filter counts as false')
  assert.equal(echo.seen[3]?.traceparent, undefined)
  assert.deepEqual(clientSpans(exporter).map((s) => s.meta['http.url']), [`${echo.base}/internal`, `${echo.base}/third-party`, `${echo.base}/throws`])
  assert.equal(warnings.filter((w) => w.includes('propagationFilter')).length, 1)
})

test('requests under a suppressed context (the exporter) are neither traced nor injected', async (t) => {
  const echo = await echoServer(t)
  const { tracer, exporter } = tracerFor(t)
  await tracer.trace('job', () => runSuppressed(() => fetch(echo.base).then((r) => r.text())))
  assert.equal(clientSpans(exporter).length, 0)
  assert.equal(echo.seen[0]?.traceparent, undefined)
})

test('calls to the agent are never traced, even with client instrumentation on', async (t) => {
  const agent = await startAgent()
  t.after(() => agent.close())
  const echo = await echoServer(t)
  const tracer = new CoreTracer({ service: 'to-agent', url: agent.url, flushOnExit: false, httpClients: true })
  t.after(() => tracer.shutdown())
  await tracer.trace('job', () => fetch(echo.base).then((r) => r.text()))
  await tracer.flush()
  tracer.trace('second', () => undefined)
  await tracer.flush()
  const spans = agent.spans()
  assert.deepEqual(spans.map((s) => s.name).sort(), ['http.request', 'job', 'second'])
  assert.equal(spans.find((s) => s.name === 'http.request')?.meta['http.url'], `${echo.base}/`)
  assert.ok(agent.payloads().every((p) => p.headers.traceparent === undefined && p.headers['x-datadog-trace-id'] === undefined))
})

test('trace headers the caller set are left as they are', async (t) => {
  const echo = await echoServer(t)
  const { tracer, exporter } = tracerFor(t)
  const mine = '00-0000000000000000000000000000abcd-0000000000000001-01'
  await tracer.trace('job', () => fetch(echo.base, { headers: { TraceParent: mine } }).then((r) => r.text()))
  assert.equal(echo.seen[0]?.traceparent, mine)
  assert.equal(echo.seen[0]?.['x-datadog-trace-id'], undefined)
  assert.equal(clientSpans(exporter).length, 1)
})

test('without an active span a request starts its own trace', async (t) => {
  const echo = await echoServer(t)
  const { exporter } = tracerFor(t)
  await fetch(echo.base).then((r) => r.text())
  const [client] = clientSpans(exporter)
  assert.equal(client?.parentId, 0n)
  assert.equal(echo.seen[0]?.['x-datadog-trace-id'], client?.traceId.toString())
})

test('shutdown stops client tracing; a later tracer takes it over', async (t) => {
  const echo = await echoServer(t)
  const first = tracerFor(t)
  const second = tracerFor(t, { httpClients: { service: 'second' } })
  await fetch(echo.base).then((r) => r.text())
  assert.equal(clientSpans(first.exporter).length, 0)
  assert.equal(clientSpans(second.exporter)[0]?.service, 'second')
  await second.tracer.shutdown()
  await fetch(echo.base).then((r) => r.text())
  assert.equal(clientSpans(second.exporter).length, 1)
  assert.equal(echo.seen[1]?.traceparent, undefined)
})

test('bad httpClients options are a TypeError naming the option', (t) => {
  assert.throws(() => tracerFor(t, { httpClients: { propagationFilter: 'yes' as unknown as () => boolean } }), /propagationFilter/)
  assert.throws(() => tracerFor(t, { httpClients: { service: '' } }), /service/)
  assert.throws(() => tracerFor(t, { httpClients: { patchNodeHttp: 1 as unknown as boolean } }), /patchNodeHttp/)
})
