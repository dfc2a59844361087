// Property-based tests over every header parser: no input throws, every extracted context satisfies
// the invariants the tracer relies on, and what one side injects the other side reads back.
import assert from 'node:assert/strict'
import { validateHeaderName, validateHeaderValue } from 'node:http'
import { test } from 'node:test'
import fc from 'fast-check'
import { extractB3Multi, extractB3Single } from '../src/propagation/b3.js'
import { extractBaggage, parseBaggage } from '../src/propagation/baggage.js'
import { setOnObject, READ_HEADERS } from '../src/propagation/carrier.js'
import { extractDatadog, parseTagsHeader } from '../src/propagation/datadog.js'
import { OutgoingContext, outgoingFromContext } from '../src/propagation/outgoing-context.js'
import { Propagator } from '../src/propagation/propagator.js'
import { resolvePropagationConfig } from '../src/config/propagation-config.js'
import { extractTraceContext } from '../src/propagation/tracecontext.js'
import { parseTracestate } from '../src/propagation/tracestate.js'
import type { SpanContext } from '../src/model/span-context.js'

const RUNS = { numRuns: 400 }
const MAX = 0xffff_ffff_ffff_ffffn

const anyText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme', maxLength: 400 }))
/** Header-shaped noise: digits, hex, separators and the format's own punctuation. */
const headerish = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF-_,;:=.~% \t'.split(''), 'dd', 'p', 's', 't.', '_dd.p.'), maxLength: 120 })
const headerValue = fc.oneof(anyText, headerish, fc.array(fc.oneof(anyText, headerish), { maxLength: 3 }), fc.integer(), fc.constant(undefined), fc.constant(null), fc.object())
const carrierArb = fc.dictionary(fc.constantFrom(...READ_HEADERS), headerValue)

const propagator = new Propagator(resolvePropagationConfig({ style: 'datadog,tracecontext,baggage,b3,b3multi' }, {}, () => undefined))

function checkContext(context: SpanContext): void {
  assert.equal(typeof context.traceId, 'bigint')
  assert.ok(context.traceId >= 0n && context.traceId <= MAX)
  assert.ok(context.spanId >= 0n && context.spanId <= MAX)
  assert.ok(context.traceIdHigh === '' || /^[0-9a-f]{16}$/.test(context.traceIdHigh))
  if (context.samplingPriority !== undefined) assert.ok([-1, 0, 1, 2].includes(context.samplingPriority))
  if (context.origin !== undefined) assert.match(context.origin, /^[\x20-\x7e]+$/)
  for (const [key, value] of Object.entries(context.traceTags ?? {})) {
    assert.match(key, /^_dd\.p\.[\x21-\x2b\x2d-\x7e]+$/)
    assert.match(value, /^[\x20-\x2b\x2d-\x7e]+$/)
  }
  if (context.baggage !== undefined) assert.ok(Object.keys(context.baggage).length <= 64)
  if (context.tracestate !== undefined) assert.ok(context.tracestate.split(',').length <= 31)
}

test('no parser throws on any input, and every extracted context is well-formed', () => {
  fc.assert(
    fc.property(carrierArb, (carrier) => {
      for (const context of [extractDatadog(carrier, 512), extractTraceContext(carrier), extractB3Single(carrier), extractB3Multi(carrier)]) {
        if (context !== undefined) {
          checkContext(context)
          assert.notEqual(context.traceId, 0n)
        }
      }
      const merged = propagator.extract(carrier)
      if (merged !== null) checkContext(merged)
      extractBaggage(carrier, 64, 8192)
    }),
    RUNS
  )
})

test('string parsers: tags, tracestate and baggage never throw and respect their limits', () => {
  fc.assert(
    fc.property(fc.oneof(anyText, headerish), fc.integer({ min: 0, max: 600 }), (text, limit) => {
      const tags = parseTagsHeader(text, limit)
      if (tags !== undefined) assert.ok(text.length <= limit)
      const state = parseTracestate(text)
      if (state.others !== undefined) assert.ok(state.others.split(',').length <= 31)
      const items = parseBaggage(text, Math.max(1, limit % 70), Math.max(1, limit * 10))
      if (items !== undefined) assert.ok(Object.keys(items).length <= Math.max(1, limit % 70))
    }),
    RUNS
  )
})

test('a huge or many-membered header is handled quickly, trimmed by the limits', () => {
  const started = performance.now()
  const members = Array.from({ length: 1000 }, (_, i) => `key${i}=value${i}`).join(',')
  assert.equal(Object.keys(parseBaggage(members, 64, 8192) ?? {}).length, 64)
  assert.equal(parseTagsHeader('_dd.p.a=' + 'x'.repeat(10_240), 512), undefined)
  assert.equal(parseTracestate(members).others?.split(',').length, 31)
  assert.equal(propagator.extract({ 'x-datadog-tags': 'x'.repeat(1_000_000), traceparent: '0'.repeat(1_000_000), baggage: 'a=1,'.repeat(250_000) })?.traceId, 0n)
  assert.ok(performance.now() - started < 1000)
})

const id64 = fc.bigInt({ min: 1n, max: MAX })
const high = fc.oneof(fc.constant(''), fc.stringMatching(/^[0-9a-f]{16}$/).filter((h) => h !== '0000000000000000'))
const priority = fc.constantFrom(-1, 0, 1, 2)
const tagKey = fc.stringMatching(/^[a-z0-9.]{1,12}$/).map((k) => '_dd.p.' + k)
const tagValue = fc.stringMatching(/^[a-zA-Z0-9_.:-]{1,16}$/)
const origin = fc.option(fc.stringMatching(/^[a-z0-9_.-]{1,20}$/), { nil: undefined })
const baggageKey = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,16}$/)
const baggageValue = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 })

const outgoingArb = fc
  .record({
    traceId: id64,
    traceIdHigh: high,
    spanId: id64,
    priority,
    dm: fc.constantFrom('-0', '-1', '-3', '-4'),
    origin,
    tags: fc.dictionary(tagKey.filter((k) => k !== '_dd.p.dm' && k !== '_dd.p.tid'), tagValue, { maxKeys: 3 }),
    baggage: fc.dictionary(baggageKey, baggageValue, { maxKeys: 5 })
  })
  .map((r) => new OutgoingContext(r.traceId, r.traceIdHigh, r.spanId, 0n, r.priority, r.dm, r.origin, r.tags, r.baggage, undefined, undefined, false))

function encodable(value: string): boolean {
  try {
    encodeURIComponent(value)
    return true
  } catch {
    return false
  }
}

function roundTrip(style: string, context: OutgoingContext): SpanContext | null {
  const p = new Propagator(resolvePropagationConfig({ style }, {}, () => undefined))
  const carrier: Record<string, unknown> = {}
  p.inject(context, carrier, setOnObject)
  return p.extract(carrier)
}

/** What both Datadog and W3C headers carry back: ids, priority and origin. */
function assertSameContext(back: SpanContext | null, out: OutgoingContext): asserts back is SpanContext {
  assert.ok(back)
  assert.equal(back.traceId, out.traceId)
  assert.equal(back.traceIdHigh, out.traceIdHigh)
  assert.equal(back.spanId, out.spanId)
  assert.equal(back.samplingPriority, out.samplingPriority)
  assert.equal(back.origin, out.origin)
}

test('datadog headers round-trip ids, priority, origin and trace tags', () => {
  fc.assert(
    fc.property(outgoingArb, (out) => {
      const back = roundTrip('datadog', out)
      assertSameContext(back, out)
      const expected: Record<string, string> = { ...out.tags }
      if ((out.samplingPriority ?? 0) > 0) expected['_dd.p.dm'] = out.decisionMaker ?? ''
      assert.deepEqual({ ...back.traceTags }, expected)
    }),
    RUNS
  )
})

test('traceparent/tracestate round-trip ids, priority, origin and trace tags', () => {
  fc.assert(
    fc.property(outgoingArb, (out) => {
      const back = roundTrip('tracecontext', out)
      assertSameContext(back, out)
      assert.equal(back.lastParentId, out.spanId.toString(16).padStart(16, '0'))
      for (const [key, value] of Object.entries(out.tags)) assert.equal(back.traceTags?.[key], value, key)
    }),
    RUNS
  )
})

test('b3 and b3multi round-trip ids and the sampled state', () => {
  fc.assert(
    fc.property(outgoingArb, fc.constantFrom('b3', 'b3multi'), (out, style) => {
      const back = roundTrip(style, out)
      assert.ok(back)
      assert.equal(back.traceId, out.traceId)
      assert.equal(back.traceIdHigh, out.traceIdHigh)
      assert.equal(back.spanId, out.spanId)
      const expected = style === 'b3multi' && (out.samplingPriority ?? 0) > 1 ? 2 : (out.samplingPriority ?? 0) > 0 ? 1 : 0
      assert.equal(back.samplingPriority, expected)
    }),
    RUNS
  )
})

test('baggage round-trips any text value', () => {
  fc.assert(
    fc.property(outgoingArb, (out) => {
      const back = roundTrip('baggage', out)
      const expected = Object.entries(out.baggage ?? {}).filter(([, v]) => encodable(v))
      if (expected.length === 0) return
      assert.deepEqual({ ...back?.baggage }, Object.fromEntries(expected))
    }),
    RUNS
  )
})

test('whatever a caller puts in a SpanContext, only valid header names and values are written', () => {
  const hostileContext = fc.record({
    traceId: fc.oneof(id64, fc.bigInt()),
    traceIdHigh: fc.oneof(high, anyText),
    spanId: fc.oneof(id64, fc.bigInt()),
    samplingPriority: fc.option(fc.oneof(priority, fc.integer(), fc.double()), { nil: undefined }),
    origin: fc.option(anyText, { nil: undefined }),
    traceTags: fc.dictionary(fc.oneof(tagKey, anyText), anyText, { maxKeys: 4 }),
    baggage: fc.dictionary(fc.oneof(baggageKey, anyText), anyText, { maxKeys: 4 }),
    tracestate: fc.option(fc.oneof(anyText, headerish), { nil: undefined }),
    lastParentId: fc.option(anyText, { nil: undefined })
  })
  fc.assert(
    fc.property(hostileContext, (context) => {
      const out = outgoingFromContext(context)
      if (out === undefined) return
      const carrier: Record<string, unknown> = {}
      propagator.inject(out, carrier, setOnObject)
      for (const [name, value] of Object.entries(carrier)) {
        validateHeaderName(name)
        assert.equal(typeof value, 'string')
        validateHeaderValue(name, value as string)
        assert.match(value as string, /^[\x20-\x7e]*$/, `${name}: ${String(value)}`)
      }
      const back = propagator.extract(carrier)
      if (back !== null) checkContext(back)
    }),
    RUNS
  )
})
