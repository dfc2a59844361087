import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { startAgent, type Agent } from '@datadog-apm/agent'
import { createTracer, runSuppressed, type TracerOptions } from '@datadog-apm/core'

const fixtures = fileURLToPath(new URL('./fixtures/core/', import.meta.url))

function collect(): { lines: string[]; sink: { write(line: string): void } } {
  const lines: string[] = []
  return { lines, sink: { write: (line: string) => lines.push(line) } }
}

function tracerFor(agentUrl: string, options: TracerOptions = {}) {
  return createTracer({ service: 'export-test', env: 'test', version: '1.0.0', url: agentUrl, flushOnExit: false, ...options })
}

async function withAgent(t: { after(fn: () => Promise<void>): void }, options?: Parameters<typeof startAgent>[0]): Promise<Agent> {
  const agent = await startAgent(options)
  t.after(() => agent.close())
  return agent
}

test('spans reach the intake over HTTP, field by field', async (t) => {
  const agent = await withAgent(t)
  const tracer = tracerFor(agent.url, { tags: { team: 'apm' } })
  let rootIds: { trace: bigint; span: bigint; tid: string } | undefined
  await tracer.trace('web.request', { resource: 'GET /users/:id', type: 'web', tags: { 'http.status_code': 200, 'http.method': 'GET' } }, async (root) => {
    const context = root.context()
    rootIds = { trace: context.traceId, span: context.spanId, tid: context.traceIdHigh }
    await tracer.trace('db.query', { service: 'postgres', type: 'sql', resource: 'SELECT 1' }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 2))
    })
  })
  await tracer.flush()
  const [trace] = await agent.waitForTraces(1)
  assert.ok(trace && rootIds)
  assert.deepEqual(agent.violations(), [])
  assert.equal(trace.headers['x-datadog-trace-count'], '1')
  assert.equal(trace.headers['datadog-meta-lang'], 'nodejs')
  assert.equal(trace.headers['datadog-meta-lang-version'], process.version)
  assert.equal(trace.headers['datadog-meta-tracer-version'], '0.1.0')
  assert.equal(trace.headers['content-type'], 'application/msgpack')

  const [root, child] = trace.spans
  assert.ok(root && child)
  assert.equal(root.trace_id, rootIds.trace)
  assert.equal(root.span_id, rootIds.span)
  assert.equal(root.parent_id, 0n)
  assert.equal(root.name, 'web.request')
  assert.equal(root.resource, 'GET /users/:id')
  assert.equal(root.service, 'export-test')
  assert.equal(root.type, 'web')
  assert.equal(root.error, 0)
  assert.equal(root.meta['_dd.p.tid'], rootIds.tid)
  assert.equal(root.meta['http.status_code'], '200')
  assert.equal(root.meta.env, 'test')
  assert.equal(root.meta.version, '1.0.0')
  assert.equal(root.meta.team, 'apm')
  assert.equal(root.meta.language, 'javascript')
  assert.match(root.meta['runtime-id'] ?? '', /^[0-9a-f-]{36}$/)
  assert.equal(root.metrics._sampling_priority_v1, 1)
  assert.equal(root.metrics['_dd.top_level'], 1)
  assert.equal(root.metrics.process_id, process.pid)
  const nowNs = BigInt(Date.now()) * 1_000_000n
  assert.ok(root.start > nowNs - 10_000_000_000n && root.start <= nowNs, 'start is epoch ns')
  assert.ok(root.duration >= child.duration && child.duration >= 1_500_000n, 'durations in ns')

  assert.equal(child.parent_id, root.span_id)
  assert.equal(child.trace_id, root.trace_id)
  assert.equal(child.service, 'postgres')
  assert.equal(child.type, 'sql')
  assert.equal(child.meta['_dd.base_service'], 'export-test')
  assert.equal(child.meta['_dd.p.tid'], undefined)
  assert.ok(child.start >= root.start && child.start + child.duration <= root.start + root.duration)
  await tracer.shutdown()
})

test('spans reach the intake over a Unix socket', async (t) => {
  const socketPath = join(mkdtempSync(join(tmpdir(), 'dd-sock-')), 'apm.socket')
  const agent = await withAgent(t, { socketPath })
  assert.ok(agent.socketUrl)
  const tracer = tracerFor(agent.socketUrl)
  for (let i = 0; i < 3; i++) tracer.trace(`unix-${i}`, () => {})
  await tracer.flush()
  const traces = await agent.waitForTraces(3)
  // Operation names are normalized as the agent does it: '-' becomes '_'.
  assert.deepEqual(traces.map((trace) => trace.spans[0]?.name).sort(), ['unix_0', 'unix_1', 'unix_2'])
  assert.deepEqual(agent.violations(), [])
  assert.equal(tracer.health()?.tracesSent, 3)
  await tracer.shutdown()
})

test('many traces are batched into few payloads and split under the size limit', async (t) => {
  const agent = await withAgent(t)
  const tracer = tracerFor(agent.url, { maxPayloadBytes: 32 * 1024 })
  for (let i = 0; i < 2000; i++) tracer.trace('batch', { tags: { i } }, () => {})
  await tracer.flush()
  await agent.waitForTraces(2000, { timeoutMs: 10_000 })
  const payloads = agent.payloads()
  assert.ok(payloads.length >= 4 && payloads.length < 100, `${payloads.length} payloads`)
  for (const payload of payloads) assert.ok(payload.bytes <= 32 * 1024, `payload of ${payload.bytes} bytes`)
  assert.deepEqual(agent.violations(), [])
  const health = tracer.health()
  assert.equal(health?.tracesSent, 2000)
  assert.equal(health?.tracesDropped, 0)
  await tracer.shutdown()
})

test('the agent down: nothing reaches the app, drops are counted, one warning, export resumes when it returns', async (t) => {
  const probe = await startAgent()
  const port = Number(new URL(probe.url).port)
  await probe.close()
  const { lines, sink } = collect()
  // Retries are tested in exporter-faults.test.ts; a short deadline keeps each flush short here.
  const tracer = tracerFor(`http://127.0.0.1:${port}`, { diagnostics: sink, retryDeadlineMs: 200 })
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 10; i++) tracer.trace('while-down', () => {})
    await tracer.flush()
  }
  const down = tracer.health()!
  assert.equal(down.tracesDropped, 30)
  assert.equal(down.droppedByReason.network, 30)
  assert.equal(down.lastError, 'ECONNREFUSED')
  assert.equal(lines.length, 1, 'one warning, not one per payload')
  assert.match(lines[0], new RegExp(`cannot send traces to the Datadog agent at http://127\\.0\\.0\\.1:${port}/ \\(ECONNREFUSED\\)`))

  const agent = await withAgent(t, { port })
  for (let i = 0; i < 5; i++) tracer.trace('after.recovery', () => {})
  await tracer.flush()
  const traces = await agent.waitForTraces(5)
  assert.ok(traces.every((trace) => trace.spans[0]?.name === 'after.recovery'))
  assert.equal(tracer.health()?.tracesSent, 5)
  assert.equal(tracer.health()?.lastError, undefined)
  assert.match(lines.at(-1)!, /accepts traces again/)
  await tracer.shutdown()
})

test('with the agent down memory stays bounded: the queue drops whole traces past its limit', async () => {
  const { sink } = collect()
  // A port nobody listens on; a long interval so everything piles up in the queue.
  const tracer = tracerFor('http://127.0.0.1:9', { maxQueueSpans: 1000, flushIntervalMs: 3_600_000, diagnostics: sink })
  for (let i = 0; i < 50_000; i++) {
    tracer.trace('pile', (span) => {
      span.setTag('payload', 'x'.repeat(200))
    })
  }
  const health = tracer.health()!
  assert.ok(health.queuedSpans <= 1000, `${health.queuedSpans} spans queued`)
  assert.ok(health.droppedByReason.queue_full >= 45_000, `dropped ${health.droppedByReason.queue_full}`)
  await tracer.shutdown({ timeoutMs: 500 })
})

test('the agent\'s payload limit from /info is kept: an oversized span is dropped and counted, never refused; rates from the answer are kept', async (t) => {
  const agent = await withAgent(t, { maxPayloadBytes: 2048 })
  agent.setRates({ 'service:export-test,env:test': 0.5, 'service:,env:': 1 })
  const { lines, sink } = collect()
  const tracer = tracerFor(agent.url, { diagnostics: sink })
  tracer.trace('small', () => {})
  await tracer.flush()
  assert.deepEqual((tracer as unknown as { agentRates: Record<string, number> }).agentRates, { 'service:export-test,env:test': 0.5, 'service:,env:': 1 })
  tracer.trace('big', (span) => span.setTag('blob', 'x'.repeat(4000)))
  await tracer.flush()
  const health = tracer.health()!
  // Since /info discovery the tracer knows the agent's 2048-byte limit: the 4 KB span is dropped at
  // encode time (exporter-faults.test.ts covers a 413 from an agent that does not say its limit).
  assert.equal(health.maxPayloadBytes, 2048)
  assert.equal(health.droppedByReason.too_large, 1)
  assert.equal(agent.payloads().filter((p) => p.status === 413).length, 0)
  assert.match(lines.join(''), /larger than the payload limit \(2048 bytes\)/)
  await tracer.shutdown()
})

function runFixture(script: string, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [join(fixtures, script), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  const ready = new Promise<void>((resolve) => {
    child.stdout.on('data', () => {
      if (stdout.includes('ready')) resolve()
    })
  })
  return { child, exited, ready, output: () => ({ stdout, stderr }) }
}

test('SIGTERM with no handler of the app: traces are flushed, then the process dies of SIGTERM as it would have', async (t) => {
  const agent = await withAgent(t)
  const run = runFixture('send-on-exit.mjs', ['no-handler'], { DD_TRACE_AGENT_URL: agent.url })
  await run.ready
  run.child.kill('SIGTERM')
  const [code, signal] = await run.exited
  assert.equal(signal, 'SIGTERM', `exit ${code} ${signal} ${run.output().stderr}`)
  assert.equal(agent.traces().length, 5)
})

test('SIGTERM with a handler of the app: the handler decides the exit, traces are flushed too', async (t) => {
  const agent = await withAgent(t)
  const run = runFixture('send-on-exit.mjs', ['own-handler'], { DD_TRACE_AGENT_URL: agent.url })
  await run.ready
  run.child.kill('SIGTERM')
  const [code] = await run.exited
  assert.equal(code, 7)
  assert.match(run.output().stdout, /app handler ran/)
  assert.equal(agent.traces().length, 5)
})

test('a process that simply ends sends its traces on beforeExit and still exits promptly', async (t) => {
  const agent = await withAgent(t)
  const started = Date.now()
  const run = runFixture('send-on-exit.mjs', ['before-exit'], { DD_TRACE_AGENT_URL: agent.url })
  const [code] = await run.exited
  assert.equal(code, 0, run.output().stderr)
  assert.equal(agent.traces().length, 5)
  assert.ok(Date.now() - started < 5000, 'no lingering timers or sockets')
})

test('with the agent down, a process that simply ends still exits within the 2 s exit flush, saying what was lost', async () => {
  const probe = await startAgent()
  const deadUrl = probe.url
  await probe.close()
  const started = Date.now()
  const run = runFixture('send-on-exit.mjs', ['before-exit'], { DD_TRACE_AGENT_URL: deadUrl })
  const [code] = await run.exited
  const elapsed = Date.now() - started
  assert.equal(code, 0, run.output().stderr)
  // The retry deadline is 15 s; without the cap the process lived that long.
  assert.ok(elapsed < 5000, `exited after ${elapsed} ms`)
  assert.match(run.output().stderr, /exiting before traces reached the Datadog agent at http:\/\/127\.0\.0\.1:\d+\/ \(ECONNREFUSED\)/)
})

test('importing core starts nothing; a tracer installs the exit hooks when it is made, holds the process open with nothing, and removes them at shutdown', async () => {
  const run = runFixture('starts-nothing.mjs', [], {})
  const [code] = await run.exited
  assert.equal(code, 0, run.output().stderr)
  const states = JSON.parse(run.output().stdout) as Record<string, { resources: string[]; sigterm: number; sigint: number; beforeExit: number }>
  const quiet = { resources: [], sigterm: 0, sigint: 0, beforeExit: 0 }
  const hooked = { resources: [], sigterm: 1, sigint: 1, beforeExit: 1 }
  assert.deepEqual(states, { afterImport: quiet, afterCreate: hooked, afterSpan: hooked, afterFinish: hooked, afterShutdown: quiet })
})

test('an app keeps answering while the agent is down', async (t) => {
  const { sink } = collect()
  const tracer = tracerFor('http://127.0.0.1:9', { diagnostics: sink, flushIntervalMs: 10, retryDeadlineMs: 200 })
  const server = createServer((req, res) => {
    void tracer.trace('web.request', { resource: `${req.method} /`, type: 'web' }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1))
      res.end('ok')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.address() as AddressInfo
  const answers = await Promise.all(Array.from({ length: 200 }, () => runSuppressed(() => fetch(`http://127.0.0.1:${port}/`)).then((r) => r.text())))
  assert.ok(answers.every((a) => a === 'ok'))
  await tracer.flush()
  const health = tracer.health()!
  assert.equal(health.tracesDropped, 200)
  assert.equal(health.droppedByReason.network, 200)
  await tracer.shutdown()
})

test('a CommonJS app can require() the packages', async (t) => {
  const agent = await withAgent(t)
  const run = runFixture('require.cjs', [], { DD_TRACE_AGENT_URL: agent.url })
  const [code] = await run.exited
  assert.equal(code, 0, run.output().stderr)
  const [trace] = await agent.waitForTraces(1)
  assert.equal(trace?.spans[0]?.name, 'cjs.op')
  assert.equal(trace?.spans[0]?.meta['loaded.with'], 'require')
})
