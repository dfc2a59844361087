import assert from 'node:assert/strict'
import { test } from 'node:test'
import { extractDatadog, formatTagsHeader, injectDatadog, parseDecimalId, parsePriority, parseTagsHeader } from '../src/propagation/datadog.js'
import { setOnObject } from '../src/propagation/carrier.js'
import type { OutgoingContext } from '../src/propagation/outgoing-context.js'
import { outgoingContext } from './support/outgoing-context.js'

function outgoing(fields: Partial<OutgoingContext> = {}): OutgoingContext {
  return outgoingContext({ traceId: 123n, traceIdHigh: '', spanId: 456n, samplingPriority: 1, decisionMaker: '-0' }, fields)
}

test('a full set of datadog headers is read', () => {
  const context = extractDatadog(
    {
      'x-datadog-trace-id': '1234567890123456789',
      'x-datadog-parent-id': '987654321',
      'x-datadog-sampling-priority': '2',
      'x-datadog-origin': 'synthetics',
      'x-datadog-tags': '_dd.p.tid=640cfd8d00000000,_dd.p.dm=-4,_dd.p.usr.id=abc=='
    },
    512
  )
  assert.ok(context)
  assert.equal(context.traceId, 1234567890123456789n)
  assert.equal(context.traceIdHigh, '640cfd8d00000000')
  assert.equal(context.spanId, 987654321n)
  assert.equal(context.samplingPriority, 2)
  assert.equal(context.origin, 'synthetics')
  assert.deepEqual(context.traceTags, { '_dd.p.dm': '-4', '_dd.p.usr.id': 'abc==' })
})

test('a 64-bit context has no high half; priority and origin are optional', () => {
  const context = extractDatadog({ 'x-datadog-trace-id': '42', 'x-datadog-parent-id': '7' }, 512)
  assert.ok(context)
  assert.equal(context.traceIdHigh, '')
  assert.equal(context.samplingPriority, undefined)
  assert.equal(context.origin, undefined)
  assert.deepEqual(context.traceTags, {})
})

test('zero or missing ids make the context invalid; parent id 0 is accepted', () => {
  assert.equal(extractDatadog({ 'x-datadog-trace-id': '0', 'x-datadog-parent-id': '7' }, 512), undefined)
  assert.equal(extractDatadog({ 'x-datadog-trace-id': '00000', 'x-datadog-parent-id': '7' }, 512), undefined)
  assert.equal(extractDatadog({ 'x-datadog-trace-id': '42' }, 512), undefined)
  assert.equal(extractDatadog({ 'x-datadog-parent-id': '7' }, 512), undefined)
  assert.equal(extractDatadog({}, 512), undefined)
  assert.equal(extractDatadog({ 'x-datadog-trace-id': '42', 'x-datadog-parent-id': '0' }, 512)?.spanId, 0n)
})

test('decimal ids: 2^64-1 is the last accepted, 2^64 the first refused; no signs, hex or junk', () => {
  assert.equal(parseDecimalId('18446744073709551615'), 18446744073709551615n)
  assert.equal(parseDecimalId('18446744073709551616'), undefined)
  assert.equal(parseDecimalId('99999999999999999999'), undefined)
  assert.equal(parseDecimalId('123456789012345678901'), undefined)
  assert.equal(parseDecimalId(' 42 '), 42n)
  for (const bad of ['', '-1', '+1', '0x10', '1e3', '4.2', '١٢٣', '12 34', 'abc']) assert.equal(parseDecimalId(bad), undefined, bad)
})

test('sampling priority: -1 to 2 are read, anything else is left undecided', () => {
  for (const [text, value] of [['-1', -1], ['0', 0], ['1', 1], ['2', 2], [' 2 ', 2]] as const) assert.equal(parsePriority(text), value)
  for (const bad of ['3', '-2', '1.5', 'keep', '', '99999']) assert.equal(parsePriority(bad), undefined, bad)
  const context = extractDatadog({ 'x-datadog-trace-id': '42', 'x-datadog-parent-id': '7', 'x-datadog-sampling-priority': 'yes' }, 512)
  assert.equal(context?.samplingPriority, undefined)
})

test('repeated single-value headers: the last value is used', () => {
  const context = extractDatadog({ 'x-datadog-trace-id': ['1', '42'], 'x-datadog-parent-id': ['7'], 'x-datadog-sampling-priority': [2, '1'] }, 512)
  assert.equal(context?.traceId, 42n)
  assert.equal(context?.samplingPriority, 1)
  // Node joins repeated custom headers with ", ": not a decimal id, so the context is ignored.
  assert.equal(extractDatadog({ 'x-datadog-trace-id': '1, 42', 'x-datadog-parent-id': '7' }, 512), undefined)
  assert.equal(extractDatadog({ 'x-datadog-trace-id': 42, 'x-datadog-parent-id': '7' }, 512), undefined)
})

test('origins with control or non-ASCII characters are dropped', () => {
  const base = { 'x-datadog-trace-id': '42', 'x-datadog-parent-id': '7' }
  assert.equal(extractDatadog({ ...base, 'x-datadog-origin': 'rum' }, 512)?.origin, 'rum')
  assert.equal(extractDatadog({ ...base, 'x-datadog-origin': 'r\u00fcm' }, 512)?.origin, undefined)
  assert.equal(extractDatadog({ ...base, 'x-datadog-origin': 'a\nb' }, 512)?.origin, undefined)
  assert.equal(extractDatadog({ ...base, 'x-datadog-origin': 'x'.repeat(256) }, 512)?.origin, 'x'.repeat(256))
  assert.equal(extractDatadog({ ...base, 'x-datadog-origin': 'x'.repeat(257) }, 512)?.origin, undefined)
})

test('x-datadog-tags: a header of exactly the limit is read, one character more is dropped whole', () => {
  const at = (length: number): string => {
    const prefix = '_dd.p.dm=-4,_dd.p.pad='
    return prefix + 'x'.repeat(length - prefix.length)
  }
  assert.equal(at(512).length, 512)
  assert.deepEqual(Object.keys(parseTagsHeader(at(512), 512) ?? {}), ['_dd.p.dm', '_dd.p.pad'])
  assert.equal(parseTagsHeader(at(513), 512), undefined)
  assert.equal(parseTagsHeader('_dd.p.dm=-4', 0), undefined, '0 turns the header off')
  const big = extractDatadog({ 'x-datadog-trace-id': '42', 'x-datadog-parent-id': '7', 'x-datadog-tags': at(10_240) }, 512)
  assert.ok(big, 'the context stays valid without its tags')
  assert.deepEqual(big.traceTags, {})
})

test('x-datadog-tags: one malformed member drops the header; a bad _dd.p.tid alone is dropped', () => {
  for (const bad of ['_dd.p.dm=-4,foo=bar', '_dd.p.dm', '_dd.p. x=1', '_dd.p.dm=-4,,_dd.p.a=1', '_dd.p.a=b\u00e9', '_dd.p.a=', 'dd.p.a=1', '_dd.p.a=1, _dd.p.b=2']) {
    assert.equal(parseTagsHeader(bad, 512), undefined, bad)
  }
  assert.deepEqual(parseTagsHeader('_dd.p.tid=XYZ,_dd.p.dm=-1', 512), { '_dd.p.dm': '-1' })
  assert.deepEqual(parseTagsHeader('_dd.p.tid=0000000000000000', 512), {})
  assert.deepEqual(parseTagsHeader('_dd.p.tid=640CFD8D00000000', 512), { '_dd.p.tid': '640cfd8d00000000' })
  assert.deepEqual(parseTagsHeader('_dd.p.tid=640cfd8d00000000,_dd.p.dm=-1', 512), { '_dd.p.tid': '640cfd8d00000000', '_dd.p.dm': '-1' })
  for (const tid of ['640cfd8d0000000', '640cfd8d000000000', '640cfd8g00000000', '640CFD8G00000000']) {
    assert.deepEqual(parseTagsHeader(`_dd.p.tid=${tid}`, 512), {}, tid)
  }
  assert.deepEqual(parseTagsHeader('_dd.p.a=x y=z', 512), { '_dd.p.a': 'x y=z' })
})

test('inject writes decimal ids, priority, origin and the trace tags', () => {
  const carrier: Record<string, unknown> = {}
  const ok = injectDatadog(
    outgoing({ traceId: 18446744073709551615n, spanId: 1n, traceIdHigh: '640cfd8d00000000', samplingPriority: 2, decisionMaker: '-4', origin: 'rum', tags: { '_dd.p.usr.id': 'abc' } }),
    carrier,
    setOnObject,
    512
  )
  assert.equal(ok, true)
  assert.deepEqual(carrier, {
    'x-datadog-trace-id': '18446744073709551615',
    'x-datadog-parent-id': '1',
    'x-datadog-sampling-priority': '2',
    'x-datadog-origin': 'rum',
    'x-datadog-tags': '_dd.p.tid=640cfd8d00000000,_dd.p.dm=-4,_dd.p.usr.id=abc'
  })
})

test('inject: _dd.p.dm only with a kept trace; invalid tags are skipped; no tags, no header', () => {
  assert.equal(formatTagsHeader(outgoing({ samplingPriority: 0, decisionMaker: '-1' })), '')
  assert.equal(formatTagsHeader(outgoing({ samplingPriority: -1, decisionMaker: '-4' })), '')
  assert.equal(formatTagsHeader(outgoing({ samplingPriority: 1, decisionMaker: '-1' })), '_dd.p.dm=-1')
  assert.equal(formatTagsHeader(outgoing({ decisionMaker: undefined, tags: { '_dd.p.a': 'x,y', '_dd.p.b': 'ok', other: 'v' } })), '_dd.p.b=ok')
  const carrier: Record<string, unknown> = {}
  injectDatadog(outgoing({ decisionMaker: undefined, samplingPriority: undefined }), carrier, setOnObject, 512)
  assert.deepEqual(Object.keys(carrier), ['x-datadog-trace-id', 'x-datadog-parent-id'])
})

test('inject: tags at the limit are written, one past it are left out and reported', () => {
  const tagsOf = (length: number): Record<string, string> => {
    const prefix = '_dd.p.dm=-0,_dd.p.pad='
    return { '_dd.p.pad': 'x'.repeat(length - prefix.length) }
  }
  const fits: Record<string, unknown> = {}
  assert.equal(injectDatadog(outgoing({ tags: tagsOf(512) }), fits, setOnObject, 512), true)
  assert.equal((fits['x-datadog-tags'] as string).length, 512)
  const over: Record<string, unknown> = {}
  assert.equal(injectDatadog(outgoing({ tags: tagsOf(513) }), over, setOnObject, 512), false)
  assert.equal(over['x-datadog-tags'], undefined)
  assert.equal(over['x-datadog-trace-id'], '123', 'the other headers still go out')
  const off: Record<string, unknown> = {}
  assert.equal(injectDatadog(outgoing(), off, setOnObject, 0), true)
  assert.equal(off['x-datadog-tags'], undefined)
})
