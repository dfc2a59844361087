import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startAgent, type Agent, type AgentOptions, type SpanJson } from '@datadog-apm/agent'
import { createTracer, type Tracer, type TracerOptions } from '@datadog-apm/core'

// Links and events of this tracer's spans, end to end into the local intake: as meta JSON by default
// (v0.4 and v0.5), in v0.4's native span_events field when asked for and the agent's /info takes them;
// and as the intake's API (which the page draws) shows them.

async function withAgent(t: { after(fn: () => Promise<void>): void }, options: AgentOptions = {}): Promise<Agent> {
  const agent = await startAgent(options)
  t.after(() => agent.close())
  return agent
}

function tracerFor(t: { after(fn: () => Promise<void>): void }, agent: Agent, options: TracerOptions = {}): Tracer {
  const tracer = createTracer({ service: 'links-e2e', url: agent.url, flushOnExit: false, ...options })
  t.after(() => tracer.shutdown())
  return tracer
}

const EVENT_TIME = 1_700_000_000_123

/** One span with two events (one from recordException), a link with attributes and one to an extracted context. */
function sendSpan(tracer: Tracer): bigint {
  const upstream = tracer.extract({ traceparent: '00-640cfd8d0000000000000000000000ab-00000000000000cd-01', tracestate: 'dd=s:2;o:rum,vendor=abc' })
  assert.ok(upstream)
  let traceId = 0n
  tracer.trace('batch.process', { measured: true }, (span) => {
    traceId = span.context().traceId
    span.addEvent('item.read', { index: 3, ok: true, names: ['a', 'b'] }, EVENT_TIME)
    span.recordException(new RangeError('out of range'))
    span.addLink({ traceId: 0x11n, traceIdHigh: '', spanId: 0x22n, samplingPriority: 1 }, { 'messaging.batch.index': 0 })
    span.addLink(upstream)
  })
  return traceId
}

async function spanJson(agent: Agent, traceId: bigint): Promise<SpanJson> {
  const body = (await (await fetch(`${agent.url}/api/traces/${traceId}`)).json()) as { trace: { spans: SpanJson[] } }
  const [span] = body.trace.spans
  assert.ok(span)
  return span
}

function checkShown(span: SpanJson): void {
  assert.deepEqual(
    span.events?.map((e) => [e.name, e.attributes]),
    [
      ['item.read', { index: 3, ok: true, names: ['a', 'b'] }],
      ['exception', { 'exception.type': 'RangeError', 'exception.message': 'out of range', 'exception.stacktrace': span.meta['error.stack'] }]
    ]
  )
  assert.equal(span.events?.[0]?.time, '1700000000123000000')
  assert.deepEqual(span.links, [
    { traceId: '00000000000000000000000000000011', traceIdLow: '17', spanId: '0000000000000022', attributes: { 'messaging.batch.index': '0' }, flags: 1 },
    { traceId: '640cfd8d0000000000000000000000ab', traceIdLow: '171', spanId: '00000000000000cd', attributes: {}, flags: 1, tracestate: 'dd=s:2;o:rum,vendor=abc' }
  ])
  assert.equal(span.metrics['_dd.measured'], 1)
  assert.equal(span.error, 1)
}

test('by default (v0.5 here) events and links go as meta JSON, and the intake shows them', async (t) => {
  const agent = await withAgent(t)
  const tracer = tracerFor(t, agent, { nativeSpanEvents: true })
  const traceId = sendSpan(tracer)
  await tracer.flush()
  const [received] = agent.spans()
  assert.ok(received)
  assert.equal(agent.payloads()[0]?.path.endsWith('/v0.5/traces') || agent.payloads().some((p) => p.path === '/v0.5/traces'), true, 'v0.5, which has no native field')
  assert.equal(received.span_events, undefined)
  assert.match(received.meta.events ?? '', /^\[\{"name":"item\.read","time_unix_nano":1700000000123000000,/)
  assert.ok(received.meta['_dd.span_links'])
  checkShown(await spanJson(agent, traceId))
  assert.deepEqual(agent.violations(), [])
})

test('v0.4 with nativeSpanEvents and an agent whose /info says span_events: the native field', async (t) => {
  const agent = await withAgent(t, { info: { endpoints: ['/v0.4/traces', '/info'], spanEvents: true } })
  const tracer = tracerFor(t, agent, { nativeSpanEvents: true })
  const traceId = sendSpan(tracer)
  await tracer.flush()
  const [received] = agent.spans()
  assert.ok(received)
  assert.equal(received.meta.events, undefined)
  assert.equal(received.span_events?.length, 2)
  assert.ok(received.meta['_dd.span_links'], 'links stay in meta, as dd-trace sends them')
  checkShown(await spanJson(agent, traceId))
  assert.deepEqual(agent.violations(), [])
})

test('v0.4 with nativeSpanEvents but an agent without span_events, or the option off: meta events', async (t) => {
  const old = await withAgent(t, { info: { endpoints: ['/v0.4/traces', '/info'], spanEvents: false } })
  sendSpan(tracerFor(t, old, { nativeSpanEvents: true, flushIntervalMs: 0 }))
  const modern = await withAgent(t, { info: { endpoints: ['/v0.4/traces', '/info'] } })
  sendSpan(tracerFor(t, modern, { flushIntervalMs: 0 }))
  for (const agent of [old, modern]) {
    const [span] = (await agent.waitForTraces(1))[0]?.spans ?? []
    assert.ok(span)
    assert.equal(span.span_events, undefined)
    assert.match(span.meta.events ?? '', /^\[\{"name":"item\.read"/)
  }
})
