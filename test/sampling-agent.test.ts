import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startAgent, type Agent, type ReceivedSpan, type ReceivedTrace } from '@datadog-apm/agent'
import { createTracer, type Tracer, type TracerOptions } from '@datadog-apm/core'

const SERVICE = 'sampling-e2e'

async function withAgent(t: { after(fn: () => Promise<void>): void }): Promise<Agent> {
  const agent = await startAgent()
  t.after(() => agent.close())
  return agent
}

function tracerFor(t: { after(fn: () => Promise<void>): void }, agent: Agent, options: TracerOptions = {}): Tracer {
  const tracer = createTracer({ service: SERVICE, env: 'test', url: agent.url, flushOnExit: false, ...options })
  t.after(() => tracer.shutdown())
  return tracer
}

/** Sends one trace whose root is named `name` and returns it as the intake received it. */
async function roundTrip(tracer: Tracer, agent: Agent, name: string, options: { service?: string } = {}): Promise<ReceivedSpan> {
  tracer.trace(name, options, () => tracer.trace('child', () => {}))
  await tracer.flush()
  const traces = await agent.waitForTraces(1, { filter: (trace) => trace.spans.some((s) => s.name === name) })
  return root(traces[traces.length - 1])
}

function root(trace: ReceivedTrace | undefined): ReceivedSpan {
  const span = trace?.spans.find((s) => s.parent_id === 0n)
  assert.ok(span, 'the trace has its root')
  return span
}

function priorityOf(trace: ReceivedTrace): number | undefined {
  const priorities = new Set(trace.spans.map((s) => s.metrics._sampling_priority_v1))
  assert.equal(priorities.size, 1, 'every span of a chunk carries the same priority')
  return [...priorities][0]
}

// Independent of the tracer's code: the Knuth keep test on the low 64 bits of the trace id.
function keptAt(rate: number, traceId: bigint): boolean {
  return BigInt.asUintN(64, traceId * 1111111111111111111n) <= BigInt(Math.floor(rate * 2 ** 64))
}

test('agent rates changed mid-run reach the next traces: priority, _dd.agent_psr and _dd.p.dm', async (t) => {
  const agent = await withAgent(t)
  const tracer = tracerFor(t, agent)

  const first = await roundTrip(tracer, agent, 'first')
  assert.equal(first.metrics._sampling_priority_v1, 1)
  assert.equal(first.meta['_dd.p.dm'], '-0', 'no answer from the agent yet: the default rate')
  assert.equal(first.metrics['_dd.agent_psr'], 1)

  const second = await roundTrip(tracer, agent, 'second')
  assert.equal(second.meta['_dd.p.dm'], '-1', "the intake's default rate (service:,env: = 1) is an agent rate")
  assert.equal(second.metrics['_dd.agent_psr'], 1)

  agent.setRates({ [`service:${SERVICE},env:test`]: 0, 'service:,env:': 1 })
  const decidedBefore = await roundTrip(tracer, agent, 'third')
  assert.equal(decidedBefore.metrics._sampling_priority_v1, 1, 'decided before the answer that carried the new rates')

  const rejected = await roundTrip(tracer, agent, 'fourth')
  assert.equal(rejected.metrics._sampling_priority_v1, 0)
  assert.equal(rejected.metrics['_dd.agent_psr'], 0)
  assert.equal(rejected.meta['_dd.p.dm'], undefined, 'no decision maker on a rejected trace')
  const fourth = (await agent.waitForTraces(1, { filter: (tr) => tr.spans.some((s) => s.name === 'fourth') }))[0]
  assert.equal(priorityOf(fourth), 0)

  const otherService = await roundTrip(tracer, agent, 'fifth', { service: 'elsewhere' })
  assert.equal(otherService.metrics._sampling_priority_v1, 1, 'another service falls back to service:,env:')
  assert.equal(otherService.meta['_dd.p.dm'], '-1')

  agent.setRates({ [`service:${SERVICE},env:test`]: 0.5 })
  await roundTrip(tracer, agent, 'sixth')
  for (let i = 0; i < 60; i++) tracer.trace('half', () => {})
  await tracer.flush()
  const halves = await agent.waitForTraces(60, { filter: (tr) => tr.spans[0]?.name === 'half' })
  let kept = 0
  for (const trace of halves) {
    const span = root(trace)
    const expected = keptAt(0.5, span.trace_id)
    assert.equal(span.metrics._sampling_priority_v1, expected ? 1 : 0, `trace ${span.trace_id}`)
    assert.equal(span.metrics['_dd.agent_psr'], 0.5)
    assert.equal(span.meta['_dd.p.dm'], expected ? '-1' : undefined)
    if (expected) kept++
  }
  assert.ok(kept > 10 && kept < 50, `${kept} of 60 kept at 0.5`)
  assert.equal(tracer.health()?.tracesDropped, 0, 'P0 traces are sent too: the agent samples')
  assert.deepEqual(agent.violations(), [])
})

test('rules win over the agent rates at the intake: USER_KEEP behind the limiter, USER_REJECT, rule and limit rates', async (t) => {
  const agent = await withAgent(t)
  agent.setRates({ [`service:${SERVICE},env:test`]: 0 })
  const tracer = tracerFor(t, agent, { samplingRules: [{ name: 'checkout', sampleRate: 1 }], sampleRate: 0, rateLimit: 3 })
  await roundTrip(tracer, agent, 'warmup')
  for (let i = 0; i < 5; i++) tracer.trace('checkout', () => {})
  tracer.trace('browse', () => {})
  await tracer.flush()
  const checkouts = (await agent.waitForTraces(5, { filter: (tr) => tr.spans[0]?.name === 'checkout' })).map(root)
  // Five decisions within a few milliseconds against 3 a second: the first three pass.
  assert.deepEqual(checkouts.map((s) => s.metrics._sampling_priority_v1), [2, 2, 2, -1, -1])
  assert.deepEqual(checkouts.map((s) => s.meta['_dd.p.dm']), ['-3', '-3', '-3', undefined, undefined])
  for (const span of checkouts) {
    assert.equal(span.metrics['_dd.rule_psr'], 1)
    assert.equal(span.metrics['_dd.agent_psr'], undefined)
  }
  assert.deepEqual(checkouts.map((s) => s.metrics['_dd.limit_psr']), [1, 1, 1, 3 / 4, 3 / 5])
  const [browse] = (await agent.waitForTraces(1, { filter: (tr) => tr.spans[0]?.name === 'browse' })).map(root)
  assert.equal(browse.metrics._sampling_priority_v1, -1)
  assert.equal(browse.metrics['_dd.rule_psr'], 0)
  assert.equal(browse.metrics['_dd.limit_psr'], undefined)
  assert.deepEqual(agent.violations(), [])
})

test('partial flush: the second chunk reaches the intake with the priority of the first, whatever the rates say by then', async (t) => {
  const agent = await withAgent(t)
  agent.setRates({ [`service:${SERVICE},env:test`]: 0 })
  const tracer = tracerFor(t, agent, { partialFlushMinSpans: 2 })
  await roundTrip(tracer, agent, 'warmup')
  agent.clear()

  const big = tracer.startSpan('big')
  for (let i = 0; i < 2; i++) tracer.startSpan(`early-${i}`, { childOf: big }).finish()
  await tracer.flush()
  agent.setRates({ [`service:${SERVICE},env:test`]: 1 })
  await roundTrip(tracer, agent, 'rates.now.one')
  assert.equal((await roundTrip(tracer, agent, 'check')).metrics._sampling_priority_v1, 1, 'the tracer has the new rate')
  tracer.startSpan('late', { childOf: big }).finish()
  big.finish()
  await tracer.flush()

  const chunks = await agent.waitForTraces(2, { filter: (tr) => tr.spans[0]?.trace_id === big.context().traceId })
  assert.equal(chunks.length, 2)
  for (const chunk of chunks) {
    assert.equal(priorityOf(chunk), 0)
    assert.equal(chunk.spans[0]?.meta['_dd.p.dm'], undefined)
  }
  const bigRoot = root(chunks[1])
  assert.equal(bigRoot.name, 'big')
  assert.equal(bigRoot.metrics['_dd.agent_psr'], 0, 'the root went out in the second chunk, with the rate applied')
  assert.deepEqual(agent.violations(), [])
})

test('manual keep beats an agent rate of 0, and single-span sampling marks spans of rejected traces', async (t) => {
  const agent = await withAgent(t)
  agent.setRates({ [`service:${SERVICE},env:test`]: 0 })
  const tracer = tracerFor(t, agent, { spanSamplingRules: [{ name: 'pg.query', maxPerSecond: 10 }] })
  await roundTrip(tracer, agent, 'warmup')

  tracer.trace('important', (span) => {
    span.keep()
    tracer.trace('pg.query', () => {})
  })
  tracer.trace('routine', () => {
    tracer.trace('pg.query', () => {})
    tracer.trace('render', () => {})
  })
  await tracer.flush()
  const [important] = await agent.waitForTraces(1, { filter: (tr) => tr.spans.some((s) => s.name === 'important') })
  assert.ok(important)
  assert.equal(priorityOf(important), 2)
  assert.equal(root(important).meta['_dd.p.dm'], '-4')
  assert.ok(important.spans.every((s) => s.metrics['_dd.span_sampling.mechanism'] === undefined))

  const [routine] = await agent.waitForTraces(1, { filter: (tr) => tr.spans.some((s) => s.name === 'routine') })
  assert.ok(routine)
  assert.equal(priorityOf(routine), 0)
  const query = routine.spans.find((s) => s.name === 'pg.query')
  assert.equal(query?.metrics['_dd.span_sampling.mechanism'], 8)
  assert.equal(query?.metrics['_dd.span_sampling.rule_rate'], 1)
  assert.equal(query?.metrics['_dd.span_sampling.max_per_second'], 10)
  assert.equal(routine.spans.find((s) => s.name === 'render')?.metrics['_dd.span_sampling.mechanism'], undefined)
  assert.deepEqual(agent.violations(), [])
})
