import assert from 'node:assert/strict'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { startAgent } from '@datadog-apm/agent'
import { startFixture } from './support/fixture-process.js'

// The exit hooks are installed when the tracer is made: a process that gets SIGTERM while its very first
// request is in flight still sends that request's trace, its open spans finished as they were and
// marked `_dd.exit.unfinished`, and then dies of the signal as it would have without the tracer.

const fixtures = fileURLToPath(new URL('./fixtures/exit/', import.meta.url))

test('SIGTERM during the first request of a real Express app: the trace arrives, its open spans marked, and the process dies of SIGTERM', async (t) => {
  const agent = await startAgent()
  t.after(() => agent.close())
  const app = await startFixture<{ port?: number; inFlight?: string }>(['inflight-express.mjs'], fixtures, {
    DD_TRACE_AGENT_URL: agent.url,
    DD_SERVICE: 'exit-app'
  })
  t.after(() => app.stop())
  const exited = once(app.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  const answer = fetch(`${app.base}/slow`).then(
    () => 'answered',
    () => 'cut'
  )
  await app.linesUntil(() => app.lines.some((line) => line.inFlight === '/slow'), 'the request to be in flight', 5000)
  app.child.kill('SIGTERM')
  const [code, signal] = await exited
  assert.equal(signal, 'SIGTERM', `exit ${code} ${signal}: ${app.stderr()}`)
  assert.equal(await answer, 'cut')
  const [trace] = await agent.waitForTraces(1, { timeoutMs: 2000 })
  const byName = new Map(trace.spans.map((span) => [span.name, span]))
  assert.deepEqual([...byName.keys()].sort(), ['express.request', 'slow.work'])
  const root = byName.get('express.request')!
  const work = byName.get('slow.work')!
  // Cut short: the route, URL and status, which the middleware sets when the response ends, never came.
  assert.equal(root.meta['_dd.exit.unfinished'], 'SIGTERM')
  assert.equal(root.meta['http.method'], 'GET')
  assert.equal(work.meta['_dd.exit.unfinished'], 'SIGTERM')
  assert.equal(work.resource, 'wait for ever')
  assert.equal(work.parent_id, root.span_id)
  assert.deepEqual(agent.violations(), [])
})
