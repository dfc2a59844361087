import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createTracer } from '../src/tracer/tracer.js'
import { InMemoryExporter } from '../src/testing.js'
import { logIds } from '../src/tracer/log-ids.js'

function setup(options: Parameters<typeof createTracer>[0] = {}) {
  const exporter = new InMemoryExporter()
  const tracer = createTracer({ service: 'svc', exporter, flushOnExit: false, ...options })
  return { tracer, exporter }
}

test('setTag types values as Datadog tracers do', () => {
  const { tracer } = setup()
  const span = tracer.startSpan('op')
  span.setTag('s', 'text').setTag('n', 42).setTag('f', 1.5).setTag('yes', true).setTag('no', false)
  span.setTag('big', 2n ** 64n - 1n).setTag('http.status_code', 404).setTag('nothing', undefined).setTag('nul', null)
  span.setTag('obj', { a: 'x', b: { c: 2 }, list: ['p', 'q'] })
  span.setTag('nan', Number.NaN).setTag('fn', () => 1)
  assert.deepEqual(span.meta, { s: 'text', big: '18446744073709551615', 'http.status_code': '404', 'obj.a': 'x', 'obj.list.0': 'p', 'obj.list.1': 'q' })
  assert.deepEqual(span.metrics, { n: 42, f: 1.5, yes: 1, no: 0, 'obj.b.c': 2 })
})

test('special tags steer the span', () => {
  const { tracer } = setup()
  const span = tracer.startSpan('op')
  span.setTags({ 'service.name': 'other', 'resource.name': 'GET /x', 'span.type': 'web' })
  assert.equal(span.service, 'other')
  assert.equal(span.resource, 'GET /x')
  assert.equal(span.type, 'web')
  span.setTag('error', true)
  assert.equal(span.error, 1)
  span.setTag('error', false)
  assert.equal(span.error, 0)
  span.setTag('manual.keep', true)
  assert.equal(span.trace.samplingPriority, 2)
  span.setTag('manual.drop', true)
  assert.equal(span.trace.samplingPriority, -1)
})

test('setError records type, message and stack', () => {
  const { tracer } = setup()
  const span = tracer.startSpan('op')
  const err = new RangeError('out of range')
  span.setError(err)
  assert.equal(span.error, 1)
  assert.equal(span.meta['error.type'], 'RangeError')
  assert.equal(span.meta['error.message'], 'out of range')
  assert.equal(span.meta['error.stack'], err.stack)
})

test('setError takes non-errors and hostile objects without throwing', () => {
  const { tracer } = setup()
  const a = tracer.startSpan('a').setError('plain string')
  assert.equal(a.meta['error.message'], 'plain string')
  const b = tracer.startSpan('b').setError({ code: 'ECONNRESET' })
  assert.equal(b.meta['error.message'], 'ECONNRESET')
  const hostile = new Proxy({}, { get() { throw new Error('boom') } })
  const c = tracer.startSpan('c').setError(hostile)
  assert.equal(c.error, 1)
  const d = tracer.startSpan('d').setTag('bad', hostile)
  assert.deepEqual(d.meta, {})
})

test('huge tag values are cut at the agent limit: 25000 kept, more cut', () => {
  const { tracer } = setup()
  const span = tracer.startSpan('op')
  span.setTag('exact', 'x'.repeat(25_000)).setTag('over', 'y'.repeat(25_001))
  assert.equal(span.meta.exact.length, 25_000)
  assert.equal(span.meta.over.length, 25_000)
})

test('finish is idempotent and a finished span ignores changes', () => {
  const { tracer, exporter } = setup()
  const span = tracer.startSpan('op')
  span.finish()
  const duration = span.duration
  span.finish()
  span.setTag('late', 'x').setError(new Error('late'))
  assert.equal(span.duration, duration)
  assert.deepEqual(span.meta, {})
  assert.equal(span.error, 0)
  assert.equal(exporter.spans().length, 1)
})

test('durations have sub-millisecond precision and explicit times are honoured', () => {
  const { tracer } = setup()
  const start = Date.now() - 1000
  const span = tracer.startSpan('op', { startTime: start })
  span.finish(start + 12.345)
  // Epoch-ms doubles near 1.7e12 carry about 0.25 µs of precision.
  assert.ok(Math.abs(span.duration - 12.345) < 1e-3, `duration ${span.duration}`)
  assert.ok(Math.abs(span.startTime - start) < 1e-3)
  const before = performance.now()
  const quick = tracer.startSpan('quick')
  const until = performance.now() + 0.3
  while (performance.now() < until);
  quick.finish()
  const after = performance.now()
  // Bounded by clock reads around it rather than a fixed ceiling, so a preempted test cannot fail.
  assert.ok(quick.duration >= 0.3 && quick.duration <= after - before, `a 0.3 ms span measured ${quick.duration} ms`)
  assert.notEqual(quick.duration % 1, 0, 'not rounded to whole milliseconds')
})

test('log ids: 32 hex for a 128-bit trace, decimal for 64-bit, decimal span id', () => {
  const { tracer } = setup()
  const span = tracer.startSpan('op')
  const ids = logIds(span)
  assert.match(ids.traceId, /^[0-9a-f]{32}$/)
  assert.equal(ids.traceId, span.trace.traceIdHigh + span.traceId.toString(16).padStart(16, '0'))
  assert.equal(ids.spanId, span.spanId.toString())

  const continued = tracer.startSpan('child', { childOf: { traceId: 2n ** 64n - 1n, traceIdHigh: '', spanId: 5n } })
  assert.equal(logIds(continued).traceId, '18446744073709551615')

  const off = setup({ traceId128BitLogging: false }).tracer.startSpan('op')
  assert.equal(logIds(off).traceId, off.traceId.toString())

  const gen64 = setup({ traceId128BitGeneration: false }).tracer.startSpan('op')
  assert.equal(gen64.trace.traceIdHigh, '')
  assert.equal(logIds(gen64).traceId, gen64.traceId.toString())
})

test('context() carries what propagates', () => {
  const { tracer } = setup()
  const span = tracer.startSpan('op', {
    childOf: { traceId: 7n, traceIdHigh: 'aaaaaaaa00000000', spanId: 9n, samplingPriority: 2, origin: 'rum', traceTags: { '_dd.p.dm': '-4', '_dd.p.usr': 'x' } }
  })
  assert.deepEqual(span.context(), {
    traceId: 7n,
    traceIdHigh: 'aaaaaaaa00000000',
    spanId: span.spanId,
    samplingPriority: 2,
    origin: 'rum',
    traceTags: { '_dd.p.usr': 'x', '_dd.p.dm': '-4' }
  })
  assert.equal(span.parentId, 9n)
})
