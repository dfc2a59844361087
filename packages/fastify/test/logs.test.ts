/* eslint-disable @typescript-eslint/require-await -- async handlers and hooks without an await are the Fastify idiom under test */
// Fastify's own logger with the logger package's pinoMixin: every request.log line from onRequest on
// carries the request span's ids, over real HTTP, with concurrent requests whose lines never cross.
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startAgent, type Agent } from '@datadog-apm/agent'
import { createTracer, logIds, runSuppressed } from '@datadog-apm/core'
import { pinoMixin } from '@datadog-apm/logger'
import { datadogPlugin } from '../src/index.js'
import { majors, until } from './support.js'

interface Line {
  msg: string
  reqId?: string
  where?: string
  dd?: { trace_id?: string; span_id?: string; service?: string; env?: string; version?: string }
}

/** Collects Fastify's JSON log lines. */
function logCapture(): { stream: Writable; lines: Line[] } {
  const lines: Line[] = []
  let rest = ''
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const text = rest + chunk.toString('utf8')
      const parts = text.split('\n')
      rest = parts.pop() ?? ''
      for (const part of parts) if (part !== '') lines.push(JSON.parse(part) as Line)
      callback()
    }
  })
  return { stream, lines }
}

let agent: Agent
before(async () => {
  agent = await startAgent()
})
after(async () => {
  await agent.close()
})

for (const major of majors) {
  describe(major.name, () => {
    test('request.log lines carry the dd ids of the request span from onRequest on, and never cross between requests', async (t) => {
      agent.clear()
      const tracer = createTracer({ service: 'billing', env: 'staging', version: '2.1.0', url: agent.url, flushIntervalMs: 0, flushOnExit: false })
      const { stream, lines } = logCapture()
      const app = major.create({ logger: { level: 'info', stream, mixin: pinoMixin({ tracer }) } })
      t.after(async () => {
        await app.close()
        await tracer.shutdown()
      })
      await app.register(datadogPlugin, { tracer })
      app.addHook('onRequest', async (request) => {
        request.log.info({ where: 'onRequest' }, 'hook')
      })
      app.addHook('preHandler', (request, _reply, done) => {
        request.log.info({ where: 'preHandler' }, 'hook')
        setTimeout(done, Math.floor(Math.random() * 5))
      })
      app.addHook('onResponse', async (request) => {
        request.log.info({ where: 'onResponse' }, 'hook')
      })
      app.post('/invoices/:n', async (request) => {
        const span = request.span!
        await sleep(Math.floor(Math.random() * 10))
        request.log.info({ where: 'handler' }, 'creating invoice')
        const child = await tracer.trace('invoice.render', async (renderSpan) => {
          await sleep(Math.floor(Math.random() * 5))
          request.log.info({ where: 'child' }, 'rendering')
          return logIds(renderSpan)
        })
        return { reqId: request.id, ids: logIds(span), child }
      })
      await app.listen({ host: '127.0.0.1', port: 0 })
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

      const count = 20
      const replies = await Promise.all(
        Array.from({ length: count }, async (_, n) => {
          const res = await runSuppressed(() => fetch(`${base}/invoices/${n}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n }) }))
          return (await res.json()) as { reqId: string; ids: { traceId: string; spanId: string }; child: { traceId: string; spanId: string } }
        })
      )
      await tracer.flush()
      const received = await agent.waitForTraces(count, { timeoutMs: 5000 })
      // Fastify logs "request completed" last, after the onResponse hooks, once the response finished on
      // the server: the client can have its reply before that.
      const completed = (reqId: string): boolean => lines.some((line) => line.reqId === reqId && line.msg === 'request completed')
      await until(() => replies.every((reply) => completed(reply.reqId)), 'a "request completed" line for every request')

      assert.equal(new Set(replies.map((r) => r.ids.traceId)).size, count)
      for (const reply of replies) {
        // The ids the lines carry are the ones the intake received.
        const trace = received.find((tr) => tr.spans.some((s) => s.parent_id === 0n && s.span_id.toString() === reply.ids.spanId))
        assert.ok(trace, `the trace of ${reply.reqId} arrived`)
        const root = trace.spans.find((s) => s.parent_id === 0n)!
        const high = root.meta['_dd.p.tid']
        assert.equal(reply.ids.traceId, high === undefined ? root.trace_id.toString() : high + root.trace_id.toString(16).padStart(16, '0'))

        const mine = lines.filter((line) => line.reqId === reply.reqId)
        const byMessage = (where: string): Line | undefined => mine.find((line) => line.where === where || line.msg === where)
        const incoming = byMessage('incoming request')
        assert.ok(incoming, 'Fastify logs the incoming request')
        // Written before any hook runs: the service, env and version, but no trace yet.
        assert.deepEqual(incoming.dd, { service: 'billing', env: 'staging', version: '2.1.0' })
        for (const where of ['onRequest', 'preHandler', 'handler', 'onResponse', 'request completed']) {
          const line = byMessage(where)
          assert.ok(line, `a ${where} line for ${reply.reqId}`)
          assert.deepEqual(line.dd, { trace_id: reply.ids.traceId, span_id: reply.ids.spanId, service: 'billing', env: 'staging', version: '2.1.0' }, `${where} of ${reply.reqId}`)
        }
        const child = byMessage('child')
        assert.deepEqual(child?.dd, { trace_id: reply.ids.traceId, span_id: reply.child.spanId, service: 'billing', env: 'staging', version: '2.1.0' })
        assert.equal(mine.length, 7, `every line of ${reply.reqId} is accounted for`)
      }
      assert.deepEqual(agent.violations(), [])
    })
  })
}
