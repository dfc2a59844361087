import assert from 'node:assert/strict'
import { test } from 'node:test'
import { activeSpan, attachFrame, ContextFrame, contextStore, runInFrame, runSuppressed } from '../src/model/context.js'
import { CoreTracer } from '../src/tracer/tracer.js'
import { SpanCollector } from './support/span-collector.js'

function setup(): { tracer: CoreTracer; exporter: SpanCollector } {
  const exporter = new SpanCollector()
  return { tracer: new CoreTracer({ service: 'svc', exporter, flushOnExit: false }), exporter }
}

test('without a frame the store is the active span itself', () => {
  const { tracer } = setup()
  tracer.trace('root', (root) => {
    assert.equal(contextStore(), root)
    assert.equal(activeSpan(), root)
  })
  assert.equal(contextStore(), undefined)
})

test('a frame gives its span as the active span and parent; a span entered inside keeps the frame\'s context', () => {
  const { tracer } = setup()
  const outer = tracer.startSpan('outer')
  const carried = { name: 'otel context' }
  runInFrame(new ContextFrame(outer, undefined, carried), () => {
    assert.equal(activeSpan(), outer)
    tracer.trace('inner', (inner) => {
      assert.equal(inner.name, 'inner')
      assert.equal((inner as typeof outer).parentId, outer.spanId)
      const store = contextStore()
      assert.ok(store instanceof ContextFrame)
      assert.equal(store.span, inner)
      assert.equal(store.carried, carried, 'the context\'s other values stay')
      tracer.withSpan(outer, () => assert.equal(activeSpan(), outer))
    })
  })
  outer.finish()
})

test('a frame with a remote parent: new spans continue it; with neither, they start a trace', () => {
  const { tracer } = setup()
  runInFrame(new ContextFrame(undefined, { traceId: 42n, traceIdHigh: '', spanId: 7n, samplingPriority: 2 }, {}), () => {
    assert.equal(activeSpan(), undefined)
    const span = tracer.startSpan('continued')
    assert.equal(span.traceId, 42n)
    assert.equal(span.parentId, 7n)
    assert.equal(span.trace.samplingPriority, 2)
    span.finish()
  })
  tracer.trace('outer', () => {
    runInFrame(new ContextFrame(undefined, undefined, {}), () => {
      assert.equal(tracer.startSpan('fresh').parentId, 0n)
    })
  })
})

test('attachFrame sets the store until undone; suppression hides frames', () => {
  const { tracer } = setup()
  const span = tracer.startSpan('s')
  const frame = new ContextFrame(span, undefined, {})
  const undo = attachFrame(frame)
  assert.equal(contextStore(), frame)
  runSuppressed(() => assert.equal(contextStore(), undefined))
  undo()
  assert.equal(contextStore(), undefined)
  span.finish()
})
