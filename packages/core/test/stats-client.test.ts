import assert from 'node:assert/strict'
import { mock, test } from 'node:test'
import { decodeStatsPayload } from '@datadog-apm/agent'
import { Diagnostics } from '../src/base/diagnostics.js'
import type { AgentInfo } from '../src/export/agent-info.js'
import type { Transport, TransportResponse } from '../src/agent-client/transport.js'
import type { CoreSpan } from '../src/model/span.js'
import { parseAgentInfo } from '../src/export/agent-info.js'
import { ClientStats, type ClientStatsOptions } from '../src/stats/client-stats.js'
import { CoreTracer, type SpanOptions } from '../src/tracer/tracer.js'
import { SpanCollector } from './support/span-collector.js'

const T0 = 1_800_000_000_000

interface Sent {
  path: string
  method: string
  headers: Record<string, string>
  body: Uint8Array | undefined
}

/** Answers from a script: a status, or 'error' for a network failure; then 200 for ever. */
class ScriptedTransport implements Transport {
  readonly sent: Sent[] = []
  readonly script: (number | 'error')[]
  info = '{}'
  constructor(script: (number | 'error')[] = []) {
    this.script = script
  }
  send(path: string, method: 'PUT' | 'POST' | 'GET', headers: Record<string, string>, body: Uint8Array | undefined): Promise<TransportResponse> {
    this.sent.push({ path, method, headers, body })
    if (path === '/info') return Promise.resolve({ status: 200, body: this.info, headers: {} })
    const next = this.script.shift() ?? 200
    if (next === 'error') return Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
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

function clientStats(transport: Transport, clock: { now: number }, options: Partial<ClientStatsOptions> = {}): ClientStats {
  const stats = new ClientStats({ service: 'web', env: 'test', version: '1', runtimeId: 'rid', now: () => clock.now, ...options })
  stats.attach(transport, { 'datadog-meta-lang': 'nodejs' }, diagnostics, 1000)
  return stats
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

test('/info fields for stats: obfuscation_version and peer_tags; anything else reads as absent', () => {
  const full = parseAgentInfo('{"obfuscation_version":1,"peer_tags":["db.instance","peer.service","db.instance",3,""]}', undefined)
  assert.equal(full?.obfuscationVersion, 1)
  assert.deepEqual(full?.peerTags, ['db.instance', 'peer.service'])
  const mistyped = parseAgentInfo('{"obfuscation_version":"1","peer_tags":"x"}', undefined)
  assert.equal(mistyped?.obfuscationVersion, 0)
  assert.deepEqual(mistyped?.peerTags, [])
  assert.equal(parseAgentInfo('[1]', undefined), undefined)
  assert.equal(parseAgentInfo('not json', undefined), undefined)
})

test('the agent decides: no /info or no /v0.6/stats turns stats off; client_drop_p0s turns dropping on', () => {
  const clock = { now: T0 + 2000 }
  const stats = clientStats(new ScriptedTransport(), clock)
  const p0 = chunk(0)
  assert.equal(stats.active, true, 'on until the agent says otherwise')
  assert.equal(stats.process(p0), p0, 'no dropping before the agent allows it')
  assert.deepEqual(stats.traceHeaders(true), { 'datadog-client-computed-stats': 'yes' })

  stats.setAgent(undefined)
  assert.equal(stats.active, false)
  assert.equal(stats.process(p0), p0)
  assert.equal(stats.traceHeaders(true), undefined)

  stats.setAgent(info({ endpoints: ['/v0.4/traces'] }))
  assert.equal(stats.active, false, 'an agent that does not list /v0.6/stats computes the stats itself')

  stats.setAgent(info({ clientDropP0s: false }))
  assert.equal(stats.active, true)
  assert.equal(stats.process(p0), p0, 'stats, but P0 traces still sent')

  stats.setAgent(info())
  assert.deepEqual(stats.process(chunk(0)), [])
  assert.deepEqual(stats.process(chunk(-1)), [])
  const kept = chunk(1)
  assert.equal(stats.process(kept), kept)
  assert.equal(stats.pendingDrops, true)
  assert.deepEqual(stats.traceHeaders(true), {
    'datadog-client-computed-stats': 'yes',
    'datadog-client-dropped-p0-traces': '2',
    'datadog-client-dropped-p0-spans': '4'
  })
  assert.deepEqual(stats.traceHeaders(false), { 'datadog-client-computed-stats': 'yes' }, 'a resend does not report the counts again')
  assert.deepEqual(stats.traceHeaders(true), { 'datadog-client-computed-stats': 'yes', 'datadog-client-dropped-p0-traces': '0', 'datadog-client-dropped-p0-spans': '0' })
  const health = stats.health()
  assert.equal(health.droppedP0Traces, 2)
  assert.equal(health.droppedP0Spans, 4)
  assert.equal(health.spansCounted, 5, 'every root processed while stats were on, the P0 ones included; children are not top-level')
  stats.close()
})

test('every 10 s the buckets that are done go to PUT /v0.6/stats; flush sends the partial one', async () => {
  mock.timers.enable({ apis: ['setInterval'] })
  try {
    const clock = { now: T0 + 2000 }
    const transport = new ScriptedTransport()
    const stats = clientStats(transport, clock)
    stats.setAgent(info())
    stats.process(chunk(1, T0 + 1000, T0 + 1005))
    stats.process(chunk(0, T0 + 12_000, T0 + 12_005))
    clock.now = T0 + 20_500
    mock.timers.tick(10_000)
    await stats.flush().catch(() => undefined)
    const [first, second] = transport.stats
    assert.equal(first.method, 'PUT')
    assert.equal(first.headers['datadog-meta-lang'], 'nodejs')
    assert.equal(first.headers['datadog-obfuscation-version'], undefined)
    const a = decodeStatsPayload(first.body!)
    assert.deepEqual(a.stats.map((b) => b.start), [BigInt(T0) * 1_000_000n], 'the timer sent the bucket that ended a bucket ago')
    assert.equal(a.sequence, 1)
    const b = decodeStatsPayload(second.body!)
    assert.deepEqual(b.stats.map((bucket) => bucket.start), [BigInt(T0 + 10_000) * 1_000_000n], 'flush sent the open one')
    assert.equal(b.sequence, 2)
    assert.equal(b.stats[0].stats[0].hits, 1, 'the P0 trace counts in the stats')
    assert.equal(stats.health().payloadsSent, 2)
    stats.close()
  } finally {
    mock.timers.reset()
  }
})

test('obfuscated buckets go in a payload of their own with Datadog-Obfuscation-Version: 1', async () => {
  const clock = { now: T0 + 2000 }
  const transport = new ScriptedTransport()
  const stats = clientStats(transport, clock)
  stats.process(chunk(1, T0 + 1000, T0 + 1001, { type: 'sql', resource: 'SELECT 1 FROM t WHERE a = 5' }))
  stats.setAgent(info({ obfuscationVersion: 1 }))
  stats.process(chunk(1, T0 + 1000, T0 + 1001, { type: 'sql', resource: 'SELECT 1 FROM t WHERE a = 5' }))
  await stats.flush()
  const payloads = transport.stats
  assert.equal(payloads.length, 2)
  const raw = payloads.find((p) => p.headers['datadog-obfuscation-version'] === undefined)!
  const obfuscated = payloads.find((p) => p.headers['datadog-obfuscation-version'] === '1')!
  assert.equal(decodeStatsPayload(raw.body!).stats[0].stats[0].resource, 'SELECT 1 FROM t WHERE a = 5')
  assert.equal(decodeStatsPayload(obfuscated.body!).stats[0].stats[0].resource, 'SELECT ? FROM t WHERE a = ?')
  assert.equal(stats.health().obfuscating, true)
  stats.close()
})

test('a stats payload is retried on 503 and network errors, not on 400; failures are counted and warned once', async () => {
  const clock = { now: T0 + 2000 }
  const retried = new ScriptedTransport([503, 'error', 200])
  const stats = clientStats(retried, clock)
  stats.process(chunk(1))
  await stats.flush()
  assert.equal(retried.stats.length, 3)
  assert.equal(stats.health().payloadsSent, 1)
  assert.equal(stats.health().payloadsFailed, 0)

  const refused = new ScriptedTransport([400])
  const other = clientStats(refused, clock)
  other.process(chunk(1))
  warnings.length = 0
  await other.flush()
  assert.equal(refused.stats.length, 1, '400 is not retried')
  assert.equal(other.health().payloadsFailed, 1)
  assert.equal(other.health().lastError, 'HTTP 400')
  assert.match(warnings.join(''), /sending client-side stats to the agent failed \(HTTP 400\)/)
  stats.close()
  other.close()
})

test('a span that breaks the stats costs its stats, never the trace or a throw', () => {
  const clock = { now: T0 + 2000 }
  const stats = clientStats(new ScriptedTransport(), clock)
  const c = chunk(1)
  Object.defineProperty(c[1].meta, 'span.kind', {
    get() {
      throw new Error('hostile')
    },
    enumerable: true
  })
  warnings.length = 0
  assert.equal(stats.process(c), c)
  assert.match(warnings.join(''), /computing client-side stats failed/)
  stats.close()
})

test('after close nothing is counted, and nothing is sent without a transport', async () => {
  const clock = { now: T0 + 2000 }
  const stats = new ClientStats({ service: 'web', runtimeId: 'r', now: () => clock.now })
  stats.process(chunk(1))
  await stats.flush()
  assert.equal(stats.health().payloadsSent, 0)
  stats.close()
  const c = chunk(0)
  assert.equal(stats.process(c), c)
  assert.equal(stats.active, false)
})
