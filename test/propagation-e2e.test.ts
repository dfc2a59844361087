// One request through two of our services: a caller's headers reach an Express app, whose handler calls a
// Fastify app with fetch. Both use the same released packages; the intake must receive one trace.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { startAgent, type Agent, type ReceivedSpan } from '@datadog-apm/agent'
import { createTracer, type Tracer } from '@datadog-apm/core'
import { datadog } from '@datadog-apm/express'
import { datadogPlugin } from '@datadog-apm/fastify'
import { createRequire } from 'node:module'
import Fastify, { type FastifyInstance } from 'fastify'

// Express is loaded untyped (the e2e package has no @types/express); this is the little of it used here.
interface ExpressApp {
  use(middleware: unknown): void
  get(path: string, handler: (req: { params: Record<string, string> }, res: { json(body: unknown): void }) => Promise<void>): void
  listen(port: number, host: string): Server
}
const express = createRequire(import.meta.url)('express') as () => ExpressApp

let agent: Agent
let tracer: Tracer
let web: Server
let api: FastifyInstance
let webBase: string
let apiUrl: string

before(async () => {
  agent = await startAgent()
  tracer = createTracer({ service: 'web', env: 'test', url: agent.url, flushIntervalMs: 0, flushOnExit: false })

  api = Fastify()
  await api.register(datadogPlugin, { tracer, service: 'api' })
  api.get('/users/:id', (request) => ({ id: (request.params as { id: string }).id, seen: request.headers }))
  apiUrl = await api.listen({ port: 0, host: '127.0.0.1' })

  const app = express()
  app.use(datadog({ tracer }))
  app.get('/profile/:id', async (req, res) => {
    const upstream = await fetch(`${apiUrl}/users/${req.params.id}?expand=all`)
    res.json(await upstream.json())
  })
  web = app.listen(0, '127.0.0.1')
  await once(web, 'listening')
  webBase = `http://127.0.0.1:${(web.address() as AddressInfo).port}`
})

after(async () => {
  await tracer.shutdown()
  web.closeAllConnections()
  await new Promise<void>((resolve) => web.close(() => resolve()))
  await api.close()
  await agent.close()
})

/**
 * Every span of the trace once the chunk holding each named span has arrived (each server finishes its
 * span in the response's 'close', which can come after the client has its reply).
 */
async function spansOf(traceId: bigint, names: readonly string[]): Promise<ReceivedSpan[]> {
  await tracer.flush()
  for (const name of names) {
    await agent.waitForTraces(1, { timeoutMs: 5000, filter: (trace) => trace.spans.some((s) => s.trace_id === traceId && s.name === name) })
  }
  return agent.spans().filter((s) => s.trace_id === traceId)
}

function byName(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const span = spans.find((s) => s.name === name)
  assert.ok(span, `no ${name} span in ${spans.map((s) => s.name).join(', ')}`)
  return span
}

for (const [style, callerTrace] of [['datadog', 0x1122334455667788n], ['tracecontext', 0x2233445566778899n]] as const) {
  test(`a caller's ${style} headers continue through Express, fetch and Fastify as one trace`, async () => {
    const callerSpan = 0x0102030405060708n
    const headers: Record<string, string> =
      style === 'datadog'
        ? {
            'x-datadog-trace-id': callerTrace.toString(),
            'x-datadog-parent-id': callerSpan.toString(),
            'x-datadog-sampling-priority': '2',
            'x-datadog-origin': 'synthetics',
            'x-datadog-tags': '_dd.p.tid=640cfd8d00000000,_dd.p.dm=-4'
          }
        : {
            traceparent: `00-640cfd8d00000000${callerTrace.toString(16)}-${callerSpan.toString(16).padStart(16, '0')}-01`,
            tracestate: 'dd=s:2;o:synthetics;t.dm:-4,other=keep-me'
          }
    const res = await fetch(`${webBase}/profile/7`, { headers: { ...headers, baggage: 'user.id=u-7,theme=dark' } })
    assert.equal(res.status, 200)
    const body = (await res.json()) as { id: string; seen: Record<string, string> }
    assert.equal(body.id, '7')

    const spans = await spansOf(callerTrace, ['express.request', 'http.request', 'fastify.request'])
    assert.equal(spans.length, 3)
    const root = byName(spans, 'express.request')
    const client = byName(spans, 'http.request')
    const server = byName(spans, 'fastify.request')
    assert.equal(root.parent_id, callerSpan)
    assert.equal(client.parent_id, root.span_id)
    assert.equal(server.parent_id, client.span_id)
    for (const span of spans) {
      assert.equal(span.metrics._sampling_priority_v1, 2, span.name)
      assert.equal(span.meta['_dd.origin'], 'synthetics', span.name)
    }
    assert.equal(root.meta['_dd.p.tid'], '640cfd8d00000000')
    assert.equal(root.meta['_dd.p.dm'], '-4')
    assert.equal(server.meta['_dd.p.tid'], '640cfd8d00000000')
    assert.equal(root.meta['baggage.user.id'], 'u-7')
    assert.equal(server.meta['baggage.user.id'], 'u-7')
    assert.equal(client.meta['http.url'], `${apiUrl}/users/7`)
    assert.equal(client.meta.component, 'fetch')
    assert.equal(server.service, 'api')

    // What Fastify received: the client span as parent, the caller's state, the baggage as sent.
    assert.equal(body.seen['x-datadog-parent-id'], client.span_id.toString())
    assert.equal(body.seen['x-datadog-tags'], '_dd.p.tid=640cfd8d00000000,_dd.p.dm=-4')
    assert.equal(body.seen.baggage, 'user.id=u-7,theme=dark')
    if (style === 'tracecontext') assert.match(body.seen.tracestate ?? '', /^dd=s:2;p:[0-9a-f]{16};o:synthetics;t.dm:-4;t.tid:640cfd8d00000000,other=keep-me$/)
    assert.deepEqual(agent.violations(), [])
  })
}

test('hostile headers never break the request: a new trace starts', async () => {
  // Two requests: together these would pass Node's 16 KiB header limit, which answers 431 before any app code.
  const hostile: Record<string, string>[] = [
    {
      'x-datadog-trace-id': '0',
      'x-datadog-parent-id': 'abc',
      'x-datadog-tags': '_dd.p.x=' + 'y'.repeat(10_240),
      traceparent: '00-' + 'a'.repeat(31) + '-0123456789abcdef-01',
      tracestate: 'dd=s:9;p:zz,' + 'x=1,'.repeat(500)
    },
    {
      traceparent: 'ff-640cfd8d00000000abcdef0123456789-0123456789abcdef-01',
      baggage: Array.from({ length: 1000 }, (_, i) => `k${i}=%E2`).join(',')
    }
  ]
  for (const [i, headers] of hostile.entries()) {
    const res = await fetch(`${webBase}/profile/9`, { headers })
    assert.equal(res.status, 200)
    const body = (await res.json()) as { seen: Record<string, string> }
    const traceId = BigInt(body.seen['x-datadog-trace-id'] ?? '0')
    assert.notEqual(traceId, 0n)
    const spans = await spansOf(traceId, ['express.request', 'http.request', 'fastify.request'])
    const root = byName(spans, 'express.request')
    assert.equal(root.parent_id, 0n)
    assert.equal(root.meta['_dd.p.x'], undefined)
    if (i === 1) assert.equal(body.seen.baggage?.split(',').length, 64, 'baggage cut to 64 items, passed on')
  }
})
