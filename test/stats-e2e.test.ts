import assert from 'node:assert/strict'
import { hostname } from 'node:os'
import { test } from 'node:test'
import { startAgent, type Agent, type AgentOptions, type ReceivedStatsGroup } from '@datadog-apm/agent'
import { createTracer, type Tracer, type TracerOptions } from '@datadog-apm/core'

// Client-side stats and P0 dropping end to end: a real tracer, the real local intake as the agent.

const SERVICE = 'stats-e2e'

async function withAgent(t: { after(fn: () => Promise<void>): void }, options: AgentOptions = {}): Promise<Agent> {
  const agent = await startAgent(options)
  t.after(() => agent.close())
  return agent
}

function tracerFor(t: { after(fn: () => Promise<void>): void }, agent: Agent, options: TracerOptions = {}): Tracer {
  const tracer = createTracer({ service: SERVICE, env: 'test', url: agent.url, flushOnExit: false, statsComputation: true, ...options })
  t.after(() => tracer.shutdown())
  return tracer
}

interface Made {
  traceId: bigint
  priority: number
  error: boolean
  withCache: boolean
}

/**
 * `count` traces with exact durations (explicit start and end times): a root `web.request` (1–5 ms, every
 * 7th an error), a `pg.query` of another service (2 ms) and, on even traces, a `cache.get` (1 ms).
 */
function makeTraces(tracer: Tracer, count: number): Made[] {
  const base = Date.now()
  const made: Made[] = []
  for (let i = 0; i < count; i++) {
    const start = base + i
    const root = tracer.startSpan('web.request', {
      childOf: null,
      resource: `GET /r${i % 3}`,
      type: 'web',
      startTime: start,
      tags: { 'http.method': 'GET', 'http.route': `/r${i % 3}`, 'http.status_code': i % 7 === 0 ? '500' : '200', 'span.kind': 'server' }
    })
    const db = tracer.startSpan('pg.query', { childOf: root, service: 'pg', type: 'sql', resource: `SELECT * FROM t WHERE id = ${i}`, startTime: start })
    db.finish(start + 2)
    if (i % 2 === 0) tracer.startSpan('cache.get', { childOf: root, startTime: start }).finish(start + 1)
    if (i % 7 === 0) root.setTag('error', true)
    root.finish(start + (i % 5) + 1)
    const context = root.context()
    made.push({ traceId: context.traceId, priority: context.samplingPriority ?? 1, error: i % 7 === 0, withCache: i % 2 === 0 })
  }
  return made
}

/** Stats groups received, summed over payloads and buckets, by service/name/resource. */
function receivedGroups(agent: Agent): Map<string, { hits: number; errors: number; topLevelHits: number; duration: number; ok: number; err: number }> {
  const out = new Map<string, { hits: number; errors: number; topLevelHits: number; duration: number; ok: number; err: number }>()
  const groups: ReceivedStatsGroup[] = agent.stats().flatMap((p) => p.stats.flatMap((b) => b.stats))
  for (const g of groups) {
    const key = `${g.service}|${g.name}|${g.resource}`
    const sum = out.get(key) ?? { hits: 0, errors: 0, topLevelHits: 0, duration: 0, ok: 0, err: 0 }
    sum.hits += g.hits
    sum.errors += g.errors
    sum.topLevelHits += g.topLevelHits
    sum.duration += g.duration
    sum.ok += g.okSummary.count
    sum.err += g.errorSummary.count
    out.set(key, sum)
  }
  return out
}

function header(agent: Agent, name: string): number {
  return agent
    .payloads()
    .filter((p) => p.path.endsWith('/traces'))
    .reduce((n, p) => n + Number(p.headers[name] ?? 0), 0)
}

test('stats are exact over every trace, P0 ones included; P0 traces stay home, counted in the headers; errors and single-span-sampled spans go', async (t) => {
  const agent = await withAgent(t, { info: { clientDropP0s: true, extra: { obfuscation_version: 1 } } })
  const tracer = tracerFor(t, agent, { sampleRate: 0.3, rateLimit: -1, spanSamplingRules: [{ name: 'cache.get', sampleRate: 1 }] })
  const made = makeTraces(tracer, 140)
  await tracer.flush()

  // What the tracer decided, from the spans themselves.
  const kept = made.filter((m) => m.priority > 0 || m.error)
  const rejected = made.filter((m) => !(m.priority > 0 || m.error))
  assert.ok(kept.length > 20 && rejected.length > 60, `a useful mix (${kept.length} kept, ${rejected.length} rejected)`)
  assert.ok(made.some((m) => m.error && m.priority <= 0), 'some rejected traces hold an error')

  // Stats: every web.request and pg.query, whatever the sampling decision.
  const groups = receivedGroups(agent)
  for (let r = 0; r < 3; r++) {
    const ours = made.map((m, i) => ({ ...m, i })).filter(({ i }) => i % 3 === r)
    const web = groups.get(`${SERVICE}|web.request|GET /r${r}`)
    assert.deepEqual(web, {
      hits: ours.length,
      errors: ours.filter((m) => m.error).length,
      topLevelHits: ours.length,
      duration: ours.reduce((n, { i }) => n + ((i % 5) + 1) * 1e6, 0),
      ok: ours.filter((m) => !m.error).length,
      err: ours.filter((m) => m.error).length
    })
  }
  const db = groups.get('pg|pg.query|SELECT * FROM t WHERE id = ?')
  assert.deepEqual(db, { hits: 140, errors: 0, topLevelHits: 140, duration: 140 * 2e6, ok: 140, err: 0 }, 'SQL resources obfuscated for stats (obfuscation_version 1)')
  assert.equal(groups.size, 4, 'cache.get is neither top-level nor measured: no stats')
  const statsPayloads = agent.payloads().filter((p) => p.path === '/v0.6/stats')
  assert.ok(statsPayloads.length >= 1)
  for (const p of statsPayloads) assert.equal(p.headers['datadog-obfuscation-version'], '1')

  // Traces: kept chunks whole; of rejected ones only the cache.get span.
  const received = agent.traces()
  const byId = new Map<bigint, number>()
  for (const trace of received) for (const span of trace.spans) byId.set(span.trace_id, (byId.get(span.trace_id) ?? 0) + 1)
  for (const m of kept) assert.equal(byId.get(m.traceId), m.withCache ? 3 : 2, `kept trace ${m.traceId} whole`)
  for (const m of rejected) assert.equal(byId.get(m.traceId), m.withCache ? 1 : undefined, `rejected trace ${m.traceId}`)
  const queries = received.flatMap((tr) => tr.spans).filter((s) => s.name === 'pg.query')
  assert.ok(queries.length > 0)
  for (const span of queries) assert.match(span.resource, /^SELECT \* FROM t WHERE id = \d+$/, 'the spans carry the SQL as written; only the stats key is obfuscated')
  for (const span of received.flatMap((tr) => tr.spans).filter((s) => byId.get(s.trace_id) === 1)) {
    assert.equal(span.name, 'cache.get')
    assert.equal(span.metrics['_dd.span_sampling.mechanism'], 8)
  }

  // Headers: every trace payload says the stats are computed; the drop counts add up.
  const tracePayloads = agent.payloads().filter((p) => p.path.endsWith('/traces'))
  for (const p of tracePayloads) assert.equal(p.headers['datadog-client-computed-stats'], 'yes')
  assert.equal(header(agent, 'datadog-client-dropped-p0-traces'), rejected.filter((m) => !m.withCache).length)
  assert.equal(header(agent, 'datadog-client-dropped-p0-spans'), rejected.length * 2)
  const health = tracer.health()?.stats
  assert.equal(health?.droppedP0Traces, rejected.filter((m) => !m.withCache).length)
  assert.equal(health?.dropP0s, true)
  assert.equal(tracer.health()?.queuedSpans, 0, 'dropped chunks leave the queue accounting')
  assert.equal(tracer.health()?.tracesDropped, 0, 'a P0 drop is not a failure')
  assert.deepEqual(agent.violations(), [])

  // The intake's summary shows the client stats next to the span summary.
  const summary = (await (await fetch(`${agent.url}/api/summary`)).json()) as { clientStats: { rows: { name: string; hits: number }[] } }
  assert.equal(summary.clientStats.rows.filter((r) => r.name === 'web.request').reduce((n, r) => n + r.hits, 0), 140)
})

test('when every trace is rejected, an empty payload still reports the drop counts', async (t) => {
  const agent = await withAgent(t, { info: { clientDropP0s: true } })
  const tracer = tracerFor(t, agent, { sampleRate: 0, rateLimit: -1 })
  for (let i = 0; i < 5; i++) tracer.trace('job', () => {})
  await tracer.flush()
  const traces = agent.payloads().filter((p) => p.path.endsWith('/traces'))
  assert.deepEqual(traces.map((p) => [p.traceCount, p.headers['x-datadog-trace-count'], p.headers['datadog-client-dropped-p0-traces']]), [[0, '0', '5']])
  assert.equal(agent.traces().length, 0)
  assert.equal(receivedGroups(agent).get(`${SERVICE}|job|job`)?.hits, 5)
})

test('an agent without client_drop_p0s gets the stats and every trace; SQL stays raw without obfuscation_version', async (t) => {
  const agent = await withAgent(t)
  const tracer = tracerFor(t, agent, { sampleRate: 0.3, rateLimit: -1 })
  const made = makeTraces(tracer, 30)
  await tracer.flush()
  assert.equal(new Set(agent.traces().map((tr) => tr.spans[0].trace_id)).size, 30, 'P0 traces are sent')
  assert.equal(header(agent, 'datadog-client-dropped-p0-traces'), 0)
  for (const p of agent.payloads().filter((x) => x.path.endsWith('/traces'))) {
    assert.equal(p.headers['datadog-client-computed-stats'], 'yes')
    assert.equal(p.headers['datadog-client-dropped-p0-traces'], undefined)
  }
  const groups = receivedGroups(agent)
  assert.equal(groups.get('pg|pg.query|SELECT * FROM t WHERE id = 7')?.hits, 1, 'the agent obfuscates stats resources itself')
  assert.equal([...groups.values()].filter((g) => g.topLevelHits > 0).reduce((n, g) => n + g.hits, 0), made.length * 2)
  for (const p of agent.payloads().filter((x) => x.path === '/v0.6/stats')) assert.equal(p.headers['datadog-obfuscation-version'], undefined)
})

test('stats off (the default), or an agent without /info: no stats, no header, P0 traces sent', async (t) => {
  const on = await withAgent(t, { info: { clientDropP0s: true } })
  const off = tracerFor(t, on, { statsComputation: undefined, sampleRate: 0, rateLimit: -1 })
  for (let i = 0; i < 4; i++) off.trace('job', () => {})
  await off.flush()
  assert.equal(on.traces().length, 4)
  assert.deepEqual(on.stats(), [])
  assert.ok(on.payloads().every((p) => p.headers['datadog-client-computed-stats'] === undefined))
  assert.equal(off.health()?.stats, undefined)

  const old = await withAgent(t, { info: { enabled: false } })
  const tracer = tracerFor(t, old, { sampleRate: 0, rateLimit: -1 })
  for (let i = 0; i < 4; i++) tracer.trace('job', () => {})
  await tracer.flush()
  assert.equal(old.traces().length, 4)
  assert.deepEqual(old.stats(), [])
  assert.ok(old.payloads().every((p) => p.headers['datadog-client-computed-stats'] === undefined))
  assert.equal(tracer.health()?.stats?.active, false)
})

test('shutdown sends the last, partial bucket', async (t) => {
  const agent = await withAgent(t, { info: { clientDropP0s: true } })
  const tracer = createTracer({ service: SERVICE, url: agent.url, flushOnExit: false, statsComputation: true })
  tracer.trace('last', () => {})
  await tracer.shutdown()
  assert.equal(receivedGroups(agent).get(`${SERVICE}|last|last`)?.hits, 1)
})

test('DD_TRACE_STATS_COMPUTATION_ENABLED turns stats on', async (t) => {
  const agent = await withAgent(t, { info: { clientDropP0s: true } })
  const previous = process.env.DD_TRACE_STATS_COMPUTATION_ENABLED
  process.env.DD_TRACE_STATS_COMPUTATION_ENABLED = 'true'
  let tracer: Tracer
  try {
    tracer = createTracer({ service: SERVICE, url: agent.url, flushOnExit: false })
  } finally {
    if (previous === undefined) delete process.env.DD_TRACE_STATS_COMPUTATION_ENABLED
    else process.env.DD_TRACE_STATS_COMPUTATION_ENABLED = previous
  }
  assert.equal(tracer.config.statsComputation, true)
  tracer.trace('env', () => {})
  await tracer.shutdown()
  assert.equal(receivedGroups(agent).get(`${SERVICE}|env|env`)?.hits, 1)
})

test('stats payloads name the host and the language as dd-trace does: os.hostname() and javascript', async (t) => {
  const agent = await withAgent(t, { info: { clientDropP0s: true } })
  const tracer = createTracer({ service: SERVICE, url: agent.url, flushOnExit: false, statsComputation: true })
  tracer.trace('named', () => {})
  await tracer.shutdown()
  const [payload] = agent.stats()
  assert.ok(payload)
  assert.equal(payload.hostname, hostname())
  assert.equal(payload.lang, 'javascript')
  const [request] = agent.payloads().filter((p) => p.path === '/v0.6/stats')
  assert.equal(request?.headers['datadog-meta-lang'], 'javascript')
  assert.equal(agent.payloads().find((p) => p.path.endsWith('/traces'))?.headers['datadog-meta-lang'], 'nodejs', 'trace payloads keep nodejs, as dd-trace sends')
})
