import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { startAgent, type Agent, type ReceivedSpan } from '@datadog-apm/agent'
import { createTracer, runSuppressed, type Tracer } from '@datadog-apm/core'
import { datadog } from '@datadog-apm/express'
import { datadogPlugin } from '@datadog-apm/fastify'
import express from 'express'
import Fastify from 'fastify'
import { TracerProvider, type OpenTelemetryApi } from '../../src/index.js'
import type { LibraryApi } from './bridge-suite.js'

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)))
}

/**
 * Real Express and Fastify apps, traced by their packages, calling a library that traces only through
 * `@opentelemetry/api` (the copy given): its spans, the tracer's own, and those of a downstream service
 * that reads the headers with `propagation.extract` make one trace in the local intake.
 */
export function appSuite(api: LibraryApi, registerWith: OpenTelemetryApi | undefined): void {
  let agent: Agent
  let tracer: Tracer
  let downstream: Server
  let downstreamUrl = ''

  /** The library: an OpenTelemetry span around a call to the downstream service, headers injected by the API. */
  async function lookup(id: string): Promise<unknown> {
    const lib = api.trace.getTracer('inventory-lib', '1.0.0')
    return lib.startActiveSpan('inventory.lookup', { kind: api.SpanKind.CLIENT, attributes: { 'item.id': id } }, async (span) => {
      try {
        tracer.trace('core.step', () => {})
        const headers: Record<string, string> = {}
        api.propagation.inject(api.context.active(), headers)
        const response = await fetch(`${downstreamUrl}/stock/${id}`, { headers })
        span.setAttribute('http.response.status_code', response.status)
        return await response.json()
      } finally {
        span.end()
      }
    })
  }

  before(async () => {
    agent = await startAgent()
    tracer = createTracer({ service: 'otel-app', url: agent.url, flushOnExit: false, flushIntervalMs: 0 })
    const provider = new TracerProvider({ tracer })
    assert.equal(provider.register(registerWith === undefined ? {} : { api: registerWith }), true)
    // A service of its own that knows only OpenTelemetry: it continues the trace from the headers.
    downstream = createServer((req, res) => {
      const context = api.propagation.extract(api.ROOT_CONTEXT, req.headers)
      api.context.with(context, () => {
        api.trace.getTracer('stock-service').startActiveSpan('stock.read', { kind: api.SpanKind.SERVER }, (span) => {
          res.setHeader('content-type', 'application/json')
          res.end(JSON.stringify({ inStock: true }))
          span.end()
        })
      })
    })
    downstreamUrl = await listen(downstream)
  })

  after(async () => {
    downstream.close()
    await tracer.shutdown()
    await agent.close()
  })

  /** Every span of the trace `traceId` once `count` of them arrived. */
  async function spansOf(traceId: bigint, count: number): Promise<ReceivedSpan[]> {
    const spans = (): ReceivedSpan[] => agent.spans().filter((s) => s.trace_id === traceId)
    const deadline = Date.now() + 5000
    while (spans().length < count && Date.now() < deadline) {
      await tracer.flush()
      await agent.waitForTraces(1, { filter: (t) => t.spans.some((s) => s.trace_id === traceId), timeoutMs: 1000 }).catch(() => undefined)
    }
    return spans()
  }

  function checkTrace(spans: ReceivedSpan[], rootName: string): void {
    const byName = new Map(spans.map((s) => [s.name, s]))
    const root = byName.get(rootName)
    const lookupSpan = byName.get('inventory.lookup')
    const step = byName.get('core.step')
    const stock = byName.get('stock.read')
    assert.ok(root && lookupSpan && step && stock, spans.map((s) => s.name).join(', '))
    assert.equal(root.parent_id, 0n)
    assert.equal(root.resource, 'GET /items/:id')
    assert.equal(root.meta['from.otel'], 'yes', 'written through trace.getActiveSpan() in the handler')
    assert.equal(lookupSpan.parent_id, root.span_id, 'the library\'s span is a child of the request span')
    assert.equal(lookupSpan.resource, 'inventory.lookup')
    assert.equal(lookupSpan.meta['span.kind'], 'client')
    assert.equal(lookupSpan.meta['item.id'], '7')
    assert.equal(lookupSpan.meta['http.status_code'], '200')
    assert.equal(lookupSpan.metrics['_dd.measured'], 1)
    assert.equal(step.parent_id, lookupSpan.span_id, 'the tracer\'s span is a child of the library\'s')
    assert.equal(stock.parent_id, lookupSpan.span_id, 'the downstream span continues the trace from the injected headers')
    assert.equal(stock.meta['span.kind'], 'server')
    assert.equal(stock.meta['_dd.p.tid'] ?? root.meta['_dd.p.tid'], root.meta['_dd.p.tid'])
    assert.deepEqual(agent.violations(), [])
  }

  test('Express: a library\'s OpenTelemetry spans join the request\'s trace, and so does the service it calls', async () => {
    const app = express()
    app.use(datadog({ tracer }))
    app.get('/items/:id', async (req, res) => {
      api.trace.getActiveSpan()?.setAttribute('from.otel', 'yes')
      res.json(await lookup(req.params.id))
    })
    const server = createServer(app)
    const url = await listen(server)
    try {
      const response = await runSuppressed(() => fetch(`${url}/items/7`))
      assert.deepEqual(await response.json(), { inStock: true })
    } finally {
      server.close()
      await once(server, 'close')
    }
    await tracer.flush()
    const root = agent.spans().find((s) => s.name === 'express.request')
    assert.ok(root)
    checkTrace(await spansOf(root.trace_id, 4), 'express.request')
  })

  test('Fastify: the same, with the plugin', async () => {
    const app = Fastify()
    await app.register(datadogPlugin, { tracer })
    app.get<{ Params: { id: string } }>('/items/:id', async (request) => {
      api.trace.getActiveSpan()?.setAttribute('from.otel', 'yes')
      return lookup(request.params.id)
    })
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      const response = await runSuppressed(() => fetch(`${url}/items/7`))
      assert.deepEqual(await response.json(), { inStock: true })
    } finally {
      await app.close()
    }
    await tracer.flush()
    const root = agent.spans().find((s) => s.name === 'fastify.request')
    assert.ok(root)
    checkTrace(await spansOf(root.trace_id, 4), 'fastify.request')
  })
}
