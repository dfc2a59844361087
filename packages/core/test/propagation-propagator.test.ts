import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setOnObject } from '../src/propagation/carrier.js'
import { OutgoingContext } from '../src/propagation/outgoing-context.js'
import { Propagator } from '../src/propagation/propagator.js'
import { resolvePropagationConfig } from '../src/config/propagation-config.js'
import { parseStyles, type PropagationOptions } from '../src/propagation/styles.js'

function propagator(options: PropagationOptions = {}, env: Record<string, string> = {}): Propagator {
  return new Propagator(resolvePropagationConfig(options, env, () => undefined))
}

const DD = { 'x-datadog-trace-id': '42', 'x-datadog-parent-id': '7', 'x-datadog-sampling-priority': '1', 'x-datadog-tags': '_dd.p.dm=-0' }
const TP_SAME = '00-0000000000000000000000000000002a-0000000000000009-01'
const TP_OTHER = '00-000000000000000000000000000000ff-0000000000000009-01'

test('styles: default datadog,tracecontext,baggage; env, OTEL_PROPAGATORS and options in that precedence', () => {
  const warnings: string[] = []
  const resolve = (options: PropagationOptions, env: Record<string, string>) => resolvePropagationConfig(options, env, (m) => warnings.push(m))
  assert.deepEqual(resolve({}, {}).extract, ['datadog', 'tracecontext', 'baggage'])
  assert.deepEqual(resolve({}, { DD_TRACE_PROPAGATION_STYLE: 'tracecontext, Datadog' }).inject, ['tracecontext', 'datadog'])
  assert.deepEqual(resolve({}, { OTEL_PROPAGATORS: 'tracecontext,baggage,xray' }).extract, ['tracecontext', 'baggage'])
  assert.deepEqual(resolve({}, { DD_TRACE_PROPAGATION_STYLE: 'datadog', OTEL_PROPAGATORS: 'b3' }).extract, ['datadog'])
  const split = resolve({}, { DD_TRACE_PROPAGATION_STYLE: 'datadog', DD_TRACE_PROPAGATION_STYLE_EXTRACT: 'b3 single header,b3multi' })
  assert.deepEqual(split.extract, ['b3', 'b3multi'])
  assert.deepEqual(split.inject, ['datadog'])
  assert.deepEqual(resolve({ style: ['b3'] }, { DD_TRACE_PROPAGATION_STYLE_EXTRACT: 'datadog' }).extract, ['b3'], 'options win over the environment')
  assert.deepEqual(resolve({}, { DD_TRACE_PROPAGATION_STYLE: 'none' }).extract, [])
  assert.deepEqual(warnings, ['DD_TRACE_PROPAGATION_STYLE and OTEL_PROPAGATORS are both set; OTEL_PROPAGATORS is ignored'])
})

test('styles: a bad variable warns once and falls back; a bad option is a TypeError', () => {
  const warnings: string[] = []
  const config = resolvePropagationConfig({}, { DD_TRACE_PROPAGATION_STYLE: 'zipkin', DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH: 'big', DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT: 'maybe' }, (m) => warnings.push(m))
  assert.deepEqual(config.extract, ['datadog', 'tracecontext', 'baggage'])
  assert.equal(config.tagsHeaderMaxLength, 512)
  assert.equal(config.behaviorExtract, 'continue')
  assert.ok(warnings.some((w) => w.includes('DD_TRACE_PROPAGATION_STYLE=') && w.includes('zipkin')))
  assert.ok(warnings.some((w) => w.includes('DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH') && w.includes('512')))
  assert.ok(warnings.some((w) => w.includes('DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT')))
  assert.throws(() => resolvePropagationConfig({ style: 'zipkin' }, {}, () => undefined), TypeError)
  assert.throws(() => resolvePropagationConfig({ style: '' }, {}, () => undefined), TypeError)
  assert.throws(() => resolvePropagationConfig({ tagsHeaderMaxLength: -1 }, {}, () => undefined), /tagsHeaderMaxLength/)
  assert.throws(() => resolvePropagationConfig({ behaviorExtract: 'sometimes' as 'ignore' }, {}, () => undefined), /behaviorExtract/)
  assert.throws(() => resolvePropagationConfig({ baggageTagKeys: 'user.id' as unknown as string[] }, {}, () => undefined), /baggageTagKeys/)
  assert.deepEqual(parseStyles('datadog,datadog, none', () => undefined), ['datadog'])
})

test('styles: limits and baggage tag keys from the environment', () => {
  const config = resolvePropagationConfig(
    {},
    { DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH: '0', DD_TRACE_BAGGAGE_MAX_ITEMS: '3', DD_TRACE_BAGGAGE_MAX_BYTES: '100', DD_TRACE_BAGGAGE_TAG_KEYS: 'a, b' },
    () => undefined
  )
  assert.equal(config.tagsHeaderMaxLength, 0)
  assert.equal(config.baggageMaxItems, 3)
  assert.equal(config.baggageMaxBytes, 100)
  assert.deepEqual([...(config.baggageTagKeys as Set<string>)], ['a', 'b'])
  assert.equal(resolvePropagationConfig({}, { DD_TRACE_BAGGAGE_TAG_KEYS: '*' }, () => undefined).baggageTagKeys, 'all')
  assert.equal((resolvePropagationConfig({}, { DD_TRACE_BAGGAGE_TAG_KEYS: '' }, () => undefined).baggageTagKeys as Set<string>).size, 0)
})

test('extract: the first valid style wins; an invalid one is skipped', () => {
  const p = propagator()
  const both = p.extract({ ...DD, traceparent: TP_SAME })
  assert.equal(both?.traceId, 42n)
  const onlyW3c = p.extract({ 'x-datadog-trace-id': 'garbage', 'x-datadog-parent-id': '7', traceparent: TP_SAME })
  assert.equal(onlyW3c?.spanId, 9n)
  assert.equal(p.extract({}), null)
  assert.equal(p.extract({ traceparent: 'nonsense', 'x-datadog-trace-id': '0' }), null)
  const w3cFirst = propagator({ style: 'tracecontext,datadog' }).extract({ ...DD, traceparent: TP_SAME })
  assert.equal(w3cFirst?.spanId, 9n)
})

test('extract: same trace in tracecontext — its span id wins and the Datadog parent becomes _dd.parent_id', () => {
  const p = propagator()
  const merged = p.extract({ ...DD, traceparent: TP_SAME, tracestate: 'dd=s:1,other=x' })
  assert.equal(merged?.traceId, 42n)
  assert.equal(merged?.spanId, 9n)
  assert.equal(merged?.lastParentId, '0000000000000007')
  assert.equal(merged?.tracestate, 'dd=s:1,other=x', 'the tracestate received, whole')
  assert.equal(merged?.links, undefined)
  const withP = p.extract({ ...DD, traceparent: TP_SAME, tracestate: 'dd=s:1;p:00000000000000aa' })
  assert.equal(withP?.lastParentId, '00000000000000aa')
  const sameSpan = p.extract({ ...DD, 'x-datadog-parent-id': '9', traceparent: TP_SAME })
  assert.equal(sameSpan?.lastParentId, undefined)
})

test('extract: tracecontext fills a missing Datadog priority, never overrides one', () => {
  const p = propagator()
  const { 'x-datadog-sampling-priority': _, ...noPriority } = DD
  assert.equal(p.extract({ ...noPriority, traceparent: TP_SAME, tracestate: 'dd=s:2;t.dm:-4' })?.samplingPriority, 2)
  assert.equal(p.extract({ ...DD, 'x-datadog-sampling-priority': '0', traceparent: TP_SAME, tracestate: 'dd=s:2' })?.samplingPriority, 0)
})

test('extract: a different trace id in a later style becomes a span link', () => {
  const context = propagator().extract({ ...DD, traceparent: TP_OTHER, tracestate: 'foo=bar' })
  assert.equal(context?.traceId, 42n)
  assert.equal(context?.spanId, 7n)
  assert.equal(context?.links?.length, 1)
  const link = context?.links?.[0]
  assert.equal(link?.context.traceId, 0xffn)
  assert.deepEqual(link?.attributes, { reason: 'terminated_context', context_headers: 'tracecontext' })
  // 64-bit Datadog context, 128-bit W3C with the same low half: different traces.
  const mixed = propagator().extract({ ...DD, traceparent: '00-640cfd8d00000000000000000000002a-0000000000000009-01' })
  assert.equal(mixed?.links?.length, 1)
})

test('extract: extractFirst stops at the first valid style (no merge, no link)', () => {
  const p = propagator({ extractFirst: true })
  assert.equal(p.extract({ ...DD, traceparent: TP_OTHER })?.links, undefined)
  assert.equal(p.extract({ ...DD, traceparent: TP_SAME })?.spanId, 7n)
  assert.equal(p.extract({ ...DD, baggage: 'a=1' })?.baggage?.a, '1', 'baggage is still read')
})

test('extract: baggage rides on the context; baggage alone starts a new trace that carries it', () => {
  const p = propagator()
  assert.equal(p.extract({ ...DD, baggage: 'user.id=1' })?.baggage?.['user.id'], '1')
  const alone = p.extract({ baggage: 'user.id=1' })
  assert.equal(alone?.traceId, 0n)
  assert.equal(alone?.baggage?.['user.id'], '1')
  assert.equal(propagator({ style: 'datadog' }).extract({ baggage: 'user.id=1' }), null)
})

test('extract: restart gives a new trace linked to the caller; ignore reads nothing', () => {
  const restarted = propagator({ behaviorExtract: 'restart' }).extract({ ...DD, baggage: 'a=1' })
  assert.equal(restarted?.traceId, 0n)
  assert.equal(restarted?.baggage?.a, '1')
  assert.equal(restarted?.links?.[0]?.context.traceId, 42n)
  assert.deepEqual(restarted?.links?.[0]?.attributes, { reason: 'propagation_behavior_extract', context_headers: 'datadog' })
  assert.equal(propagator({ behaviorExtract: 'ignore' }).extract({ ...DD, baggage: 'a=1' }), null)
})

test('extract: b3 styles only when configured; a fetch Headers object works as a carrier', () => {
  const b3 = { b3: 'abcdef0123456789-0123456789abcdef-1' }
  assert.equal(propagator().extract(b3), null)
  assert.equal(propagator({ style: 'b3' }).extract(b3)?.traceId, 0xabcdef0123456789n)
  const headers = new Headers({ 'X-Datadog-Trace-Id': '42', 'X-Datadog-Parent-Id': '7' })
  assert.equal(propagator().extract(headers)?.traceId, 42n)
  for (const bad of [null, undefined, 42, 'x-datadog-trace-id: 1']) assert.equal(propagator().extract(bad), null)
})

test('inject writes every configured style, in order', () => {
  const context = new OutgoingContext(42n, '', 7n, 0n, 1, '-0', undefined, {}, { a: '1' }, undefined, undefined, false)
  const all: Record<string, unknown> = {}
  propagator({ style: 'datadog,tracecontext,baggage,b3,b3multi' }).inject(context, all, setOnObject)
  assert.deepEqual(Object.keys(all), [
    'x-datadog-trace-id',
    'x-datadog-parent-id',
    'x-datadog-sampling-priority',
    'x-datadog-tags',
    'traceparent',
    'tracestate',
    'baggage',
    'b3',
    'x-b3-traceid',
    'x-b3-spanid',
    'x-b3-sampled'
  ])
  const none: Record<string, unknown> = {}
  propagator({ style: 'none' }).inject(context, none, setOnObject)
  assert.deepEqual(none, {})
})
