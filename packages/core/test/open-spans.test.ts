import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Exporter } from '../src/export/exporter.js'
import { MAX_TRACKED_OPEN_SPANS, OpenSpans, UNFINISHED_AT_EXIT_TAG } from '../src/lifecycle/open-spans.js'
import { CoreSpan, TraceState, type SpanOwner } from '../src/model/span.js'
import { SpanCollector } from './support/span-collector.js'
import { CoreTracer, createTracer, type Tracer } from '../src/tracer/tracer.js'

function memoryTracer(): { tracer: CoreTracer; memory: SpanCollector } {
  const memory = new SpanCollector()
  return { tracer: new CoreTracer({ service: 'svc', exporter: memory, flushOnExit: false }), memory }
}

/** The tracer's side of the exit hooks (what lifecycle/exit-hooks.ts calls). */
function flushWithin(tracer: Tracer, timeoutMs: number, cut?: string): Promise<void> {
  return (tracer as unknown as { flushWithin(timeoutMs: number, cut?: string): Promise<void> }).flushWithin(timeoutMs, cut)
}

/** Spans of a list of their own (a tracer's spans are in the tracer's list): finishing one removes it. */
function bareSpans(list: OpenSpans, count: number): CoreSpan[] {
  const owner: SpanOwner = { finishSpan: (span) => list.remove(span) }
  const trace = new TraceState(1n, '', undefined, undefined, {})
  return Array.from({ length: count }, (_, i) => new CoreSpan(owner, trace, BigInt(i + 1), 0n, undefined, `s${i}`, 'svc', `s${i}`, '', 0))
}

function pending(tracer: Tracer): boolean {
  return (tracer as unknown as { pending: boolean }).pending
}

test('open spans are tracked from start to finish; an exit cut finishes them newest first, marked, and their trace leaves whole', async () => {
  const { tracer, memory } = memoryTracer()
  const root = tracer.startSpan('root')
  const done = tracer.startSpan('done', { childOf: root })
  const child = tracer.startSpan('child', { childOf: root })
  const grandchild = tracer.startSpan('grandchild', { childOf: child })
  done.finish()
  const other = tracer.startSpan('other.root', { childOf: null })
  other.finish()
  assert.equal(memory.chunks().length, 1, 'only the finished trace left')
  assert.equal(pending(tracer), true, 'open spans count as pending')
  await flushWithin(tracer, 100, 'SIGTERM')
  assert.equal(pending(tracer), false)
  const [, cut] = memory.chunks()
  assert.deepEqual(
    cut.map((span) => [span.name, span.meta[UNFINISHED_AT_EXIT_TAG]]),
    [
      ['done', undefined],
      ['grandchild', 'SIGTERM'],
      ['child', 'SIGTERM'],
      ['root', 'SIGTERM']
    ]
  )
  assert.ok(cut.every((span) => span.finished))
  assert.equal(grandchild.duration >= 0 && root.duration >= grandchild.duration, true)
})

test('without a cut (a signal the app handles itself) open spans are left to the app', async () => {
  const { tracer, memory } = memoryTracer()
  const span = tracer.startSpan('in.flight')
  await flushWithin(tracer, 50)
  assert.equal(span.finished, false)
  assert.equal(memory.chunks().length, 0)
  span.finish()
  assert.equal(memory.spans()[0].meta[UNFINISHED_AT_EXIT_TAG], undefined)
})

test('shutdown finishes the spans still open, marked shutdown, before the exporter closes', async () => {
  const { tracer, memory } = memoryTracer()
  const span = tracer.startSpan('background.job')
  await tracer.shutdown()
  assert.equal(span.finished, true)
  assert.deepEqual(memory.spans().map((s) => s.meta[UNFINISHED_AT_EXIT_TAG]), ['shutdown'])
})

test('the list: removal from the head, middle and tail, twice, and of a span never added', () => {
  const list = new OpenSpans()
  const spans = bareSpans(list, 5)
  for (const span of spans.slice(0, 4)) list.add(span)
  list.remove(spans[3])
  list.remove(spans[1])
  list.remove(spans[0])
  list.remove(spans[1])
  list.remove(spans[4])
  assert.equal(list.size, 1)
  assert.equal(list.finishAll('test'), 1)
  assert.deepEqual(spans.filter((s) => s.finished).map((s) => [s.name, s.meta[UNFINISHED_AT_EXIT_TAG]]), [['s2', 'test']])
  assert.equal(list.size, 0)
  for (const span of spans) {
    assert.equal(span.openPrev, undefined)
    assert.equal(span.openNext, undefined)
  }
})

test(`past ${MAX_TRACKED_OPEN_SPANS} open spans the oldest are forgotten (and stay open), with one warning`, () => {
  let warnings = 0
  const list = new OpenSpans(() => warnings++)
  const spans = bareSpans(list, MAX_TRACKED_OPEN_SPANS + 2)
  for (const span of spans) list.add(span)
  assert.equal(list.size, MAX_TRACKED_OPEN_SPANS)
  assert.equal(list.forgotten, 2)
  assert.equal(warnings, 1)
  list.remove(spans[0])
  assert.equal(list.size, MAX_TRACKED_OPEN_SPANS, 'a forgotten span is not in the list')
  assert.equal(list.finishAll('test'), MAX_TRACKED_OPEN_SPANS)
  assert.deepEqual([spans[0].finished, spans[1].finished, spans[2].finished], [false, false, true])
})

test('exit hooks are installed when the tracer is made, only for an exporter that holds traces, and removed at shutdown', async () => {
  const before = process.listenerCount('SIGTERM')
  const memory = createTracer({ service: 'svc', exporter: new SpanCollector() })
  assert.equal(process.listenerCount('SIGTERM'), before, 'an exporter without `pending` gets no hooks')
  const holding: Exporter = { pending: false, export() {}, flush: () => Promise.resolve(), shutdown: () => Promise.resolve() }
  const tracer = createTracer({ service: 'svc', exporter: holding })
  assert.equal(process.listenerCount('SIGTERM'), before + 1)
  assert.equal(process.listenerCount('beforeExit') >= 1, true)
  const off = createTracer({ service: 'svc', exporter: holding, flushOnExit: false })
  const disabled = createTracer({ service: 'svc', exporter: holding, enabled: false })
  await tracer.shutdown()
  assert.equal(process.listenerCount('SIGTERM'), before)
  await Promise.all([memory.shutdown(), off.shutdown(), disabled.shutdown()])
})
