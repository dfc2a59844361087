import assert from 'node:assert/strict'
import { after, mock, test } from 'node:test'
import { decodeStatsPayload } from '@datadog-apm/agent'
import { Diagnostics } from '../src/base/diagnostics.js'
import type { Transport, TransportResponse } from '../src/agent-client/transport.js'
import type { AgentInfo } from '../src/export/agent-info.js'
import { StatsSender } from '../src/export/stats-sender.js'
import type { CoreSpan } from '../src/model/span.js'
import { ClientStats } from '../src/stats/client-stats.js'
import { CoreTracer, type SpanOptions } from '../src/tracer/tracer.js'
import { SpanCollector } from './support/span-collector.js'

// The sending half of client-side stats (export/stats-sender.ts): what ClientStats computed goes to
// PUT /v0.6/stats on a timer and at flush, retried when the agent cannot have it, never twice when it
// may have it.

const T0 = 1_800_000_000_000

// The sender's retry waits are unref'd, as every timer of the tracer: in an app the caller's flush
// deadline holds the process meanwhile. Here this does.
const keepAlive = setInterval(() => {}, 60_000)
after(() => clearInterval(keepAlive))

interface Sent {
  path: string
  method: string
  headers: Record<string, string>
  body: Uint8Array | undefined
}

type Step = number | 'error' | 'unanswered'

/**
 * Answers from a script: a status; 'error' for a refused connection (not sent); 'unanswered' for a
 * request written whole and never answered (maybe delivered); then 200 for ever.
 */
class ScriptedTransport implements Transport {
  readonly sent: Sent[] = []
  readonly script: Step[]
  constructor(script: Step[] = []) {
    this.script = script
  }
  send(path: string, method: 'PUT' | 'POST' | 'GET', headers: Record<string, string>, body: Uint8Array | undefined): Promise<TransportResponse> {
    this.sent.push({ path, method, headers, body })
    const next = this.script.shift() ?? 200
    if (next === 'error') return Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', stage: 'not-sent' }))
    if (next === 'unanswered') return Promise.reject(Object.assign(new Error('no answer'), { code: 'ETIMEDOUT', stage: 'maybe-delivered' }))
    return Promise.resolve({ status: next, body: '', headers: {} })
  }
  close(): Promise<void> {
    return Promise.resolve()
  }
  get stats(): Sent[] {
    return this.sent.filter((s) => s.path === '/v0.6/stats')
  }
}

const warnings: string[] = []
const diagnostics = new Diagnostics(false, { write: (line) => warnings.push(line) })

function info(overrides: Partial<AgentInfo> = {}): AgentInfo {
  return {
    version: '7',
    endpoints: ['/v0.4/traces', '/v0.6/stats'],
    clientDropP0s: true,
    spanEvents: true,
    maxRequestBytes: undefined,
    obfuscationVersion: 0,
    peerTags: [],
    state: 'x',
    ...overrides
  }
}

function clientStats(transport: Transport, clock: { now: number }): { stats: ClientStats; sender: StatsSender } {
  const stats = new ClientStats({ service: 'web', env: 'test', version: '1', runtimeId: 'rid', now: () => clock.now, diagnostics })
  const sender = new StatsSender(stats, { transport, headers: { 'datadog-meta-lang': 'nodejs' }, diagnostics, requestTimeoutMs: 1000 })
  return { stats, sender }
}

/** One finished chunk: a root from `startMs` to `endMs` with the given priority. */
function chunk(priority: number, startMs = T0 + 1000, endMs = T0 + 1005, options: SpanOptions = {}): CoreSpan[] {
  const memory = new SpanCollector()
  const tracer = new CoreTracer({ service: 'web', exporter: memory, flushOnExit: false })
  const root = tracer.startSpan('web.request', { childOf: null, startTime: startMs, ...options })
  tracer.startSpan('child', { childOf: root, startTime: startMs }).finish(endMs)
  root.trace.samplingPriority = priority
  root.finish(endMs)
  return memory.chunks()[0]
}

test('every 10 s the buckets that are done go to PUT /v0.6/stats; flush sends the partial one', async () => {
  mock.timers.enable({ apis: ['setInterval'] })
  try {
    const clock = { now: T0 + 2000 }
    const transport = new ScriptedTransport()
    const { stats, sender } = clientStats(transport, clock)
    stats.setAgent(info())
    stats.process(chunk(1, T0 + 1000, T0 + 1005))
    stats.process(chunk(0, T0 + 12_000, T0 + 12_005))
    sender.start()
    clock.now = T0 + 20_500
    mock.timers.tick(10_000)
    await sender.flush().catch(() => undefined)
    const [first, second] = transport.stats
    assert.equal(first.method, 'PUT')
    assert.equal(first.headers['datadog-meta-lang'], 'javascript', 'stats go under javascript, as dd-trace sends them')
    assert.equal(first.headers['datadog-obfuscation-version'], undefined)
    const a = decodeStatsPayload(first.body!)
    assert.deepEqual(a.stats.map((b) => b.start), [BigInt(T0) * 1_000_000n], 'the timer sent the bucket that ended a bucket ago')
    assert.equal(a.sequence, 1)
    const b = decodeStatsPayload(second.body!)
    assert.deepEqual(b.stats.map((bucket) => bucket.start), [BigInt(T0 + 10_000) * 1_000_000n], 'flush sent the open one')
    assert.equal(b.sequence, 2)
    assert.equal(b.stats[0].stats[0].hits, 1, 'the P0 trace counts in the stats')
    assert.equal(sender.health().payloadsSent, 2)
    sender.close()
  } finally {
    mock.timers.reset()
  }
})

test('obfuscated buckets go in a payload of their own with Datadog-Obfuscation-Version: 1', async () => {
  const clock = { now: T0 + 2000 }
  const transport = new ScriptedTransport()
  const { stats, sender } = clientStats(transport, clock)
  stats.process(chunk(1, T0 + 1000, T0 + 1001, { type: 'sql', resource: 'SELECT 1 FROM t WHERE a = 5' }))
  stats.setAgent(info({ obfuscationVersion: 1 }))
  stats.process(chunk(1, T0 + 1000, T0 + 1001, { type: 'sql', resource: 'SELECT 1 FROM t WHERE a = 5' }))
  await sender.flush()
  const payloads = transport.stats
  assert.equal(payloads.length, 2)
  const raw = payloads.find((p) => p.headers['datadog-obfuscation-version'] === undefined)!
  const obfuscated = payloads.find((p) => p.headers['datadog-obfuscation-version'] === '1')!
  assert.equal(decodeStatsPayload(raw.body!).stats[0].stats[0].resource, 'SELECT 1 FROM t WHERE a = 5')
  assert.equal(decodeStatsPayload(obfuscated.body!).stats[0].stats[0].resource, 'SELECT ? FROM t WHERE a = ?')
  assert.equal(sender.health().obfuscating, true)
  sender.close()
})

test('a stats payload is retried on 503 and network errors, not on 400; failures are counted and warned once', async () => {
  const clock = { now: T0 + 2000 }
  const retried = new ScriptedTransport([503, 'error', 200])
  const { stats, sender } = clientStats(retried, clock)
  stats.process(chunk(1))
  await sender.flush()
  assert.equal(retried.stats.length, 3)
  assert.equal(sender.health().payloadsSent, 1)
  assert.equal(sender.health().payloadsFailed, 0)

  const refused = new ScriptedTransport([400])
  const other = clientStats(refused, clock)
  other.stats.process(chunk(1))
  warnings.length = 0
  await other.sender.flush()
  assert.equal(refused.stats.length, 1, '400 is not retried')
  assert.equal(other.sender.health().payloadsFailed, 1)
  assert.equal(other.sender.health().lastError, 'HTTP 400')
  assert.match(warnings.join(''), /sending client-side stats to the agent failed \(HTTP 400\)/)
  sender.close()
  other.sender.close()
})


test('a stats payload the agent may have received is not sent again: a second copy would double its counts', async () => {
  const clock = { now: T0 + 2000 }
  const transport = new ScriptedTransport(['unanswered'])
  const { stats, sender } = clientStats(transport, clock)
  stats.process(chunk(1))
  warnings.length = 0
  await sender.flush()
  assert.equal(transport.stats.length, 1, 'sent once')
  const health = sender.health()
  assert.equal(health.payloadsMaybeDelivered, 1)
  assert.equal(health.payloadsSent, 0)
  assert.equal(health.payloadsFailed, 0)
  assert.equal(health.lastError, 'ETIMEDOUT')
  assert.match(warnings.join(''), /did not answer a client-side stats payload \(ETIMEDOUT\); it is not sent again/)
  sender.close()
})

test('nothing to send: flush sends nothing, and the timer is armed only while stats are on', async () => {
  const clock = { now: T0 + 2000 }
  const transport = new ScriptedTransport()
  const { stats, sender } = clientStats(transport, clock)
  await sender.flush()
  assert.equal(transport.sent.length, 0)
  stats.setAgent(undefined)
  sender.start()
  stats.process(chunk(1))
  await sender.flush()
  assert.equal(transport.sent.length, 0, 'an agent without /v0.6/stats gets none')
  sender.close()
})
