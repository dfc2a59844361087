import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decode } from '@msgpack/msgpack'
import type { CoreSpan } from '../src/model/span.js'
import { V04Encoder, type SpanDecorations } from '../src/wire/encode-v04.js'
import { V05Encoder } from '../src/wire/encode-v05.js'
import { CoreTracer } from '../src/tracer/tracer.js'
import { SpanCollector } from './support/span-collector.js'

type Decoded = Record<string, unknown> & { meta: Record<string, string>; metrics: Record<string, number> }

function decorations(native: boolean): SpanDecorations {
  return { service: 'svc', globalMeta: {}, processId: 1, spanEvents: { native } }
}

function setup(): { tracer: CoreTracer; exporter: SpanCollector } {
  const exporter = new SpanCollector()
  return { tracer: new CoreTracer({ service: 'svc', exporter, flushOnExit: false }), exporter }
}

function encodeV04(chunk: CoreSpan[], native: boolean): Decoded[] {
  const encoder = new V04Encoder(decorations(native), 1 << 22)
  encoder.begin()
  assert.ok(encoder.append(chunk))
  return (decode(encoder.finish(), { useBigInt64: true }) as Decoded[][])[0]
}

function encodeV05(chunk: CoreSpan[]): Decoded[] {
  const encoder = new V05Encoder(decorations(true), 1 << 22)
  encoder.begin()
  assert.ok(encoder.append(chunk))
  const [strings, traces] = decode(encoder.finish(), { useBigInt64: true }) as [string[], unknown[][][]]
  return traces[0].map((span) => {
    const meta: Record<string, string> = {}
    for (const [k, v] of Object.entries(span[9] as Record<string, number>)) meta[strings[Number(k)]] = strings[v]
    const decoded: Decoded = { name: strings[Number(span[1])], meta, metrics: {} }
    return decoded
  })
}

const T = 1_700_000_000_123.25

test('links go in meta _dd.span_links as dd-trace writes them: 32 and 16 hex ids, attributes, flags, the whole tracestate', () => {
  const { tracer, exporter } = setup()
  const span = tracer.startSpan('batch')
  span.addLink({ traceId: 0xabn, traceIdHigh: '640cfd8d00000000', spanId: 0xcdn, samplingPriority: 2, tracestate: 'dd=s:2;p:00000000000000cd,other=x' }, { 'messaging.index': 1, names: ['a', 'b'] })
  span.addLink({ traceId: 7n, traceIdHigh: '', spanId: 8n })
  span.addLink({ traceId: 9n, traceIdHigh: '', spanId: 10n, samplingPriority: 0 })
  span.addLink({ traceId: 9n, traceIdHigh: '', spanId: 11n, samplingPriority: -1 })
  span.finish()
  const [out] = encodeV04(exporter.chunks()[0], false)
  assert.deepEqual(JSON.parse(out.meta['_dd.span_links'] ?? 'null'), [
    {
      trace_id: '640cfd8d0000000000000000000000ab',
      span_id: '00000000000000cd',
      attributes: { 'messaging.index': '1', 'names.0': 'a', 'names.1': 'b' },
      flags: 1,
      tracestate: 'dd=s:2;p:00000000000000cd,other=x'
    },
    { trace_id: '00000000000000000000000000000007', span_id: '0000000000000008' },
    { trace_id: '00000000000000000000000000000009', span_id: '000000000000000a', flags: 0 },
    { trace_id: '00000000000000000000000000000009', span_id: '000000000000000b' }
  ])
  assert.equal(out.span_links, undefined, 'never the native field, as dd-trace')
})

test('a link to an extracted context keeps its whole tracestate, the dd member included', () => {
  const { tracer, exporter } = setup()
  const headers = { traceparent: '00-640cfd8d0000000000000000000000ab-00000000000000cd-01', tracestate: 'dd=s:2;o:rum;t.dm:-4,vendor=abc' }
  const context = tracer.extract(headers)
  assert.ok(context)
  assert.equal(context.tracestate, 'dd=s:2;o:rum;t.dm:-4,vendor=abc')
  const span = tracer.startSpan('consumer', { childOf: null })
  span.addLink(context)
  span.finish()
  // A conflicting W3C context gives a terminated_context link: its dd member goes too.
  const continued = tracer.startSpan('web', {
    childOf: tracer.extract({ 'x-datadog-trace-id': '5', 'x-datadog-parent-id': '6', 'x-datadog-sampling-priority': '1', ...headers })
  })
  const outgoing: Record<string, unknown> = {}
  tracer.inject(continued, outgoing)
  assert.doesNotMatch(String(outgoing.tracestate), /vendor/, 'the conflicting context is linked, not continued')
  continued.finish()
  const [linked, terminated] = exporter.chunks().map((chunk) => encodeV04(chunk, false)[0])
  const [link] = JSON.parse(linked.meta['_dd.span_links'] ?? '[]') as { tracestate?: string; flags?: number }[]
  assert.equal(link?.tracestate, 'dd=s:2;o:rum;t.dm:-4,vendor=abc')
  assert.equal(link?.flags, 1)
  const [other] = JSON.parse(terminated.meta['_dd.span_links'] ?? '[]') as { tracestate?: string; attributes?: Record<string, string> }[]
  assert.deepEqual(other?.attributes, { reason: 'terminated_context', context_headers: 'tracecontext' })
  assert.equal(other?.tracestate, 'dd=s:2;o:rum;t.dm:-4,vendor=abc')
})

test('events go in meta events as JSON by default: name, time_unix_nano, attributes (left out when empty)', () => {
  const { tracer, exporter } = setup()
  const span = tracer.startSpan('op')
  span.addEvent('cache.miss', { key: 'k', size: 3, ratio: 0.5, hit: false, sizes: [1, 2] }, T)
  span.addEvent('bare', undefined, new Date(1_700_000_000_000))
  span.finish()
  const [out] = encodeV04(exporter.chunks()[0], false)
  assert.equal(
    out.meta.events,
    '[{"name":"cache.miss","time_unix_nano":1700000000123250000,"attributes":{"key":"k","size":3,"ratio":0.5,"hit":false,"sizes":[1,2]}},' +
      '{"name":"bare","time_unix_nano":1700000000000000000}]'
  )
  assert.equal(out.span_events, undefined)
})

test('recordException adds an exception event and marks the span; the event goes with the error tags', () => {
  const { tracer, exporter } = setup()
  const span = tracer.startSpan('op')
  const err = new TypeError('bad input')
  span.recordException(err, T)
  span.finish()
  const [out] = encodeV04(exporter.chunks()[0], false)
  assert.equal(out.error, 1)
  const [event] = JSON.parse(out.meta.events ?? '[]') as { name: string; attributes: Record<string, string> }[]
  assert.equal(event?.name, 'exception')
  assert.equal(event?.attributes['exception.type'], 'TypeError')
  assert.equal(event?.attributes['exception.message'], 'bad input')
  assert.equal(event?.attributes['exception.stacktrace'], err.stack)
})

test('native span events (v0.4 only): the span_events field with typed values; v0.5 keeps meta events', () => {
  const { tracer, exporter } = setup()
  const span = tracer.startSpan('op')
  span.addEvent('e', { s: 'x', t: true, i: 42, big: 2 ** 40, neg: -(2 ** 40), d: 1.5, list: ['a', 'b'], nums: [1, 2.5] }, T)
  span.addEvent('bare', {}, T)
  span.finish()
  const [out] = encodeV04(exporter.chunks()[0], true)
  assert.equal(out.meta.events, undefined)
  assert.deepEqual(out.span_events, [
    {
      time_unix_nano: 1_700_000_000_123_250_000n,
      name: 'e',
      attributes: {
        s: { type: 0, string_value: 'x' },
        t: { type: 1, bool_value: true },
        i: { type: 2, int_value: 42 },
        big: { type: 2, int_value: 2n ** 40n },
        neg: { type: 2, int_value: -(2n ** 40n) },
        d: { type: 3, double_value: 1.5 },
        list: { type: 4, array_value: { values: [{ type: 0, string_value: 'a' }, { type: 0, string_value: 'b' }] } },
        nums: { type: 4, array_value: { values: [{ type: 2, int_value: 1 }, { type: 3, double_value: 2.5 }] } }
      }
    },
    { time_unix_nano: 1_700_000_000_123_250_000n, name: 'bare' }
  ])
  const [v05] = encodeV05(exporter.chunks()[0])
  assert.match(v05.meta.events ?? '', /^\[\{"name":"e",/)
})

test('a tag named like the links or events key gives way to them; huge JSON is cut with ... as the agent cuts it', () => {
  const { tracer, exporter } = setup()
  const span = tracer.startSpan('op')
  span.setTag('events', 'mine').setTag('_dd.span_links', 'mine')
  for (let i = 0; i < 10; i++) span.addEvent('e', { v: 'x'.repeat(5000) }, T)
  span.addLink({ traceId: 1n, traceIdHigh: '', spanId: 2n })
  span.finish()
  const [out] = encodeV04(exporter.chunks()[0], false)
  assert.equal(out.meta.events?.length, 25_003)
  assert.ok(out.meta.events?.endsWith('...'))
  assert.equal((JSON.parse(out.meta['_dd.span_links'] ?? '[]') as unknown[]).length, 1)
  const plain = tracer.startSpan('plain')
  plain.setTag('events', 'mine')
  plain.finish()
  assert.equal(encodeV04(exporter.chunks()[1], false)[0].meta.events, 'mine', 'without events of its own the tag stays')
})

test('measured: true sets _dd.measured 1 (false sets 0); spans without it have none', () => {
  const { tracer, exporter } = setup()
  tracer.trace('job', { measured: true }, () => {
    tracer.startSpan('inner', { measured: false }).finish()
    tracer.startSpan('plain').finish()
  })
  const [inner, plain, job] = exporter.spans()
  assert.equal(job?.metrics['_dd.measured'], 1)
  assert.equal(inner?.metrics['_dd.measured'], 0)
  assert.equal(plain?.metrics['_dd.measured'], undefined)
})
