import assert from 'node:assert/strict'
import { test } from 'node:test'
import { keptOfP0 } from '../src/stats/p0-drop.js'
import { CoreTracer } from '../src/tracer/tracer.js'
import { SpanCollector } from './support/span-collector.js'
import type { CoreSpan } from '../src/model/span.js'

function chunk(priority: number | undefined, decorate: (spans: CoreSpan[]) => void = () => {}): CoreSpan[] {
  const memory = new SpanCollector()
  const tracer = new CoreTracer({ service: 'svc', exporter: memory, flushOnExit: false })
  const root = tracer.startSpan('root', { childOf: null })
  const child = tracer.startSpan('child', { childOf: root })
  const spans = [child, root]
  decorate(spans)
  child.finish()
  // The sampler decides when the chunk leaves; a test sets the outcome first.
  root.trace.samplingPriority = priority
  root.finish()
  return memory.chunks()[0]
}

test('kept and undecided chunks go whole', () => {
  for (const priority of [1, 2, undefined]) {
    const c = chunk(priority)
    if (priority === undefined) c[0].trace.samplingPriority = undefined
    assert.equal(keptOfP0(c), c)
  }
})

test('rejected chunks (0 and -1) are dropped whole', () => {
  assert.deepEqual(keptOfP0(chunk(0)), [])
  assert.deepEqual(keptOfP0(chunk(-1)), [])
})

test('a rejected chunk with an error span goes whole', () => {
  const c = chunk(0, ([child]) => child.setTag('error', true))
  assert.equal(keptOfP0(c), c)
})

test('of a rejected chunk, single-span-sampled and analyzed spans go', () => {
  const sampled = chunk(-1, ([child]) => child.setTag('_dd.span_sampling.mechanism', 8))
  assert.deepEqual(keptOfP0(sampled).map((s) => s.name), ['child'])
  const analyzed = chunk(0, ([, root]) => root.setTag('_dd1.sr.eausr', 1))
  assert.deepEqual(keptOfP0(analyzed).map((s) => s.name), ['root'])
  const otherMechanism = chunk(0, ([child]) => child.setTag('_dd.span_sampling.mechanism', 3))
  assert.deepEqual(keptOfP0(otherMechanism), [])
})

test('an empty chunk stays empty', () => {
  assert.deepEqual(keptOfP0([]), [])
})
