// node:http client spans. Node 22.12+/23.2+ publish `http.client.request.created`, which lets headers be
// set: there node:http is traced with no patching. Node 20 has no such channel: node:http is left alone
// unless `patchNodeHttp: true` asks for the wrappers. The tests run in that order, since patching is
// for the life of the process.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import http, { createServer, get as namedGet, type IncomingMessage } from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { echoServer } from './support/echo-server.js'
import { test, type TestContext } from 'node:test'
import type { TracerOptions } from '../src/tracer/options.js'
import { hasCreatedChannel } from '../src/integrations/client-node-http.js'
import { coreSpan, type CoreSpan } from '../src/model/span.js'
import { InMemoryExporter, type ExportedSpan } from '../src/testing.js'
import { CoreTracer } from '../src/tracer/tracer.js'

const CHANNEL = hasCreatedChannel()


function tracerFor(t: TestContext, options: TracerOptions): { tracer: CoreTracer; exporter: InMemoryExporter } {
  const exporter = new InMemoryExporter()
  const tracer = new CoreTracer({ service: 'node-http-test', exporter, flushOnExit: false, ...options })
  t.after(() => tracer.shutdown())
  return { tracer, exporter }
}

function clientSpans(exporter: InMemoryExporter): ExportedSpan[] {
  return exporter.spans().filter((s) => s.name === 'http.request')
}

function read(res: IncomingMessage): Promise<string> {
  let body = ''
  res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
  return once(res, 'end').then(() => body)
}

function getText(fn: typeof http.get, url: string, options: http.RequestOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    fn(url, options, (res) => {
      read(res).then(resolve, reject)
    }).on('error', reject)
  })
}

test('the Node version decides whether the created channel exists', () => {
  assert.equal(hasCreatedChannel('20.20.2'), false)
  assert.equal(hasCreatedChannel('22.11.0'), false)
  assert.equal(hasCreatedChannel('22.12.0'), true)
  assert.equal(hasCreatedChannel('23.1.0'), false)
  assert.equal(hasCreatedChannel('23.2.0'), true)
  assert.equal(hasCreatedChannel('24.0.0'), true)
})

test(`without patchNodeHttp: ${CHANNEL ? 'traced through the created channel' : 'node:http is left alone on this Node'}`, async (t) => {
  const echo = await echoServer(t, 'body')
  const { tracer, exporter } = tracerFor(t, {})
  assert.equal(http.request.name, 'request', 'nothing is patched')
  let root: CoreSpan | undefined
  await tracer.trace('job', async (span) => {
    root = coreSpan(span)
    assert.equal(await getText(http.get, `${echo.base}/a?secret=1`), 'body')
  })
  const spans = clientSpans(exporter)
  if (CHANNEL) {
    assert.equal(spans.length, 1)
    assert.equal(spans[0]?.parentId, root?.spanId)
    assert.equal(spans[0]?.meta['http.url'], `${echo.base}/a`)
    assert.equal(echo.seen[0]?.['x-datadog-parent-id'], spans[0]?.spanId.toString())
  } else {
    assert.equal(spans.length, 0)
    assert.equal(echo.seen[0]?.['x-datadog-trace-id'], undefined)
  }
})

test('with patchNodeHttp: http.get, http.request and named ESM imports get client spans and headers', async (t) => {
  const echo = await echoServer(t, 'body')
  const { tracer, exporter } = tracerFor(t, { httpClients: { patchNodeHttp: true } })
  assert.equal(http.request.name, CHANNEL ? 'request' : 'tracedRequest', 'wrapped only where Node has no channel')
  await tracer.trace('job', async () => {
    await getText(http.get, `${echo.base}/get`)
    await getText(namedGet, `${echo.base}/named`)
    await new Promise<void>((resolve, reject) => {
      const req = http.request(`${echo.base}/status/404`, { method: 'PUT' }, (res) => void read(res).then(() => resolve(), reject))
      req.on('error', reject)
      req.end('payload')
    })
  })
  const spans = clientSpans(exporter)
  assert.deepEqual(
    spans.map((s) => [s.resource, s.meta['http.url'], s.meta['http.status_code'], s.error, s.meta.component]),
    [
      ['GET', `${echo.base}/get`, '200', 0, 'http'],
      ['GET', `${echo.base}/named`, '200', 0, 'http'],
      ['PUT', `${echo.base}/status/404`, '404', 1, 'http']
    ]
  )
  for (const [i, span] of spans.entries()) {
    assert.equal(echo.seen[i]?.['x-datadog-parent-id'], span.spanId.toString())
    assert.equal(span.meta['out.host'], '127.0.0.1')
    assert.equal(span.metrics['network.destination.port'], echo.port)
  }
})

test('errors, aborts and unread responses all finish their span', async (t) => {
  const echo = await echoServer(t, 'body')
  const { tracer, exporter } = tracerFor(t, { httpClients: { patchNodeHttp: true } })
  const closed = createServer()
  closed.listen(0, '127.0.0.1')
  await once(closed, 'listening')
  const deadPort = (closed.address() as AddressInfo).port
  closed.close()
  await tracer.trace('job', async () => {
    await assert.rejects(getText(http.get, `http://127.0.0.1:${deadPort}/`), { code: 'ECONNREFUSED' })
    await assert.rejects(getText(https.get, `https://127.0.0.1:${deadPort}/tls`), { code: 'ECONNREFUSED' })
    const aborted = http.get(`${echo.base}/aborted`)
    aborted.on('error', () => undefined)
    aborted.destroy()
    await new Promise((resolve) => aborted.on('close', resolve))
    // No response listener: Node reads and drops the body.
    const dropped = http.get(`${echo.base}/dropped`)
    await once(dropped, 'close')
  })
  const byUrl = Object.fromEntries(clientSpans(exporter).map((s) => [s.meta['http.url'], s]))
  assert.equal(byUrl[`http://127.0.0.1:${deadPort}/`]?.error, 1)
  assert.match(byUrl[`http://127.0.0.1:${deadPort}/`]?.meta['error.message'] ?? '', /ECONNREFUSED/)
  assert.equal(byUrl[`https://127.0.0.1:${deadPort}/tls`]?.error, 1)
  assert.ok(byUrl[`${echo.base}/aborted`]?.finished)
  assert.equal(byUrl[`${echo.base}/dropped`]?.meta['http.status_code'], '200')
  assert.equal(Object.keys(byUrl).length, 4)
})

test('caller-set trace headers and headers given as an array are left alone', async (t) => {
  const echo = await echoServer(t, 'body')
  const { tracer, exporter } = tracerFor(t, { httpClients: { patchNodeHttp: true } })
  await tracer.trace('job', async () => {
    await getText(http.get, `${echo.base}/mine`, { headers: { 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2' } })
    // Raw array headers are written at once, so there is nothing left to inject into.
    await getText(http.get, `${echo.base}/array`, { headers: ['host', `127.0.0.1:${echo.port}`, 'x-app', 'yes'] as unknown as http.OutgoingHttpHeaders })
  })
  assert.equal(echo.seen[0]?.['x-datadog-trace-id'], '1')
  assert.equal(echo.seen[0]?.traceparent, undefined)
  assert.equal(echo.seen[1]?.['x-app'], 'yes')
  assert.equal(echo.seen[1]?.traceparent, undefined)
  assert.equal(clientSpans(exporter).length, 2)
})

test('after shutdown the wrappers only call through', async (t) => {
  const echo = await echoServer(t, 'body')
  const { tracer, exporter } = tracerFor(t, { httpClients: { patchNodeHttp: true } })
  await tracer.shutdown()
  assert.equal(await getText(http.get, `${echo.base}/after`), 'body')
  assert.equal(clientSpans(exporter).length, 0)
  assert.equal(echo.seen[0]?.traceparent, undefined)
})
