/* eslint-disable @typescript-eslint/require-await -- async handlers and hooks without an await are the Fastify idiom under test: Fastify tells callback hooks from promise ones by the function's kind */
// Real Fastify servers on 127.0.0.1, real HTTP requests, spans sent to the local intake.
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { after, before, describe, test, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startAgent, type Agent, type ReceivedSpan, type ReceivedTrace } from '@datadog-apm/agent'
import { activeSpan, createTracer, runSuppressed, type Tracer } from '@datadog-apm/core'
import type { FastifyInstance } from 'fastify'
import { datadogPlugin } from '../src/index.js'
import { majors, until, type FastifyMajor } from './support.js'

/** The test's own requests: untraced, or their client spans would become the request spans' parents. */
const untracedFetch = (url: string, init?: RequestInit): Promise<Response> => runSuppressed(() => fetch(url, init))

let agent: Agent
before(async () => {
  agent = await startAgent()
})
after(async () => {
  await agent.close()
})

interface Served {
  readonly app: FastifyInstance
  readonly tracer: Tracer
  readonly base: string
}

async function serve(t: TestContext, major: FastifyMajor, routes: (app: FastifyInstance, tracer: Tracer) => void | Promise<void>): Promise<Served> {
  agent.clear()
  const tracer = createTracer({ service: 'orders', url: agent.url, flushIntervalMs: 0, flushOnExit: false })
  const app = major.create()
  await app.register(datadogPlugin, { tracer })
  await routes(app, tracer)
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.after(async () => {
    await app.close()
    await tracer.shutdown()
  })
  const { port } = app.server.address() as AddressInfo
  return { app, tracer, base: `http://127.0.0.1:${port}` }
}

function rootOf(trace: ReceivedTrace): ReceivedSpan {
  const roots = trace.spans.filter((s) => s.parent_id === 0n)
  assert.equal(roots.length, 1, 'one root per trace')
  return roots[0]
}

async function traces(tracer: Tracer, count: number, filter?: (trace: ReceivedTrace) => boolean): Promise<ReceivedTrace[]> {
  await tracer.flush()
  return agent.waitForTraces(count, { timeoutMs: 5000, filter })
}

for (const major of majors) {
  describe(major.name, () => {
    test('a POST with a JSON body: the handler sees its span active, a child span is parented to it, the intake gets both', async (t) => {
      const { tracer, base } = await serve(t, major, (app, tracer) => {
        app.register(
          async (v1) => {
            v1.post('/orders/:id', async (request) => {
              const active = activeSpan() === request.span
              const child = await tracer.trace('orders.save', { resource: 'INSERT order' }, async (span) => {
                await sleep(2)
                return span.context().spanId.toString()
              })
              return { active, body: request.body, root: request.span?.context().spanId.toString(), child }
            })
          },
          { prefix: '/v1' }
        )
      })
      const res = await untracedFetch(`${base}/v1/orders/7?api_key=secret`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'e2e' },
        body: JSON.stringify({ item: 'book', qty: 2 })
      })
      const reply = (await res.json()) as { active: boolean; body: unknown; root: string; child: string }
      assert.equal(reply.active, true)
      assert.deepEqual(reply.body, { item: 'book', qty: 2 })
      const [trace] = await traces(tracer, 1)
      const root = rootOf(trace)
      assert.equal(root.span_id.toString(), reply.root)
      assert.equal(root.name, 'fastify.request')
      assert.equal(root.resource, 'POST /v1/orders/:id')
      assert.equal(root.service, 'orders')
      assert.equal(root.type, 'web')
      assert.equal(root.error, 0)
      assert.equal(root.meta['span.kind'], 'server')
      assert.equal(root.meta.component, 'fastify')
      assert.equal(root.meta['http.method'], 'POST')
      assert.equal(root.meta['http.status_code'], '200')
      assert.equal(root.meta['http.route'], '/v1/orders/:id')
      assert.equal(root.meta['http.url'], `${base}/v1/orders/7?<redacted>`)
      assert.equal(root.meta['http.useragent'], 'e2e')
      assert.equal(root.metrics['_dd.top_level'], 1)
      const child = trace.spans.find((s) => s.name === 'orders.save')
      assert.ok(child, 'the child span is in the same trace')
      assert.equal(child.span_id.toString(), reply.child)
      assert.equal(child.parent_id, root.span_id)
      assert.equal(child.trace_id, root.trace_id)
      assert.deepEqual(agent.violations(), [])
    })

    test('a 404 and a failing handler reach the intake with the resource and error tags of dd-trace', async (t) => {
      const { tracer, base } = await serve(t, major, (app) => {
        app.get('/fail', async () => {
          throw new RangeError('out of stock')
        })
      })
      assert.equal((await untracedFetch(`${base}/nowhere`)).status, 404)
      assert.equal((await untracedFetch(`${base}/fail`)).status, 500)
      const received = (await traces(tracer, 2)).map(rootOf)
      const notFound = received.find((s) => s.meta['http.status_code'] === '404')
      const failed = received.find((s) => s.meta['http.status_code'] === '500')
      assert.equal(notFound?.resource, 'GET /*')
      assert.equal(notFound.error, 0)
      assert.equal(notFound.meta['http.route'], '/*')
      assert.equal(failed?.resource, 'GET /fail')
      assert.equal(failed.error, 1)
      assert.equal(failed.meta['error.type'], 'RangeError')
      assert.equal(failed.meta['error.message'], 'out of stock')
      assert.match(failed.meta['error.stack'] ?? '', /RangeError: out of stock/)
      assert.deepEqual(agent.violations(), [])
    })

    test('a streamed reply: the span ends when the stream does', async (t) => {
      const { tracer, base } = await serve(t, major, (app) => {
        app.get('/export', async (_request, reply) => {
          const stream = Readable.from(
            (async function* () {
              for (let i = 0; i < 5; i++) {
                await sleep(10)
                yield `line ${i}\n`
              }
            })()
          )
          return reply.type('text/plain').send(stream)
        })
      })
      const body = await (await untracedFetch(`${base}/export`)).text()
      assert.equal(body, 'line 0\nline 1\nline 2\nline 3\nline 4\n')
      const root = rootOf((await traces(tracer, 1))[0])
      assert.equal(root.resource, 'GET /export')
      assert.equal(root.meta['http.status_code'], '200')
      assert.ok(root.duration >= 45_000_000n, `duration ${root.duration} ns covers the stream`)
      assert.deepEqual(agent.violations(), [])
    })

    test('a request the client aborts is finished once, when the connection closes', async (t) => {
      let started!: () => void
      const handlerStarted = new Promise<void>((resolve) => (started = resolve))
      let release!: () => void
      const gate = new Promise<void>((resolve) => (release = resolve))
      let finishedWhenResumed: boolean | undefined
      const { tracer, base } = await serve(t, major, (app) => {
        app.get('/slow', async (request) => {
          started()
          await gate
          finishedWhenResumed = request.span?.finished
          return 'too late'
        })
        app.get('/marker', async () => 'marker')
      })
      const req = runSuppressed(() => http.get(`${base}/slow`))
      const clientError = new Promise<string>((resolve) => req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message)))
      await handlerStarted
      req.destroy()
      assert.equal(await clientError, 'ECONNRESET')
      // The trace arrives while the handler is still waiting: the span ended at the abort.
      const root = rootOf((await traces(tracer, 1))[0])
      assert.equal(root.resource, 'GET /slow')
      assert.equal(finishedWhenResumed, undefined, 'the handler is still waiting')
      release()
      await until(() => finishedWhenResumed !== undefined, 'the handler to resume')
      assert.equal(finishedWhenResumed, true)
      // A later request's trace: by the time its span finished, Fastify was done with the late return;
      // the flush after it delivers anything finished before.
      assert.equal((await untracedFetch(`${base}/marker`)).status, 200)
      await agent.waitForTraces(1, { timeoutMs: 5000, filter: (trace) => rootOf(trace).resource === 'GET /marker' })
      await tracer.flush()
      assert.deepEqual(agent.traces().map((trace) => rootOf(trace).resource).sort(), ['GET /marker', 'GET /slow'], 'no second span for the aborted request')
      assert.deepEqual(agent.violations(), [])
    })

    test('concurrent requests keep their own spans: ids, parents and active spans never cross', async (t) => {
      const count = 25
      const { tracer, base } = await serve(t, major, (app, tracer) => {
        app.post('/jobs/:n', async (request) => {
          const mine = request.span
          const checks: boolean[] = [activeSpan() === mine]
          await sleep(Math.floor(Math.random() * 15))
          checks.push(activeSpan() === mine)
          const child = await tracer.trace('jobs.step', async (span) => {
            await sleep(Math.floor(Math.random() * 5))
            checks.push(activeSpan() === span)
            return span.context().spanId.toString()
          })
          checks.push(activeSpan() === mine)
          return { n: (request.params as { n: string }).n, trace: mine?.context().traceId.toString(), root: mine?.context().spanId.toString(), child, checks }
        })
      })
      const replies = await Promise.all(
        Array.from({ length: count }, async (_, n) => {
          const res = await untracedFetch(`${base}/jobs/${n}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n }) })
          return (await res.json()) as { n: string; trace: string; root: string; child: string; checks: boolean[] }
        })
      )
      const received = await traces(tracer, count)
      assert.equal(received.length, count)
      assert.equal(new Set(replies.map((r) => r.trace)).size, count, 'one trace per request')
      for (const reply of replies) {
        assert.deepEqual(reply.checks, [true, true, true, true], `request ${reply.n}`)
        const trace = received.find((tr) => tr.spans.some((s) => s.span_id.toString() === reply.root))
        assert.ok(trace, `the trace of request ${reply.n} arrived`)
        const root = rootOf(trace)
        assert.equal(root.trace_id.toString(), reply.trace)
        assert.equal(root.meta['http.url'], `${base}/jobs/${reply.n}`)
        assert.equal(trace.spans.length, 2)
        const child = trace.spans.find((s) => s.name === 'jobs.step')
        assert.equal(child?.span_id.toString(), reply.child)
        assert.equal(child.parent_id, root.span_id)
      }
      assert.deepEqual(agent.violations(), [])
    })
  })
}
