import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeStatsPayload } from '@datadog-apm/agent'
import { Diagnostics } from '../src/base/diagnostics.js'
import type { AgentInfo } from '../src/export/agent-info.js'
import type { CoreSpan } from '../src/model/span.js'
import { parseAgentInfo } from '../src/export/agent-info.js'
import { ClientStats, type ClientStatsOptions } from '../src/stats/client-stats.js'
import { CoreTracer, type SpanOptions } from '../src/tracer/tracer.js'
import { SpanCollector } from './support/span-collector.js'

const T0 = 1_800_000_000_000

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

function clientStats(clock: { now: number }, options: Partial<ClientStatsOptions> = {}): ClientStats {
  return new ClientStats({ service: 'web', env: 'test', version: '1', runtimeId: 'rid', now: () => clock.now, diagnostics, ...options })
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
  const stats = clientStats(clock)
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

test('a span that breaks the stats costs its stats, never the trace or a throw', () => {
  const clock = { now: T0 + 2000 }
  const stats = clientStats(clock)
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

test('the finished buckets come out as payloads once; after close nothing is counted', () => {
  const clock = { now: T0 + 2000 }
  const stats = new ClientStats({ service: 'web', runtimeId: 'r', now: () => clock.now })
  stats.process(chunk(1))
  assert.deepEqual(stats.takePayloads(false), [], 'the current bucket is held back for late spans')
  const [payload, ...rest] = stats.takePayloads(true)
  assert.deepEqual(rest, [])
  assert.equal(payload.obfuscationVersion, undefined)
  assert.equal(decodeStatsPayload(payload.body).stats[0].stats[0].hits, 1)
  assert.deepEqual(stats.takePayloads(true), [], 'taken once')
  stats.close()
  const c = chunk(0)
  assert.equal(stats.process(c), c)
  assert.equal(stats.active, false)
})
