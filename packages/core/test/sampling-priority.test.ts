import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { TracerOptions } from '../src/tracer/options.js'
import { PrioritySampler, type PrioritySamplerOptions } from '../src/sampling/priority-sampler.js'
import type { CoreSpan } from '../src/model/span.js'
import { CoreTracer } from '../src/tracer/tracer.js'
import { SpanCollector } from './support/span-collector.js'

// Trace ids with known hashes ((id × 1111111111111111111) mod 2^64, as a share of 2^64; see
// sampling-keep-test.test.ts): id 1 → 0.0602, id 2^63 → 0.5 exactly, id 2^64−1 → 0.9398.
const LOW = 1n
const HALF = 2n ** 63n
const HIGH = 2n ** 64n - 1n

function setup(options: TracerOptions = {}) {
  const exporter = new SpanCollector()
  const lines: string[] = []
  const tracer = new CoreTracer({ service: 'svc', env: 'prod', exporter, flushOnExit: false, diagnostics: { write: (l) => lines.push(l) }, ...options })
  return { tracer, exporter, lines }
}

/** A local root in a trace of the given id, with no decision yet (a remote parent that sent none). */
function rootOf(tracer: CoreTracer, traceId: bigint, name = 'web.request', options: { service?: string; resource?: string; tags?: Record<string, unknown> } = {}): CoreSpan {
  return tracer.startSpan(name, { childOf: { traceId, traceIdHigh: '', spanId: 99n }, ...options })
}

function decide(sampler: PrioritySampler, span: CoreSpan): { priority: number | undefined; dm: string | undefined; metrics: Record<string, number> } {
  sampler.decide(span.trace, span)
  return { priority: span.trace.samplingPriority, dm: span.trace.decisionMaker, metrics: span.metrics }
}

function samplerWith(options: PrioritySamplerOptions): PrioritySampler {
  return new PrioritySampler({ env: 'prod', ...options })
}

test('no rules and no agent rates yet: AUTO_KEEP by the default rate, mechanism 0, _dd.agent_psr 1', () => {
  const { tracer, exporter } = setup()
  tracer.startSpan('op').finish()
  const [root] = exporter.spans()
  assert.equal(root.trace.samplingPriority, 1)
  assert.equal(root.trace.decisionMaker, '-0')
  assert.equal(root.metrics['_dd.agent_psr'], 1)
  assert.equal(root.metrics['_dd.rule_psr'], undefined)
})

test('agent rates: service:<svc>,env:<env> first, then service:,env:, mechanism 1; AUTO_REJECT drops _dd.p.dm', () => {
  const { tracer } = setup()
  const sampler = samplerWith({})
  sampler.updateRates({ 'service:svc,env:prod': 0, 'service:other,env:staging': 1, 'service:,env:': 0.5 })
  assert.deepEqual(decide(sampler, rootOf(tracer, LOW)), { priority: 0, dm: undefined, metrics: { '_dd.agent_psr': 0 } })
  // `other` has a rate for another env only: the default key applies (0.5); id 2^63 sits exactly on it.
  assert.deepEqual(decide(sampler, rootOf(tracer, HALF, 'op', { service: 'other' })), { priority: 1, dm: '-1', metrics: { '_dd.agent_psr': 0.5 } })
  assert.deepEqual(decide(sampler, rootOf(tracer, HIGH, 'op', { service: 'other' })), { priority: 0, dm: undefined, metrics: { '_dd.agent_psr': 0.5 } })
  assert.equal(sampler.agentRate('svc'), 0)
  assert.equal(sampler.agentRate('nobody'), 0.5)
})

test('agent rates without a default key: an unknown service is kept at the default rate, mechanism 0', () => {
  const { tracer } = setup()
  const sampler = samplerWith({})
  sampler.updateRates({ 'service:svc,env:prod': 0.5 })
  assert.deepEqual(decide(sampler, rootOf(tracer, HIGH, 'op', { service: 'unknown' })), { priority: 1, dm: '-0', metrics: { '_dd.agent_psr': 1 } })
  assert.deepEqual(decide(sampler, rootOf(tracer, LOW)), { priority: 1, dm: '-1', metrics: { '_dd.agent_psr': 0.5 } })
  assert.deepEqual(decide(sampler, rootOf(tracer, HIGH)), { priority: 0, dm: undefined, metrics: { '_dd.agent_psr': 0.5 } })
})

test('new agent rates replace the old ones for the next decisions (the per-service cache starts over)', () => {
  const { tracer } = setup()
  const sampler = samplerWith({})
  sampler.updateRates({ 'service:svc,env:prod': 0 })
  assert.equal(decide(sampler, rootOf(tracer, LOW)).priority, 0)
  sampler.updateRates({ 'service:svc,env:prod': 1 })
  assert.deepEqual(decide(sampler, rootOf(tracer, LOW)), { priority: 1, dm: '-1', metrics: { '_dd.agent_psr': 1 } })
  sampler.updateRates({})
  assert.deepEqual(decide(sampler, rootOf(tracer, LOW)), { priority: 1, dm: '-0', metrics: { '_dd.agent_psr': 1 } })
})

test('the env of the agent key is the configured env, empty when none', () => {
  const { tracer } = setup({ env: undefined })
  const sampler = new PrioritySampler({})
  sampler.updateRates({ 'service:svc,env:': 0, 'service:svc,env:prod': 1 })
  assert.equal(decide(sampler, rootOf(tracer, LOW)).priority, 0)
})

test('rules win over agent rates: USER_KEEP / USER_REJECT, mechanism 3, _dd.rule_psr and _dd.limit_psr', () => {
  const { tracer } = setup()
  const sampler = samplerWith({ rules: [{ name: 'web.*', sampleRate: 0.5 }] })
  sampler.updateRates({ 'service:svc,env:prod': 0 })
  assert.deepEqual(decide(sampler, rootOf(tracer, HALF)), { priority: 2, dm: '-3', metrics: { '_dd.rule_psr': 0.5, '_dd.limit_psr': 1 } })
  // Rejected by the rule's rate: no limiter involved, no _dd.limit_psr.
  assert.deepEqual(decide(sampler, rootOf(tracer, HIGH)), { priority: -1, dm: undefined, metrics: { '_dd.rule_psr': 0.5 } })
  // Not matching the rule: the agent's rate.
  assert.deepEqual(decide(sampler, rootOf(tracer, LOW, 'db.query')), { priority: 0, dm: undefined, metrics: { '_dd.agent_psr': 0 } })
})

test('rule precedence: the first rule that matches decides, even when a later one is more specific', () => {
  const { tracer } = setup()
  const sampler = samplerWith({
    rules: [
      { service: 'svc', sampleRate: 1 },
      { service: 'svc', name: 'web.request', resource: 'GET /health', sampleRate: 0 }
    ],
    sampleRate: 0
  })
  assert.equal(decide(sampler, rootOf(tracer, LOW, 'web.request', { resource: 'GET /health' })).priority, 2)
  const reversed = samplerWith({
    rules: [
      { service: 'svc', name: 'web.request', resource: 'GET /health', sampleRate: 0 },
      { service: 'svc', sampleRate: 1 }
    ]
  })
  assert.equal(decide(reversed, rootOf(tracer, LOW, 'web.request', { resource: 'GET /health' })).priority, -1)
  assert.equal(decide(reversed, rootOf(tracer, LOW, 'web.request', { resource: 'GET /users' })).priority, 2)
})

test('the sample rate is a catch-all rule after the rules, before the agent rates', () => {
  const { tracer } = setup()
  const sampler = samplerWith({ rules: [{ service: 'special', sampleRate: 1 }], sampleRate: 0 })
  sampler.updateRates({ 'service:,env:': 1 })
  assert.deepEqual(decide(sampler, rootOf(tracer, LOW)), { priority: -1, dm: undefined, metrics: { '_dd.rule_psr': 0 } })
  assert.equal(decide(sampler, rootOf(tracer, LOW, 'op', { service: 'special' })).priority, 2)
})

test('rules on tags: the root span meta, its metrics, then the tracer global tags; a missing tag does not match', () => {
  const { tracer } = setup()
  const sampler = samplerWith({
    rules: [
      { tags: { 'http.status_code': '5??' }, sampleRate: 1 },
      { tags: { 'user.tier': 'gold', retries: '3' }, sampleRate: 1 },
      { tags: { env: 'prod', region: 'eu-*' }, sampleRate: 1 }
    ],
    sampleRate: 0,
    globalTags: { env: 'prod', region: 'eu-west-1' }
  })
  assert.equal(decide(sampler, rootOf(tracer, LOW, 'op', { tags: { 'http.status_code': '503' } })).priority, 2)
  assert.equal(decide(sampler, rootOf(tracer, LOW, 'op', { tags: { 'user.tier': 'GOLD', retries: 3 } })).priority, 2)
  assert.equal(decide(sampler, rootOf(tracer, LOW, 'op', { tags: { 'user.tier': 'gold', retries: 3.5 } })).priority, 2, 'global tags')
  const noGlobals = samplerWith({ rules: [{ tags: { region: 'eu-*' }, sampleRate: 1 }], sampleRate: 0 })
  assert.equal(decide(noGlobals, rootOf(tracer, LOW, 'op')).priority, -1)
  assert.equal(decide(noGlobals, rootOf(tracer, LOW, 'op', { tags: { region: 'us-east-1' } })).priority, -1)
  // A tag named after an Object.prototype member is not found on a span that lacks it.
  const proto = samplerWith({ rules: [{ tags: { constructor: '*Function*' }, sampleRate: 1 }], sampleRate: 0 })
  assert.equal(decide(proto, rootOf(tracer, LOW, 'op')).priority, -1)
})

test('a resource left empty matches as the operation name, as the encoder writes it', () => {
  const { tracer } = setup()
  const sampler = samplerWith({ rules: [{ resource: 'op.name', sampleRate: 0 }] })
  const root = rootOf(tracer, LOW, 'op.name', { resource: '' })
  assert.equal(decide(sampler, root).priority, -1)
})

test('the rate limiter caps traces kept by rules; its effective rate goes in _dd.limit_psr', () => {
  const { tracer } = setup()
  let now = 0
  const sampler = samplerWith({ sampleRate: 1, rateLimit: 2, now: () => now })
  assert.deepEqual(decide(sampler, rootOf(tracer, LOW)), { priority: 2, dm: '-3', metrics: { '_dd.rule_psr': 1, '_dd.limit_psr': 1 } })
  assert.equal(decide(sampler, rootOf(tracer, LOW)).priority, 2, 'the last one accepted')
  assert.deepEqual(decide(sampler, rootOf(tracer, LOW)), { priority: -1, dm: undefined, metrics: { '_dd.rule_psr': 1, '_dd.limit_psr': 2 / 3 } })
  now += 500
  assert.equal(decide(sampler, rootOf(tracer, LOW)).priority, 2, 'a token is back after half a second')
  // Agent-rate decisions never meet the limiter.
  const agentOnly = samplerWith({ rateLimit: 0 })
  for (let i = 0; i < 5; i++) assert.equal(decide(agentOnly, rootOf(tracer, LOW)).priority, 1)
})

test('rate limit 0 rejects every trace a rule keeps; below 0 keeps them all', () => {
  const { tracer } = setup()
  const none = samplerWith({ sampleRate: 1, rateLimit: 0 })
  assert.deepEqual(decide(none, rootOf(tracer, LOW)), { priority: -1, dm: undefined, metrics: { '_dd.rule_psr': 1, '_dd.limit_psr': 0 } })
  const all = samplerWith({ sampleRate: 1, rateLimit: -1 })
  for (let i = 0; i < 500; i++) assert.equal(decide(all, rootOf(tracer, LOW)).priority, 2)
})

test('a rule max_per_second limits that rule before the global limiter', () => {
  const { tracer } = setup()
  const now = 0
  const sampler = samplerWith({ rules: [{ name: 'noisy', sampleRate: 1, maxPerSecond: 1 }], sampleRate: 1, rateLimit: 100, now: () => now })
  assert.equal(decide(sampler, rootOf(tracer, LOW, 'noisy')).priority, 2)
  assert.deepEqual(decide(sampler, rootOf(tracer, LOW, 'noisy')), { priority: -1, dm: undefined, metrics: { '_dd.rule_psr': 1 } })
  assert.equal(decide(sampler, rootOf(tracer, LOW, 'quiet')).priority, 2)
})

test('rules match the local root (the first span started here), not the span that finished last', () => {
  const { tracer, exporter } = setup({ samplingRules: [{ name: 'web.request', sampleRate: 0 }] })
  const root = tracer.startSpan('web.request')
  const child = tracer.startSpan('background', { childOf: root })
  root.finish()
  child.finish()
  assert.deepEqual(exporter.chunks()[0].map((s) => s.name), ['web.request', 'background'])
  assert.equal(child.trace.samplingPriority, -1)
  assert.equal(root.metrics['_dd.rule_psr'], 0)
  assert.equal(child.metrics['_dd.rule_psr'], undefined)
})

test('manual keep and drop win over rules and agent rates (mechanism 4), and carry no rate metrics', () => {
  const { tracer, exporter } = setup({ samplingRules: [{ sampleRate: 0 }] })
  const kept = tracer.startSpan('op')
  kept.keep()
  kept.finish()
  const byTag = tracer.startSpan('op', { tags: { 'manual.keep': true } })
  byTag.finish()
  const dropped = setup({ sampleRate: 1 })
  const d = dropped.tracer.startSpan('op')
  d.setTag('manual.drop', true)
  d.finish()
  const prio = dropped.tracer.startSpan('op')
  prio.setTag('sampling.priority', 0)
  prio.finish()
  for (const span of exporter.spans()) {
    assert.equal(span.trace.samplingPriority, 2)
    assert.equal(span.trace.decisionMaker, '-4')
    assert.deepEqual(span.metrics, {})
  }
  assert.equal(d.trace.samplingPriority, -1)
  assert.equal(d.trace.decisionMaker, undefined)
  assert.equal(prio.trace.samplingPriority, 0)
})

test('an upstream decision is kept for a continued trace: not overridden by rules, its _dd.p.dm kept', () => {
  const { tracer, exporter } = setup({ samplingRules: [{ sampleRate: 1 }] })
  const span = tracer.startSpan('server', { childOf: { traceId: LOW, traceIdHigh: '', spanId: 7n, samplingPriority: 0 } })
  span.finish()
  const kept = tracer.startSpan('server', { childOf: { traceId: LOW, traceIdHigh: '', spanId: 7n, samplingPriority: 1, traceTags: { '_dd.p.dm': '-1' } } })
  kept.finish()
  const [a, b] = exporter.spans()
  assert.equal(a.trace.samplingPriority, 0)
  assert.equal(b.trace.samplingPriority, 1)
  assert.equal(b.trace.decisionMaker, '-1')
  assert.deepEqual(a.metrics, {})
  // Upstream sent a decision maker but no priority: decided here, the upstream `_dd.p.dm` kept as dd-trace does.
  const undecided = tracer.startSpan('server', { childOf: { traceId: LOW, traceIdHigh: '', spanId: 7n, traceTags: { '_dd.p.dm': '-4' } } })
  undecided.finish()
  assert.equal(undecided.trace.samplingPriority, 2)
  assert.equal(undecided.trace.decisionMaker, '-4')
})

test('partial flush: every chunk carries the priority decided when the first one left', () => {
  // The spans share the trace state, so what each chunk carried is recorded when it is handed over.
  const seen: Array<number | undefined> = []
  const exporter = { export: (chunk: CoreSpan[]) => void seen.push(chunk[0].trace.samplingPriority), flush: () => Promise.resolve(), shutdown: () => Promise.resolve() }
  const tracer = new CoreTracer({ service: 'svc', exporter, flushOnExit: false, partialFlushMinSpans: 2, samplingRules: [{ name: 'root', sampleRate: 0 }] })
  const root = tracer.startSpan('root')
  for (let i = 0; i < 5; i++) tracer.startSpan(`child-${i}`, { childOf: root }).finish()
  assert.equal(root.trace.samplingPriority, -1, 'decided with the first chunk, against the still-open root')
  root.finish()
  assert.deepEqual(seen, [-1, -1, -1])
  assert.equal(root.metrics['_dd.rule_psr'], 0, 'the root, in the last chunk, carries the rate')
})

test('once locked (propagated), the decision never changes: not by keep, drop, tags, nor a new decision', () => {
  const { tracer, exporter } = setup({ sampleRate: 0 })
  const root = tracer.startSpan('root')
  const client = tracer.startSpan('http.request', { childOf: root })
  // What the propagation engineer's inject does: decide on the span at hand, then lock.
  tracer.decideSampling(client.trace, client)
  client.trace.samplingLocked = true
  assert.equal(root.trace.samplingPriority, -1)
  assert.equal(root.metrics['_dd.rule_psr'], 0, 'the local root carries the rate, not the client span')
  root.keep()
  client.setTag('manual.keep', true)
  client.setTag('sampling.priority', 2)
  tracer.decideSampling(root.trace, root)
  client.finish()
  root.finish()
  for (const span of exporter.spans()) {
    assert.equal(span.trace.samplingPriority, -1)
    assert.equal(span.trace.decisionMaker, undefined)
  }
})

test('a rule whose matcher throws: the trace is kept, one warning, the app sees nothing', () => {
  class Hostile extends RegExp {
    override test(): boolean {
      throw new Error('hostile matcher')
    }
  }
  const { tracer, exporter, lines } = setup({ samplingRules: [{ resource: new Hostile('x'), sampleRate: 0 }] })
  tracer.startSpan('a').finish()
  tracer.startSpan('b').finish()
  assert.deepEqual(exporter.spans().map((s) => s.trace.samplingPriority), [1, 1])
  assert.equal(lines.length, 1)
  assert.match(lines[0], /a sampling decision failed; the trace is kept/)
})
