import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { test } from 'node:test'
import { HttpServerTracing } from '../src/server/server-span.js'
import { SamplingPriority } from '../src/model/sampling-priority.js'
import type { SpanContext } from '../src/model/span-context.js'
import { coreSpan, type CoreSpan } from '../src/model/span.js'
import { SpanCollector } from './support/span-collector.js'
import { CoreTracer } from '../src/tracer/tracer.js'
import type { TracerOptions } from '../src/tracer/options.js'
import { spanLinksJson } from '../src/wire/span-links.js'

function tracerWith(options: TracerOptions = {}): { tracer: CoreTracer; exporter: SpanCollector; warnings: string[] } {
  const exporter = new SpanCollector()
  const warnings: string[] = []
  const tracer = new CoreTracer({ service: 'svc', exporter, flushOnExit: false, diagnostics: { write: (line) => warnings.push(line) }, ...options })
  return { tracer, exporter, warnings }
}

const INCOMING = {
  'x-datadog-trace-id': '1234567890123456789',
  'x-datadog-parent-id': '987654321',
  'x-datadog-sampling-priority': '2',
  'x-datadog-origin': 'synthetics',
  'x-datadog-tags': '_dd.p.tid=640cfd8d00000000,_dd.p.dm=-4,_dd.p.usr.id=u1',
  traceparent: '00-640cfd8d0000000000000000075bcd15-00000000000001c8-01',
  tracestate: 'dd=s:1,vendor=abc',
  baggage: 'user.id=42,color=blue'
}

test('a span started from an extracted context continues the trace with its decision, origin and tags', () => {
  const { tracer, exporter } = tracerWith()
  const context = tracer.extract(INCOMING)
  assert.ok(context)
  const span = tracer.startSpan('web.request', { childOf: context })
  span.finish()
  const [finished] = exporter.spans()
  assert.ok(finished)
  assert.equal(finished.traceId, 1234567890123456789n)
  assert.equal(finished.trace.traceIdHigh, '640cfd8d00000000')
  assert.equal(finished.parentId, 987654321n)
  assert.equal(finished.trace.samplingPriority, 2)
  assert.equal(finished.trace.decisionMaker, '-4')
  assert.equal(finished.trace.origin, 'synthetics')
  assert.deepEqual(finished.trace.tags, { '_dd.p.usr.id': 'u1' })
  assert.equal(finished.trace.tracestate, undefined, 'the W3C context named another trace: not merged')
  assert.equal(finished.meta['baggage.user.id'], '42')
  assert.equal(finished.meta['baggage.color'], undefined, 'only the configured keys become tags')
  const links = JSON.parse(spanLinksJson(finished.extras?.links ?? []) ?? '[]') as unknown[]
  assert.deepEqual(links, [
    {
      trace_id: '640cfd8d0000000000000000075bcd15',
      span_id: '00000000000001c8',
      attributes: { reason: 'terminated_context', context_headers: 'tracecontext' },
      flags: 1,
      tracestate: 'dd=s:1,vendor=abc'
    }
  ])
})

test('inject after extract: the next service sees this span as parent and the same trace state', () => {
  const { tracer } = tracerWith()
  const span = tracer.startSpan('web.request', { childOf: tracer.extract({ ...INCOMING, traceparent: undefined }) })
  const child = tracer.startSpan('http.request', { childOf: span })
  const headers: Record<string, unknown> = {}
  tracer.inject(child, headers)
  assert.equal(headers['x-datadog-trace-id'], '1234567890123456789')
  assert.equal(headers['x-datadog-parent-id'], child.spanId.toString())
  assert.equal(headers['x-datadog-sampling-priority'], '2')
  assert.equal(headers['x-datadog-origin'], 'synthetics')
  assert.equal(headers['x-datadog-tags'], '_dd.p.tid=640cfd8d00000000,_dd.p.dm=-4,_dd.p.usr.id=u1')
  assert.equal(headers.traceparent, `00-640cfd8d00000000${(1234567890123456789n).toString(16).padStart(16, '0')}-${child.spanId.toString(16).padStart(16, '0')}-01`)
  assert.equal(headers.baggage, 'user.id=42,color=blue')
  const next = tracer.extract(headers)
  assert.equal(next?.traceId, span.traceId)
  assert.equal(next?.spanId, child.spanId)
  assert.equal(next?.samplingPriority, 2)
  assert.equal(next?.baggage?.color, 'blue')
})

test('tracestate of other vendors travels on; the W3C span id merged in becomes the parent', () => {
  const { tracer } = tracerWith()
  const incoming = {
    'x-datadog-trace-id': '42',
    'x-datadog-parent-id': '7',
    'x-datadog-sampling-priority': '1',
    traceparent: '00-0000000000000000000000000000002a-0000000000000009-01',
    tracestate: 'dd=s:1;p:0000000000000007,vendor=abc'
  }
  const span = tracer.startSpan('web.request', { childOf: tracer.extract(incoming) })
  assert.equal(span.parentId, 9n)
  assert.equal(span.meta['_dd.parent_id'], '0000000000000007')
  const headers: Record<string, unknown> = {}
  tracer.inject(span, headers)
  assert.equal(headers.tracestate, `dd=s:1;p:${span.spanId.toString(16).padStart(16, '0')},vendor=abc`, 'no decision maker came in, none is invented')
})

test('inject makes the sampling decision and locks it: a later keep() or drop() changes nothing', () => {
  const { tracer } = tracerWith()
  const span = tracer.startSpan('root', { childOf: null })
  assert.equal(span.trace.samplingPriority, undefined)
  const headers: Record<string, unknown> = {}
  tracer.inject(span, headers)
  assert.equal(span.trace.samplingLocked, true)
  const decided = span.trace.samplingPriority
  assert.notEqual(decided, undefined)
  assert.equal(headers['x-datadog-sampling-priority'], String(decided))
  span.drop()
  assert.equal(span.trace.samplingPriority, decided)
  span.finish()
})

test('a manual decision made before inject is the one propagated', () => {
  const { tracer } = tracerWith()
  const span = tracer.startSpan('root', { childOf: null })
  span.keep()
  const headers: Record<string, unknown> = {}
  tracer.inject(span, headers)
  assert.equal(headers['x-datadog-sampling-priority'], String(SamplingPriority.USER_KEEP))
  assert.match(String(headers['x-datadog-tags']), /_dd\.p\.dm=-4/)
})

test('inject into a fetch Headers object and from a SpanContext', () => {
  const { tracer } = tracerWith()
  const headers = new Headers()
  tracer.inject(tracer.startSpan('root', { childOf: null }), headers)
  assert.match(headers.get('traceparent') ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
  const forwarded: Record<string, unknown> = {}
  const context = tracer.extract(INCOMING)
  assert.ok(context)
  tracer.inject(context, forwarded)
  assert.equal(forwarded['x-datadog-parent-id'], '987654321', 'a forwarded context keeps its span id')
  assert.equal(forwarded['x-datadog-sampling-priority'], '2')
  const handmade: SpanContext = { traceId: 5n, traceIdHigh: 'not-hex', spanId: 6n, samplingPriority: 9, origin: 'r\u00fcm', tracestate: 'ok=1,BAD=2' }
  const out: Record<string, unknown> = {}
  tracer.inject(handmade, out)
  assert.equal(out['x-datadog-trace-id'], '5')
  assert.equal(out['x-datadog-sampling-priority'], undefined)
  assert.equal(out['x-datadog-origin'], undefined)
  assert.equal(out.traceparent, '00-00000000000000000000000000000005-0000000000000006-00')
  assert.equal(out.tracestate, 'ok=1')
})

test('inject and extract never throw, whatever they are given', () => {
  const { tracer } = tracerWith()
  const span = tracer.startSpan('root', { childOf: null })
  const hostile = new Proxy({}, { get: () => { throw new Error('boom') }, set: () => { throw new Error('boom') } })
  for (const carrier of [null, undefined, 42, 'headers', hostile]) {
    assert.doesNotThrow(() => tracer.inject(span, carrier as Record<string, unknown>))
    assert.equal(tracer.extract(carrier), null)
  }
  assert.doesNotThrow(() => tracer.inject(null as unknown as SpanContext, {}))
  assert.doesNotThrow(() => tracer.inject({ traceId: 'x', spanId: 1 } as unknown as SpanContext, {}))
})

test('an oversized x-datadog-tags is left out of inject and reported once', () => {
  const { tracer, warnings } = tracerWith({ propagation: { tagsHeaderMaxLength: 40 } })
  const span = tracer.startSpan('root', { childOf: null })
  span.trace.setTag('_dd.p.long', 'x'.repeat(40))
  const headers: Record<string, unknown> = {}
  tracer.inject(span, headers)
  tracer.inject(span, headers)
  assert.equal(headers['x-datadog-tags'], undefined)
  assert.ok(headers['x-datadog-trace-id'])
  assert.equal(warnings.filter((w) => w.includes('x-datadog-tags')).length, 1)
  // New traces share one empty, frozen tag set: the tag went to this trace only.
  assert.deepEqual(tracer.startSpan('other', { childOf: null }).trace.tags, {})
})

test('a disabled tracer extracts and injects nothing', () => {
  const { tracer } = tracerWith({ enabled: false })
  assert.equal(tracer.extract(INCOMING), null)
  const headers: Record<string, unknown> = {}
  tracer.inject(tracer.startSpan('x'), headers)
  tracer.inject({ traceId: 1n, traceIdHigh: '', spanId: 2n }, headers)
  assert.deepEqual(headers, {})
})

test('baggage without trace headers starts a new trace that carries it; restart links to the caller', () => {
  const { tracer } = tracerWith({ propagation: { baggageTagKeys: ['*'] } })
  const span = tracer.startSpan('web', { childOf: tracer.extract({ baggage: 'k=v' }) })
  assert.notEqual(span.traceId, 0n)
  assert.equal(span.parentId, 0n)
  assert.equal(span.meta['baggage.k'], 'v')
  const headers: Record<string, unknown> = {}
  tracer.inject(span, headers)
  assert.equal(headers.baggage, 'k=v')

  const restart = tracerWith({ propagation: { behaviorExtract: 'restart' } }).tracer
  const fresh = restart.startSpan('web', { childOf: restart.extract(INCOMING) })
  assert.notEqual(fresh.traceId, 1234567890123456789n)
  assert.equal(fresh.parentId, 0n)
  assert.equal(fresh.trace.samplingPriority, undefined, 'a restarted trace makes its own decision')
  const [link] = JSON.parse(spanLinksJson(fresh.extras?.links ?? []) ?? '[]') as { trace_id: string; attributes: Record<string, string> }[]
  assert.equal(link?.trace_id, '640cfd8d00000000112210f47de98115')
  assert.equal(link?.attributes.reason, 'propagation_behavior_extract')
})

test('HttpServerTracing.start continues the trace in req.headers unless a parent (or null) is given', () => {
  const { tracer } = tracerWith()
  const tracing = new HttpServerTracing('express', { tracer })
  const req = { method: 'GET', url: '/x', headers: { ...INCOMING } } as unknown as IncomingMessage
  const start = (request: IncomingMessage, parent?: SpanContext | null): CoreSpan | undefined => {
    const span = tracing.start(request, parent)
    return span === undefined ? undefined : coreSpan(span)
  }
  const continued = start(req)
  assert.equal(continued?.traceId, 1234567890123456789n)
  assert.equal(continued?.parentId, 987654321n)
  assert.equal(continued?.trace.samplingPriority, 2)
  const fresh = start(req, null)
  assert.notEqual(fresh?.traceId, 1234567890123456789n)
  const explicit = start(req, { traceId: 77n, traceIdHigh: '', spanId: 88n })
  assert.equal(explicit?.traceId, 77n)
  const garbage = start({ method: 'GET', url: '/', headers: { 'x-datadog-trace-id': 'x'.repeat(10_000), traceparent: '00-' + 'f'.repeat(31) } } as unknown as IncomingMessage)
  assert.equal(garbage?.parentId, 0n, 'bad headers start a new trace')
})

test('the W3C random flag of a continued trace goes on to the next service; a trace of ours does not claim it', () => {
  const { tracer } = tracerWith()
  const random = { traceparent: '00-640cfd8d0000000000000000075bcd15-00000000000001c8-03' }
  const span = tracer.startSpan('web.request', { childOf: tracer.extract(random) })
  const headers: Record<string, unknown> = {}
  tracer.inject(tracer.startSpan('http.request', { childOf: span }), headers)
  assert.match(String(headers.traceparent), /^00-640cfd8d0000000000000000075bcd15-[0-9a-f]{16}-03$/)
  const merged = tracer.startSpan('web.request', {
    childOf: tracer.extract({ 'x-datadog-trace-id': '123456789', 'x-datadog-parent-id': '456', 'x-datadog-sampling-priority': '1', 'x-datadog-tags': '_dd.p.tid=640cfd8d00000000', ...random })
  })
  const out: Record<string, unknown> = {}
  tracer.inject(merged, out)
  assert.match(String(out.traceparent), /-03$/, 'kept when the W3C context is merged into the Datadog one')
  const forwarded: Record<string, unknown> = {}
  const context = tracer.extract(random)
  assert.ok(context)
  tracer.inject(context, forwarded)
  assert.match(String(forwarded.traceparent), /-03$/, 'a forwarded context keeps it')
  const own: Record<string, unknown> = {}
  tracer.inject(tracer.startSpan('root', { childOf: null }), own)
  assert.match(String(own.traceparent), /-01$/)
})
