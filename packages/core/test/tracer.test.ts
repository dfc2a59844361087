import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'node:test'
import { coreSpan } from '../src/model/span.js'
import { CoreTracer, type SpanOptions } from '../src/tracer/tracer.js'
import { InMemoryExporter } from '../src/testing.js'
import type { TracerOptions } from '../src/tracer/options.js'

function setup(options: TracerOptions = {}) {
  const exporter = new InMemoryExporter()
  // The tracer's own class: these tests look at how spans are parented, which only its spans show.
  const tracer = new CoreTracer({ service: 'svc', exporter, flushOnExit: false, ...options })
  return { tracer, exporter }
}

test('trace() runs fn with the span active and finishes it on return', () => {
  const { tracer, exporter } = setup()
  const result = tracer.trace('outer', (outer) => {
    assert.equal(tracer.activeSpan(), outer)
    const inner = tracer.trace('inner', { resource: 'r', type: 'custom' }, (span) => {
      assert.equal(coreSpan(span).parentId, coreSpan(outer).spanId)
      assert.equal(span.context().traceId, outer.context().traceId)
      return span
    })
    assert.equal(inner.finished, true)
    assert.equal(tracer.activeSpan(), outer)
    return 42
  })
  assert.equal(result, 42)
  assert.equal(tracer.activeSpan(), undefined)
  const [chunk] = exporter.chunks()
  assert.deepEqual(chunk?.map((s) => s.name), ['inner', 'outer'])
})

test('trace() records a thrown error and rethrows the same object', () => {
  const { tracer, exporter } = setup()
  const err = new TypeError('bad')
  assert.throws(
    () => tracer.trace('op', () => { throw err }),
    (thrown) => thrown === err
  )
  const [span] = exporter.spans()
  assert.equal(span?.error, 1)
  assert.equal(span?.meta['error.type'], 'TypeError')
  assert.equal(span?.finished, true)
})

test('trace() follows promises: resolves with the value, rejects with the same error', async () => {
  const { tracer, exporter } = setup()
  const value = await tracer.trace('ok', async () => {
    await sleep(2)
    return 'v'
  })
  assert.equal(value, 'v')
  const err = new Error('nope')
  await assert.rejects(
    tracer.trace('fails', async () => {
      await sleep(1)
      throw err
    }),
    (thrown) => thrown === err
  )
  const [ok, fails] = exporter.spans()
  assert.ok(ok.duration >= 1.5, `async span lasted ${ok.duration} ms`)
  assert.equal(ok.error, 0)
  assert.equal(fails.error, 1)
  assert.equal(fails.meta['error.message'], 'nope')
})

test('context never leaks between interleaved async flows', async () => {
  const { tracer, exporter } = setup()
  const flows = Array.from({ length: 50 }, (_, i) =>
    tracer.trace(`root-${i}`, async (root) => {
      for (let step = 0; step < 5; step++) {
        await sleep(Math.random() * 3)
        assert.equal(tracer.activeSpan(), root, `flow ${i} step ${step} sees its own root`)
        await tracer.trace(`child-${i}`, async (child) => {
          await sleep(Math.random() * 2)
          assert.equal(tracer.activeSpan(), child)
          assert.equal(coreSpan(child).parentId, root.context().spanId)
        })
      }
      return root.context().traceId
    })
  )
  const ids = await Promise.all(flows)
  assert.equal(new Set(ids).size, 50)
  const chunks = exporter.chunks()
  assert.equal(chunks.length, 50)
  for (const chunk of chunks) {
    assert.equal(chunk.length, 6)
    const root = chunk.find((s) => s.parentId === 0n)!
    assert.ok(chunk.every((s) => s.traceId === root.traceId && s.name.endsWith(root.name.slice(5))))
  }
})

test('startSpan parents: explicit childOf, the active span, or null for a new trace', () => {
  const { tracer } = setup()
  const a = tracer.startSpan('a')
  assert.equal(a.parentId, 0n)
  const b = tracer.startSpan('b', { childOf: a })
  assert.equal(b.parentId, a.spanId)
  tracer.withSpan(b, () => {
    const c = tracer.startSpan('c')
    assert.equal(c.parentId, b.spanId)
    const d = tracer.startSpan('d', { childOf: null })
    assert.equal(d.parentId, 0n)
    assert.notEqual(d.traceId, a.traceId)
  })
})

test('a remote parent: same trace id, parent = the caller, its decision and tags kept; invalid ones start a new trace', () => {
  const { tracer } = setup()
  const span = tracer.startSpan('server', {
    childOf: { traceId: 123n, traceIdHigh: '', spanId: 456n, samplingPriority: 2, traceTags: { '_dd.p.dm': '-4' } }
  })
  assert.equal(span.traceId, 123n)
  assert.equal(span.parentId, 456n)
  assert.equal(span.trace.samplingPriority, 2)
  assert.equal(span.trace.decisionMaker, '-4')
  assert.equal(span.parentService, undefined)
  const fresh = tracer.startSpan('server', { childOf: { traceId: 0n, traceIdHigh: '', spanId: 5n } })
  assert.notEqual(fresh.traceId, 0n)
  assert.equal(fresh.parentId, 0n)
})

test('a chunk leaves when all its spans finished, in any order', () => {
  const { tracer, exporter } = setup()
  const root = tracer.startSpan('root')
  const a = tracer.startSpan('a', { childOf: root })
  const b = tracer.startSpan('b', { childOf: a })
  root.finish()
  a.finish()
  assert.equal(exporter.chunks().length, 0, 'b is still open')
  b.finish()
  assert.deepEqual(exporter.chunks().map((c) => c.map((s) => s.name)), [['root', 'a', 'b']])
})

test('a span that finishes after its chunk left goes out in a later chunk', () => {
  const { tracer, exporter } = setup()
  const root = tracer.startSpan('root')
  root.finish()
  const late = tracer.startSpan('late', { childOf: root })
  late.finish()
  assert.deepEqual(exporter.chunks().map((c) => c.map((s) => s.name)), [['root'], ['late']])
  assert.equal(late.traceId, root.traceId)
})

test('partial flush: a trace with many finished spans goes out in parts, nothing lost', () => {
  const { tracer, exporter } = setup({ partialFlushMinSpans: 10 })
  const root = tracer.startSpan('root')
  for (let i = 0; i < 25; i++) tracer.startSpan(`child-${i}`, { childOf: root }).finish()
  assert.deepEqual(exporter.chunks().map((c) => c.length), [10, 10])
  root.finish()
  assert.deepEqual(exporter.chunks().map((c) => c.length), [10, 10, 6])
})

test('spans inherit the parent service; top-level is decided by service', () => {
  const { tracer } = setup()
  const root = tracer.startSpan('root')
  const child = tracer.startSpan('child', { childOf: root })
  const db = tracer.startSpan('query', { childOf: child, service: 'db' } satisfies SpanOptions)
  assert.equal(child.service, 'svc')
  assert.equal(child.parentService, 'svc')
  assert.equal(db.service, 'db')
  assert.equal(db.parentService, 'svc')
})

test('a disabled tracer hands out one inert span and exports nothing', async () => {
  const { tracer, exporter } = setup({ enabled: false })
  const span = tracer.startSpan('op')
  span.setTag('a', 'b').setError(new Error('x'))
  span.finish()
  assert.deepEqual(span.getTags(), {})
  assert.equal(tracer.trace('op', (s) => s), span)
  assert.equal(await tracer.trace('op', () => Promise.resolve(5)), 5)
  assert.equal(tracer.activeSpan(), undefined)
  assert.equal(exporter.spans().length, 0)
  assert.equal(tracer.enabled, false)
})

test('after shutdown the tracer stops tracing; shutdown twice is safe', async () => {
  const { tracer, exporter } = setup()
  tracer.startSpan('before').finish()
  await tracer.shutdown()
  await tracer.shutdown()
  tracer.startSpan('after').finish()
  assert.deepEqual(exporter.spans().map((s) => s.name), ['before'])
})

test('trace() without a function is a TypeError', () => {
  const { tracer } = setup()
  assert.throws(() => tracer.trace('x', {} as never), TypeError)
})
