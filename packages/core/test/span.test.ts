import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Span } from '../src/model/span-interface.js'
import { MAX_ATTRIBUTES, MAX_EVENTS_PER_SPAN, MAX_EXTRAS_CHARS, MAX_LINKS_PER_SPAN } from '../src/model/span-extras.js'
import { createTracer } from '../src/tracer/tracer.js'
import { InMemoryExporter, type ExportedSpan } from '../src/testing.js'
import { logIds } from '../src/tracer/log-ids.js'

// What users see of a span: the Span methods while it is open, the exporter's read-only view after.

function setup(options: Parameters<typeof createTracer>[0] = {}) {
  const exporter = new InMemoryExporter()
  const tracer = createTracer({ service: 'svc', exporter, flushOnExit: false, ...options })
  return { tracer, exporter }
}

/** Finishes `span` and returns what was exported of it. */
function exported(exporter: InMemoryExporter, span: Span): ExportedSpan {
  span.finish()
  const spanId = span.context().spanId
  const found = exporter.spans().find((s) => s.spanId === spanId)
  assert.ok(found, 'the span was exported')
  return found
}

test('setTag types values as Datadog tracers do; getTag and getTags read them back', () => {
  const { tracer } = setup()
  const span = tracer.startSpan('op')
  span.setTag('s', 'text').setTag('n', 42).setTag('f', 1.5).setTag('yes', true).setTag('no', false)
  span.setTag('big', 2n ** 64n - 1n).setTag('http.status_code', 404).setTag('nothing', undefined).setTag('nul', null)
  span.setTag('obj', { a: 'x', b: { c: 2 }, list: ['p', 'q'] })
  span.setTag('nan', Number.NaN).setTag('fn', () => 1)
  assert.deepEqual(span.getTags(), {
    s: 'text',
    big: '18446744073709551615',
    'http.status_code': '404',
    'obj.a': 'x',
    'obj.list.0': 'p',
    'obj.list.1': 'q',
    n: 42,
    f: 1.5,
    yes: 1,
    no: 0,
    'obj.b.c': 2
  })
  assert.equal(span.getTag('s'), 'text')
  assert.equal(span.getTag('n'), 42)
  assert.equal(span.getTag('http.status_code'), '404')
  assert.equal(span.getTag('nothing'), undefined)
  assert.equal(span.getTag('toString'), undefined, 'only the span\'s own tags, not inherited names')
  const copy = span.getTags()
  copy.s = 'changed'
  assert.equal(span.getTag('s'), 'text', 'getTags is a copy')
})

test('special tags steer the span', () => {
  const { tracer, exporter } = setup()
  const span = tracer.startSpan('op')
  span.setTags({ 'service.name': 'other', 'resource.name': 'GET /x', 'span.type': 'web' })
  assert.equal(span.service, 'other')
  assert.equal(span.resource, 'GET /x')
  assert.equal(span.type, 'web')
  span.setTag('error', true)
  span.setTag('error', false)
  span.setTag('manual.keep', true)
  assert.equal(span.context().samplingPriority, 2)
  span.setTag('manual.drop', true)
  assert.equal(span.context().samplingPriority, -1)
  const done = exported(exporter, span)
  assert.equal(done.error, 0, 'error: false cleared the flag set by error: true')
  assert.equal(done.samplingPriority, -1)
})

test('setError records type, message and stack', () => {
  const { tracer, exporter } = setup()
  const span = tracer.startSpan('op')
  const err = new RangeError('out of range')
  span.setError(err)
  assert.equal(span.getTag('error.type'), 'RangeError')
  assert.equal(span.getTag('error.message'), 'out of range')
  assert.equal(span.getTag('error.stack'), err.stack)
  assert.equal(exported(exporter, span).error, 1)
})

test('setError takes non-errors and hostile objects without throwing', () => {
  const { tracer, exporter } = setup()
  const a = tracer.startSpan('a').setError('plain string')
  assert.equal(a.getTag('error.message'), 'plain string')
  const b = tracer.startSpan('b').setError({ code: 'ECONNRESET' })
  assert.equal(b.getTag('error.message'), 'ECONNRESET')
  const hostile = new Proxy({}, { get() { throw new Error('boom') } })
  const c = tracer.startSpan('c').setError(hostile)
  assert.equal(exported(exporter, c).error, 1)
  const d = tracer.startSpan('d').setTag('bad', hostile)
  assert.deepEqual(d.getTags(), {})
})

test('huge tag values are cut at the agent limit as the agent cuts them: 25000 kept, more cut and marked ...', () => {
  const { tracer } = setup()
  const span = tracer.startSpan('op')
  span.setTag('exact', 'x'.repeat(25_000)).setTag('over', 'y'.repeat(25_001)).setError({ message: 'm'.repeat(40_000) })
  assert.equal(span.getTag('exact'), 'x'.repeat(25_000))
  assert.equal(span.getTag('over'), `${'y'.repeat(25_000)}...`)
  assert.equal(span.getTag('error.message'), `${'m'.repeat(25_000)}...`)
})

test('finish is idempotent and a finished span ignores changes', () => {
  const { tracer, exporter } = setup()
  const span = tracer.startSpan('op')
  assert.equal(span.finished, false)
  span.finish()
  assert.equal(span.finished, true)
  const [done] = exporter.spans()
  const duration = done.duration
  span.finish()
  span.setTag('late', 'x').setError(new Error('late')).addEvent('late').addLink({ traceId: 1n, traceIdHigh: '', spanId: 2n }).recordException(new Error('late'))
  assert.equal(done.duration, duration)
  assert.equal(span.getTag('late'), undefined)
  assert.equal(span.getTag('error.message'), undefined)
  assert.equal(done.error, 0)
  assert.deepEqual(done.events, [])
  assert.deepEqual(done.links, [])
  assert.equal(exporter.spans().length, 1)
})

test('durations have sub-millisecond precision and explicit times are honoured', () => {
  const { tracer, exporter } = setup()
  const start = Date.now() - 1000
  const span = tracer.startSpan('op', { startTime: start })
  span.finish(start + 12.345)
  const [done] = exporter.spans()
  // Epoch-ms doubles near 1.7e12 carry about 0.25 µs of precision.
  assert.ok(Math.abs(done.duration - 12.345) < 1e-3, `duration ${done.duration}`)
  assert.ok(Math.abs(span.startTime - start) < 1e-3)
  assert.ok(Math.abs(done.startTime - start) < 1e-3)
  const before = performance.now()
  const quick = tracer.startSpan('quick')
  const until = performance.now() + 0.3
  while (performance.now() < until);
  quick.finish()
  const after = performance.now()
  const quickDone = exporter.spans()[1]
  // Bounded by clock reads around it rather than a fixed ceiling, so a preempted test cannot fail.
  assert.ok(quickDone.duration >= 0.3 && quickDone.duration <= after - before, `a 0.3 ms span measured ${quickDone.duration} ms`)
  assert.notEqual(quickDone.duration % 1, 0, 'not rounded to whole milliseconds')
})

test('log ids: 32 hex for a 128-bit trace, decimal for 64-bit, decimal span id', () => {
  const { tracer } = setup()
  const span = tracer.startSpan('op')
  const ids = logIds(span)
  const context = span.context()
  assert.match(ids.traceId, /^[0-9a-f]{32}$/)
  assert.equal(ids.traceId, context.traceIdHigh + context.traceId.toString(16).padStart(16, '0'))
  assert.equal(ids.spanId, context.spanId.toString())

  const continued = tracer.startSpan('child', { childOf: { traceId: 2n ** 64n - 1n, traceIdHigh: '', spanId: 5n } })
  assert.equal(logIds(continued).traceId, '18446744073709551615')

  const off = setup({ traceId128BitLogging: false }).tracer.startSpan('op')
  assert.equal(logIds(off).traceId, off.context().traceId.toString())

  const gen64 = setup({ traceId128BitGeneration: false }).tracer.startSpan('op')
  assert.equal(gen64.context().traceIdHigh, '')
  assert.equal(logIds(gen64).traceId, gen64.context().traceId.toString())
})

test('context() carries what propagates', () => {
  const { tracer, exporter } = setup()
  const span = tracer.startSpan('op', {
    childOf: { traceId: 7n, traceIdHigh: 'aaaaaaaa00000000', spanId: 9n, samplingPriority: 2, origin: 'rum', traceTags: { '_dd.p.dm': '-4', '_dd.p.usr': 'x' }, randomTraceId: true }
  })
  const context = span.context()
  assert.deepEqual(context, {
    traceId: 7n,
    traceIdHigh: 'aaaaaaaa00000000',
    spanId: context.spanId,
    samplingPriority: 2,
    origin: 'rum',
    traceTags: { '_dd.p.usr': 'x', '_dd.p.dm': '-4' },
    baggage: undefined,
    tracestate: undefined,
    randomTraceId: true
  })
  const done = exported(exporter, span)
  assert.equal(done.parentId, 9n)
  assert.equal(done.spanId, context.spanId)
  assert.equal(done.traceId, 7n)
  assert.equal(done.traceIdHigh, 'aaaaaaaa00000000')
  assert.equal(done.origin, 'rum')
})

test('the exported view is read-only and stable: the same objects on every read', () => {
  const { tracer, exporter } = setup()
  tracer.startSpan('op', { tags: { a: 'x' } }).finish()
  const [first] = exporter.spans()
  assert.equal(exporter.spans()[0], first)
  assert.equal(exporter.chunks()[0][0], first)
  assert.equal(first.getTag('a'), 'x')
  assert.equal(first.finished, true)
  assert.throws(() => {
    ;(first as unknown as { name: string }).name = 'changed'
  }, TypeError)
  exporter.reset()
  assert.deepEqual(exporter.spans(), [])
})

test('addLink keeps the linked ids and attributes as strings, arrays flattened; a bad context is dropped and counted', () => {
  const { tracer, exporter } = setup()
  const span = tracer.startSpan('batch.process')
  const linked = { traceId: 11n, traceIdHigh: 'bbbbbbbb00000000', spanId: 12n, samplingPriority: 1, origin: 'rum', tracestate: 'x=1' }
  span.addLink(linked, { 'messaging.batch.index': 3, ok: true, tags: ['a', 'b'], skipped: undefined, bad: { nested: 1 } as unknown as string })
  span.addLink({ traceId: 0n, traceIdHigh: '', spanId: 1n })
  span.addLink(null as unknown as { traceId: bigint; traceIdHigh: string; spanId: bigint })
  linked.spanId = 99n
  const done = exported(exporter, span)
  assert.deepEqual(done.links, [
    {
      context: { traceId: 11n, traceIdHigh: 'bbbbbbbb00000000', spanId: 12n, samplingPriority: 1, tracestate: 'x=1' },
      attributes: { 'messaging.batch.index': '3', ok: 'true', 'tags.0': 'a', 'tags.1': 'b' }
    }
  ])
  assert.deepEqual(done.dropped, { links: 2, events: 0, attributes: 1 })
  assert.ok(Object.isFrozen(done.links[0]) && Object.isFrozen(done.links[0].attributes))
})

test('addEvent keeps name, time and typed attributes; time defaults to now and takes a Date', () => {
  const { tracer, exporter } = setup()
  const span = tracer.startSpan('op')
  // Event times are on the spans' clock (the time origin plus the monotonic clock), which drifts from
  // Date.now() in a long-running process.
  const before = performance.timeOrigin + performance.now()
  span.addEvent('cache.miss', { key: 'k', size: 3, hit: false, sizes: [1, 2], names: ['a'], mixed: [1, 'a'] as unknown as number[], nan: Number.NaN })
  const after = performance.timeOrigin + performance.now()
  span.addEvent('at', undefined, 1_700_000_000_123)
  span.addEvent('date', {}, new Date(1_700_000_000_456))
  span.addEvent(42 as unknown as string)
  const done = exported(exporter, span)
  assert.equal(done.events.length, 4)
  const [miss, at, date, numbered] = done.events
  assert.equal(miss.name, 'cache.miss')
  assert.deepEqual(miss.attributes, { key: 'k', size: 3, hit: false, sizes: [1, 2], names: ['a'] })
  assert.ok(miss.time >= before - 1 && miss.time <= after + 1, `event time ${miss.time}`)
  assert.equal(at.time, 1_700_000_000_123)
  assert.equal(date.time, 1_700_000_000_456)
  assert.equal(numbered.name, '42')
  assert.equal(done.dropped.attributes, 2, 'the mixed array and NaN')
})

test('recordException marks the error as setError does and adds an exception event', () => {
  const { tracer, exporter } = setup()
  const span = tracer.startSpan('op')
  const err = new TypeError('bad input')
  span.recordException(err, 1_700_000_000_000)
  assert.equal(span.getTag('error.type'), 'TypeError')
  assert.equal(span.getTag('error.message'), 'bad input')
  const done = exported(exporter, span)
  assert.equal(done.error, 1)
  assert.deepEqual(done.events, [
    { name: 'exception', time: 1_700_000_000_000, attributes: { 'exception.type': 'TypeError', 'exception.message': 'bad input', 'exception.stacktrace': err.stack } }
  ])
  const plain = tracer.startSpan('plain').recordException('just text')
  assert.deepEqual(exported(exporter, plain).events[0].attributes, { 'exception.message': 'just text' })
})

test('links and events are bounded: the last one accepted, the first refused, and what is dropped is counted', () => {
  const { tracer, exporter } = setup()
  const span = tracer.startSpan('op')
  for (let i = 0; i < MAX_LINKS_PER_SPAN + 2; i++) span.addLink({ traceId: BigInt(i + 1), traceIdHigh: '', spanId: 1n })
  for (let i = 0; i < MAX_EVENTS_PER_SPAN + 3; i++) span.addEvent(`e${i}`)
  const attributes = Object.fromEntries(Array.from({ length: MAX_ATTRIBUTES + 5 }, (_, i) => [`k${i}`, i]))
  const full = tracer.startSpan('attrs').addEvent('many', attributes)
  const done = exported(exporter, span)
  assert.equal(done.links.length, MAX_LINKS_PER_SPAN)
  assert.equal(done.links.at(-1)?.context.traceId, BigInt(MAX_LINKS_PER_SPAN))
  assert.equal(done.events.length, MAX_EVENTS_PER_SPAN)
  assert.equal(done.events.at(-1)?.name, `e${MAX_EVENTS_PER_SPAN - 1}`)
  assert.deepEqual(done.dropped, { links: 2, events: 3, attributes: 0 })
  const many = exported(exporter, full)
  assert.equal(Object.keys(many.events[0].attributes).length, MAX_ATTRIBUTES)
  assert.equal(many.dropped.attributes, 5)

  // The characters of a span's links and events together are bounded too: 25,000-character values fill it.
  const big = tracer.startSpan('big')
  const value = 'v'.repeat(25_000)
  const fits = Math.floor(MAX_EXTRAS_CHARS / (value.length + 1 + 'e'.length))
  for (let i = 0; i < fits + 2; i++) big.addEvent('e', { v: value })
  const bigDone = exported(exporter, big)
  assert.equal(bigDone.events.length, fits)
  assert.equal(bigDone.dropped.events, 2)
})

test('links and events never throw, whatever they are given', () => {
  const { tracer, exporter } = setup()
  const span = tracer.startSpan('op')
  const hostile = new Proxy({}, { ownKeys() { throw new Error('boom') }, get() { throw new Error('boom') } })
  assert.doesNotThrow(() => span.addEvent('e', hostile))
  assert.doesNotThrow(() => span.addLink(hostile as { traceId: bigint; traceIdHigh: string; spanId: bigint }))
  assert.doesNotThrow(() => span.addEvent('e', { list: new Proxy([1], { get() { throw new Error('boom') } }) }))
  assert.doesNotThrow(() => span.recordException(hostile))
  const done = exported(exporter, span)
  assert.ok(done.dropped.events >= 1 && done.dropped.links === 1)
})

test('a disabled tracer\'s span takes every call and keeps nothing', () => {
  const { tracer, exporter } = setup({ enabled: false })
  const span = tracer.startSpan('op')
  span.setTag('a', 1).addEvent('e').addLink({ traceId: 1n, traceIdHigh: '', spanId: 1n }).recordException(new Error('x')).keep()
  span.finish()
  assert.deepEqual(span.getTags(), {})
  assert.equal(span.getTag('a'), undefined)
  assert.equal(exporter.spans().length, 0)
})
