import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { TracerOptions } from '../src/tracer/options.js'
import { SpanSampler } from '../src/sampling/span-sampler.js'
import type { CoreSpan } from '../src/model/span.js'
import { CoreTracer } from '../src/tracer/tracer.js'
import { InMemoryExporter } from '../src/testing.js'

function setup(options: TracerOptions) {
  const exporter = new InMemoryExporter()
  const tracer = new CoreTracer({ service: 'svc', exporter, flushOnExit: false, ...options })
  return { tracer, exporter }
}

function spanSampling(span: CoreSpan): Record<string, number> {
  const out: Record<string, number> = {}
  for (const key of Object.keys(span.metrics)) if (key.startsWith('_dd.span_sampling.')) out[key] = span.metrics[key]
  return out
}

function traceOf(tracer: CoreTracer, names: Array<[name: string, service?: string]>): CoreSpan[] {
  const root = tracer.startSpan('web.request')
  const spans = names.map(([name, service]) => tracer.startSpan(name, { childOf: root, service }))
  for (const span of spans) span.finish()
  root.finish()
  return [root, ...spans]
}

test('in a rejected trace, spans matching a rule get mechanism 8, the rule rate and its max per second', () => {
  const { tracer } = setup({
    samplingRules: [{ sampleRate: 0 }],
    spanSamplingRules: [
      { service: 'db', name: 'pg.*', sampleRate: 1, maxPerSecond: 50 },
      { name: 'cache.get', sampleRate: 1 }
    ]
  })
  const [root, query, get, other] = traceOf(tracer, [['pg.query', 'db'], ['cache.get'], ['render']])
  assert.equal(root.trace.samplingPriority, -1)
  assert.deepEqual(spanSampling(query), {
    '_dd.span_sampling.mechanism': 8,
    '_dd.span_sampling.rule_rate': 1,
    '_dd.span_sampling.max_per_second': 50
  })
  assert.deepEqual(spanSampling(get), { '_dd.span_sampling.mechanism': 8, '_dd.span_sampling.rule_rate': 1 })
  assert.deepEqual(spanSampling(other), {})
  assert.deepEqual(spanSampling(root), {})
})

test('a kept trace gets no span sampling metrics', () => {
  const { tracer } = setup({ spanSamplingRules: [{ name: '*' }] })
  for (const span of traceOf(tracer, [['pg.query', 'db']])) assert.deepEqual(spanSampling(span), {})
  const rejectedByAgentRate = setup({ spanSamplingRules: [{ name: '*' }] })
  const root = rejectedByAgentRate.tracer.startSpan('op', { tags: { 'sampling.priority': 0 } })
  root.finish()
  assert.equal(root.trace.samplingPriority, 0)
  assert.equal(spanSampling(root)['_dd.span_sampling.mechanism'], 8, 'AUTO_REJECT counts as rejected too')
})

test('the first span rule that matches decides, even when its rate then rejects the span', () => {
  const { tracer } = setup({ sampleRate: 0, spanSamplingRules: [{ name: 'pg.query', sampleRate: 0 }, { sampleRate: 1 }] })
  const [root, query] = traceOf(tracer, [['pg.query']])
  assert.deepEqual(spanSampling(query), {})
  assert.equal(spanSampling(root)['_dd.span_sampling.mechanism'], 8)
})

test('max_per_second caps the spans a rule keeps: the last one accepted, the first refused', () => {
  const { tracer } = setup({ sampleRate: 0, spanSamplingRules: [{ name: 'hot', maxPerSecond: 3 }] })
  const spans = traceOf(tracer, [['hot'], ['hot'], ['hot'], ['hot'], ['hot']]).slice(1)
  assert.deepEqual(
    spans.map((s) => spanSampling(s)['_dd.span_sampling.mechanism']),
    [8, 8, 8, undefined, undefined]
  )
})

test('the span rate is a keep test on the span id: deterministic, about the rate over many spans', () => {
  const sampler = new SpanSampler([{ sampleRate: 0.3 }])
  const { tracer } = setup({ sampleRate: 0 })
  const spans: CoreSpan[] = []
  const root = tracer.startSpan('root')
  for (let i = 0; i < 5000; i++) spans.push(tracer.startSpan('child', { childOf: root }))
  sampler.sampleChunk(spans)
  const kept = spans.filter((s) => s.metrics['_dd.span_sampling.mechanism'] === 8)
  assert.ok(Math.abs(kept.length / spans.length - 0.3) < 0.04, `${kept.length} kept`)
  for (const span of kept) {
    // Independent of the code under test: the Knuth keep test on the span id.
    assert.ok(BigInt.asUintN(64, span.spanId * 1111111111111111111n) <= BigInt(Math.floor(0.3 * 2 ** 64)))
  }
  assert.equal(new SpanSampler([]).empty, true)
})

test('span rules from DD_SPAN_SAMPLING_RULES reach the tracer', () => {
  const saved = process.env.DD_SPAN_SAMPLING_RULES
  process.env.DD_SPAN_SAMPLING_RULES = '[{"service":"d?","name":"pg.*","sample_rate":1,"max_per_second":7}]'
  try {
    const { tracer } = setup({ sampleRate: 0 })
    const [, query, skipped] = traceOf(tracer, [['pg.query', 'db'], ['pg.query', 'mysql']])
    assert.equal(query.metrics['_dd.span_sampling.max_per_second'], 7)
    assert.deepEqual(spanSampling(skipped), {})
  } finally {
    if (saved === undefined) delete process.env.DD_SPAN_SAMPLING_RULES
    else process.env.DD_SPAN_SAMPLING_RULES = saved
  }
})
