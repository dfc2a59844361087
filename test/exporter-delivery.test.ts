import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'
import { test } from 'node:test'
import { startAgent, type Agent, type AgentOptions } from '@datadog-apm/agent'
import { createTracer, type Tracer, type TracerOptions } from '@datadog-apm/core'
import { until } from './support/until.js'

// The delivery rules against a real misbehaving agent on loopback (the intake's faults, or a raw TCP
// server where the intake cannot misbehave that way): how many times the agent received each payload,
// and what the tracer's counters say about it.
//
// - A payload the agent cannot have received (refused, reset before the whole body was written, 408,
//   429, 5xx) is retried with backoff inside the retry deadline.
// - A payload the agent may have received (the whole body written, then no answer) is sent at most once
//   more, and counted as maybe delivered.
// - flush() resolves by its own deadline, whatever the agent does; what is pending stays queued and shows.

type Ctx = { after(fn: () => Promise<void> | void): void }

async function withAgent(t: Ctx, options?: AgentOptions): Promise<Agent> {
  const agent = await startAgent(options)
  t.after(() => agent.close())
  return agent
}

function tracerFor(t: Ctx, url: string, options: TracerOptions = {}): Tracer {
  const tracer = createTracer({
    service: 'delivery',
    env: 'test',
    url,
    flushOnExit: false,
    flushIntervalMs: 60_000,
    requestTimeoutMs: 300,
    retryDeadlineMs: 3000,
    retryMaxDelayMs: 100,
    diagnostics: { write() {} },
    ...options
  })
  t.after(() => tracer.shutdown({ timeoutMs: 100 }))
  return tracer
}

/** How many times the agent stored each trace, by the resource of its root. */
function receipts(agent: Agent): Map<string, number> {
  const counts = new Map<string, number>()
  for (const trace of agent.traces()) {
    const resource = trace.spans[0]?.resource ?? '?'
    counts.set(resource, (counts.get(resource) ?? 0) + 1)
  }
  return counts
}

function traceMany(tracer: Tracer, prefix: string, count: number): void {
  for (let i = 0; i < count; i++) tracer.trace('op', { resource: `${prefix}-${i}` }, () => {})
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const started = Date.now()
  await fn()
  return Date.now() - started
}

test('regression: an agent that answers after the client gave up receives each payload at most twice, and flush() ends by its deadline', async (t) => {
  // Before the delivery rules, each timeout was retried like a refused connection: with these settings
  // the agent stored every payload 8 times while flush() waited for the whole 3 s retry deadline (with
  // the defaults, 6 times and 14.5 s).
  const agent = await withAgent(t)
  agent.faults.set({ kind: 'late', ms: 1000 })
  const tracer = tracerFor(t, agent.url, { flushTimeoutMs: 1500 })
  traceMany(tracer, 'late', 3)
  const elapsed = await timed(() => tracer.flush())
  assert.ok(elapsed < 1500 + 250, `flush() took ${elapsed} ms`)
  // flush() resolved once the tracer gave the payload up, so no attempt comes after these two; the intake
  // stores a payload as it reads it, and answers late.
  await until(() => agent.payloads().length >= 2, 2000, 'both attempts to be stored')
  assert.deepEqual([...receipts(agent).values()], [2, 2, 2], JSON.stringify([...receipts(agent)]))
  const h = tracer.health()!
  assert.equal(h.payloadsMaybeDelivered, 2, 'both attempts ended with the body written and no answer')
  assert.equal(h.tracesMaybeDelivered, 3)
  assert.equal(h.tracesSent, 0)
  assert.equal(h.tracesDropped, 0)
  assert.equal(h.lastError, 'ETIMEDOUT')
})

test('not sent: 503 and 429 answers are retried with backoff; the agent keeps each payload once; past the deadline the drop is counted by status', async (t) => {
  const agent = await withAgent(t)
  agent.faults.add({ kind: 'status', status: 503 }, { times: 2 })
  agent.faults.add({ kind: 'status', status: 429 }, { times: 1 })
  const tracer = tracerFor(t, agent.url)
  traceMany(tracer, 'busy', 4)
  await tracer.flush()
  assert.equal(agent.faults.applied, 3)
  assert.deepEqual([...receipts(agent).values()], [1, 1, 1, 1])
  let h = tracer.health()!
  assert.equal(h.retries, 3)
  assert.equal(h.tracesSent, 4)
  assert.equal(h.payloadsMaybeDelivered, 0)

  agent.faults.set({ kind: 'status', status: 503 })
  const short = tracerFor(t, agent.url, { retryDeadlineMs: 300 })
  traceMany(short, 'down', 2)
  await short.flush()
  h = short.health()!
  assert.ok(agent.faults.applied > 3 + 2, `${agent.faults.applied - 3} attempts`)
  assert.equal(receipts(agent).get('down-0'), undefined)
  assert.deepEqual(h.droppedByReason, { status_503: 2 })
  assert.equal(h.tracesMaybeDelivered, 0)
  assert.equal(h.lastError, 'HTTP 503: internal-error')
})

test('not sent: connections refused until the agent starts are retried; it keeps each payload once', async (t) => {
  const probe = await startAgent()
  const port = probe.port
  await probe.close()
  const tracer = tracerFor(t, `http://127.0.0.1:${port}`, { agentDiscovery: false })
  traceMany(tracer, 'refused', 3)
  const flushed = tracer.flush()
  await until(() => tracer.health()!.retries >= 2, 2000, 'two refused attempts')
  assert.match(tracer.health()!.lastError ?? '', /ECONNREFUSED/)
  const agent = await withAgent(t, { port })
  await flushed
  assert.deepEqual([...receipts(agent).values()], [1, 1, 1])
  const h = tracer.health()!
  assert.equal(h.tracesSent, 3)
  assert.equal(h.payloadsMaybeDelivered, 0)
  assert.equal(h.lastError, undefined)
})

/**
 * A raw HTTP/1.1 server: the first request's connection is reset as soon as its head has arrived, long
 * before a large body is written; later requests are read whole and answered 200. Counts both.
 */
async function resetBeforeBody(t: Ctx): Promise<{ url: string; requests: () => number; bodies: () => number }> {
  let requests = 0
  let bodies = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buffered = Buffer.alloc(0)
    let need = -1
    socket.on('data', (data: Buffer) => {
      buffered = Buffer.concat([buffered, data])
      if (need < 0) {
        const end = buffered.indexOf('\r\n\r\n')
        if (end < 0) return
        if (requests++ === 0) {
          socket.resetAndDestroy()
          return
        }
        const length = /content-length: *(\d+)/i.exec(buffered.subarray(0, end).toString('latin1'))
        need = end + 4 + Number(length?.[1] ?? 0)
      }
      if (buffered.length < need) return
      bodies++
      buffered = buffered.subarray(need)
      need = -1
      const answer = '{"rate_by_service":{}}'
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${answer.length}\r\n\r\n${answer}`)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    for (const socket of sockets) socket.destroy()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, requests: () => requests, bodies: () => bodies }
}

test('not sent: a connection reset before the whole body was written is retried; the agent gets the payload once', async (t) => {
  const agent = await resetBeforeBody(t)
  // A long request timeout: on a loaded machine the ~900 KB body may take longer than the default 300 ms
  // to write, and a timeout before its last byte would be one more (rightful) not-sent retry.
  const tracer = tracerFor(t, agent.url, { agentDiscovery: false, protocolVersion: '0.4', requestTimeoutMs: 5000 })
  // About 900 KB, one payload (under the 1 MiB threshold): written in pieces over many turns, so the
  // reset comes long before the last byte.
  for (let i = 0; i < 90; i++) tracer.trace('big', { resource: `big-${i}`, tags: { blob: 'x'.repeat(10_000) } }, () => {})
  await tracer.flush()
  const h = tracer.health()!
  assert.equal(agent.requests(), 2, 'the reset request and one more')
  assert.equal(agent.bodies(), 1, 'the whole payload arrived once')
  assert.equal(h.payloadsSent, 1)
  assert.equal(h.tracesSent, 90)
  assert.equal(h.retries, 1)
  assert.equal(h.payloadsMaybeDelivered, 0, 'the agent cannot have had it')
})

test('maybe delivered: a payload written whole and never answered is sent once more, then given up: the agent holds it twice at most', async (t) => {
  const agent = await withAgent(t)
  agent.faults.set({ kind: 'hangup' })
  const tracer = tracerFor(t, agent.url)
  traceMany(tracer, 'hangup', 3)
  await tracer.flush()
  assert.deepEqual([...receipts(agent).values()], [2, 2, 2])
  const h = tracer.health()!
  assert.equal(h.payloadsMaybeDelivered, 2)
  assert.equal(h.tracesMaybeDelivered, 3)
  assert.equal(h.spansMaybeDelivered, 3)
  assert.equal(h.retries, 1)
  assert.equal(h.tracesSent + h.tracesDropped, 0)
})

test('maybe delivered once: the one more attempt is accepted and counts as sent', async (t) => {
  const agent = await withAgent(t)
  agent.faults.set({ kind: 'late', ms: 600 }, { times: 1 })
  const tracer = tracerFor(t, agent.url)
  traceMany(tracer, 'once', 2)
  await tracer.flush()
  await until(() => agent.traces().length >= 4, 2000, 'the late copy to be stored')
  assert.deepEqual([...receipts(agent).values()], [2, 2], 'the unanswered copy and the accepted one')
  const h = tracer.health()!
  assert.equal(h.payloadsMaybeDelivered, 1)
  assert.equal(h.tracesSent, 2)
  assert.equal(h.tracesMaybeDelivered, 0)
  assert.equal(h.lastError, undefined)
})

test('maybe delivered, then an answer that refuses it: no third copy, counted as maybe delivered', async (t) => {
  const agent = await withAgent(t)
  agent.faults.add({ kind: 'hangup' }, { times: 1 })
  agent.faults.add({ kind: 'status', status: 503 })
  const tracer = tracerFor(t, agent.url)
  traceMany(tracer, 'then503', 2)
  await tracer.flush()
  assert.equal(agent.faults.applied, 2, 'two attempts reached the agent, and no more')
  assert.deepEqual([...receipts(agent).values()], [1, 1], 'the unanswered copy was kept by the agent')
  const h = tracer.health()!
  assert.equal(h.tracesMaybeDelivered, 2)
  assert.equal(h.tracesDropped, 0)
})

test('flush() resolves by its deadline whatever the agent does; what is pending stays queued, shows in health, and is accounted for at shutdown', async (t) => {
  const agent = await withAgent(t)
  agent.faults.set({ kind: 'delay', ms: 10_000 })
  const tracer = tracerFor(t, agent.url, { requestTimeoutMs: 1000, flushTimeoutMs: 300 })
  traceMany(tracer, 'hung', 2)
  const elapsed = await timed(() => tracer.flush())
  assert.ok(elapsed >= 250 && elapsed < 300 + 450, `flush() took ${elapsed} ms`)
  let h = tracer.health()!
  assert.equal(h.flushTimeouts, 1)
  assert.equal(h.inFlightRequests, 1, 'still being sent')
  assert.equal(h.tracesSent + h.tracesDropped + h.tracesMaybeDelivered, 0)

  agent.faults.set({ kind: 'status', status: 503 })
  const retrying = tracerFor(t, agent.url, { retryDeadlineMs: 60_000, flushTimeoutMs: 300 })
  traceMany(retrying, 'retrying', 2)
  const again = await timed(() => retrying.flush())
  assert.ok(again < 300 + 450, `flush() took ${again} ms`)
  h = retrying.health()!
  assert.equal(h.flushTimeouts, 1)
  assert.ok(h.retries >= 1)
  assert.equal(h.inFlightRequests, 1)

  await tracer.shutdown({ timeoutMs: 100 })
  await retrying.shutdown({ timeoutMs: 100 })
  // Shutdown stops the retries at once; the hung request ends at its 1 s timeout. It was written
  // whole: the agent may have it. The retried one was refused each time.
  await until(() => tracer.health()!.inFlightRequests + retrying.health()!.inFlightRequests === 0, 2000, 'the requests to settle')
  assert.equal(tracer.health()!.tracesMaybeDelivered, 2, JSON.stringify(tracer.health()))
  assert.deepEqual(retrying.health()!.droppedByReason, { shutdown: 2 })
})

test('client-side stats the agent may have received are not sent again: the agent adds them up', async (t) => {
  const agent = await withAgent(t)
  agent.faults.set({ kind: 'hangup' }, { paths: ['/v0.6/stats'] })
  const tracer = tracerFor(t, agent.url, { statsComputation: true })
  traceMany(tracer, 'counted', 5)
  await tracer.flush()
  const stats = tracer.health()!.stats!
  assert.equal(agent.stats().length, 1, 'stored once')
  assert.equal(stats.payloadsMaybeDelivered, 1)
  assert.equal(stats.payloadsSent, 0)
  assert.equal(agent.faults.applied, 1, 'never sent again')
})
