import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setOnObject } from '../src/propagation/carrier.js'
import type { OutgoingContext } from '../src/propagation/outgoing-context.js'
import { outgoingContext } from './support/outgoing-context.js'
import { extractTraceContext, formatDdMember, injectTraceContext } from '../src/propagation/tracecontext.js'
import { parseTracestate } from '../src/propagation/tracestate.js'

const TP = '00-640cfd8d00000000abcdef0123456789-0123456789abcdef-01'

function outgoing(fields: Partial<OutgoingContext> = {}): OutgoingContext {
  return outgoingContext({ traceId: 0xabcdef0123456789n, traceIdHigh: '640cfd8d00000000', spanId: 0x0123456789abcdefn, samplingPriority: 1, decisionMaker: '-0' }, fields)
}

test('traceparent: a 128-bit id is split into low 64 bits and _dd.p.tid; flags give the priority', () => {
  const context = extractTraceContext({ traceparent: TP })
  assert.ok(context)
  assert.equal(context.traceId, 0xabcdef0123456789n)
  assert.equal(context.traceIdHigh, '640cfd8d00000000')
  assert.equal(context.spanId, 0x0123456789abcdefn)
  assert.equal(context.samplingPriority, 1)
  assert.equal(extractTraceContext({ traceparent: TP.slice(0, -2) + '00' })?.samplingPriority, 0)
  assert.equal(extractTraceContext({ traceparent: TP.slice(0, -2) + '03' })?.samplingPriority, 1, 'other flag bits are ignored')
})

test('traceparent: a 64-bit id (zero high half) has no _dd.p.tid; upper case and spaces are tolerated', () => {
  const context = extractTraceContext({ traceparent: ' 00-0000000000000000000000000000002a-0000000000000007-01 ' })
  assert.equal(context?.traceId, 42n)
  assert.equal(context?.traceIdHigh, '')
  assert.equal(extractTraceContext({ traceparent: TP.toUpperCase() })?.traceIdHigh, '640cfd8d00000000')
})

test('traceparent: malformed, zero, version ff, 00 with a tail, repeated: all invalid', () => {
  const invalid = [
    '00-640cfd8d00000000abcdef012345678-0123456789abcdef-01', // 31 hex
    '00-640cfd8d00000000abcdef01234567890-0123456789abcdef-01', // 33 hex
    '00-640cfd8d00000000abcdef0123456789-0123456789abcde-01', // 15 hex span
    'ff-640cfd8d00000000abcdef0123456789-0123456789abcdef-01',
    '00-640cfd8d00000000abcdef0123456789-0123456789abcdef-01-extra',
    '00-00000000000000000000000000000000-0123456789abcdef-01',
    '00-640cfd8d000000000000000000000000-0123456789abcdef-01', // low half zero: trace_id 0 on the wire
    '00-640cfd8d00000000abcdef0123456789-0000000000000000-01',
    '00-640cfd8d00000000abcdef0123456789-0123456789abcdef-1',
    '00_640cfd8d00000000abcdef0123456789_0123456789abcdef_01',
    '0g-640cfd8d00000000abcdef0123456789-0123456789abcdef-01',
    '',
    TP + '\u00e9'
  ]
  for (const traceparent of invalid) assert.equal(extractTraceContext({ traceparent }), undefined, traceparent)
  assert.equal(extractTraceContext({ traceparent: [TP, TP] }), undefined)
  assert.equal(extractTraceContext({ traceparent: [TP] })?.traceId, 0xabcdef0123456789n)
  assert.equal(extractTraceContext({ traceparent: 42 }), undefined)
  assert.equal(extractTraceContext({ traceparent: TP + '-' + 'x'.repeat(600) }), undefined)
})

test('traceparent: a future version may carry a tail', () => {
  assert.equal(extractTraceContext({ traceparent: '01' + TP.slice(2) + '-what-comes-next' })?.traceId, 0xabcdef0123456789n)
})

test('tracestate: the dd member gives priority, origin, last parent and trace tags', () => {
  const context = extractTraceContext({ traceparent: TP, tracestate: 'dd=s:2;o:synthetics~x;p:00000000000001c8;t.dm:-4;t.usr.id:a~b;t.tid:640cfd8d00000000,foo=bar' })
  assert.ok(context)
  assert.equal(context.samplingPriority, 2)
  assert.equal(context.origin, 'synthetics=x')
  assert.equal(context.lastParentId, '00000000000001c8')
  assert.deepEqual(context.traceTags, { '_dd.p.dm': '-4', '_dd.p.usr.id': 'a=b' })
  assert.equal(context.otherMembers, 'foo=bar', 'what a continued trace sends on after its own dd member')
  assert.equal(context.tracestate, 'dd=s:2;o:synthetics~x;p:00000000000001c8;t.dm:-4;t.usr.id:a~b;t.tid:640cfd8d00000000,foo=bar', 'what a link sends')
})

test('tracestate: p in upper case is read in lower case; all zero, short, long or not hex is no last parent', () => {
  const lastParent = (p: string): string | undefined => extractTraceContext({ traceparent: TP, tracestate: `dd=s:1;p:${p}` })?.lastParentId
  assert.equal(lastParent('00000000000001C8'), '00000000000001c8')
  assert.equal(lastParent('AbCdEf0123456789'), 'abcdef0123456789')
  assert.equal(lastParent('abcdef0123456789'), 'abcdef0123456789')
  for (const bad of ['0000000000000000', '00000000000001c', '00000000000001c80', '00000000000001g8', '00000000000001G8', '0000000-000001c8']) {
    assert.equal(lastParent(bad), undefined, bad)
  }
})

test('tracestate: s overrides the flag only when they agree', () => {
  const withS = (flags: string, s: string): number | undefined =>
    extractTraceContext({ traceparent: TP.slice(0, -2) + flags, tracestate: `dd=s:${s}` })?.samplingPriority
  assert.equal(withS('01', '2'), 2)
  assert.equal(withS('01', '-1'), 1)
  assert.equal(withS('00', '-1'), -1)
  assert.equal(withS('00', '2'), 0)
  assert.equal(withS('01', 'x'), 1)
  assert.equal(withS('01', '7'), 1)
})

test('tracestate: other vendors are kept in order; malformed and duplicate members are dropped', () => {
  const parsed = parseTracestate('a=1, b@c=2 ,dd=s:1,BAD=3,d= 4,e=5 ,a=6,f=,=7,g=x\u00e9,h=x=y, ,i=9')
  assert.equal(parsed.dd, 's:1')
  assert.equal(parsed.others, 'a=1,b@c=2,d= 4,e=5,i=9')
})

test('tracestate: the first 32 members are read, no more; values up to 256 characters', () => {
  const members = Array.from({ length: 40 }, (_, i) => `k${i}=v${i}`)
  const parsed = parseTracestate(members.join(','))
  assert.equal(parsed.others?.split(',').length, 31, 'room is left for the dd member')
  assert.ok(parsed.others?.startsWith('k0=v0,'))
  assert.equal(parseTracestate(members.slice(0, 31).join(',') + ',dd=s:1').dd, 's:1', 'the 32nd member is read')
  assert.equal(parseTracestate(members.slice(0, 32).join(',') + ',dd=s:1').dd, undefined, 'the 33rd is not')
  assert.equal(parseTracestate('a=' + 'x'.repeat(256)).others, 'a=' + 'x'.repeat(256))
  assert.equal(parseTracestate('a=' + 'x'.repeat(257)).others, undefined)
})

test('tracestate: repeated headers are joined; junk in the dd member is ignored field by field', () => {
  const context = extractTraceContext({ traceparent: TP, tracestate: ['foo=1', 'dd=s:1;p:zz;o:;t.dm:x;t.:1;junk;t.ok:1'] })
  assert.equal(context?.otherMembers, 'foo=1')
  assert.equal(context?.tracestate, 'dd=s:1;p:zz;o:;t.dm:x;t.:1;junk;t.ok:1,foo=1')
  assert.equal(context?.lastParentId, undefined)
  assert.equal(context?.origin, undefined)
  assert.deepEqual(context?.traceTags, { '_dd.p.ok': '1' })
})

test('inject: traceparent from the ids and priority; tracestate with the dd member first', () => {
  const carrier: Record<string, unknown> = {}
  injectTraceContext(outgoing({ samplingPriority: 2, decisionMaker: '-4', origin: 'rum', tags: { '_dd.p.usr.id': 'x' }, tracestate: 'foo=bar,baz=1' }), carrier, setOnObject)
  assert.equal(carrier.traceparent, '00-640cfd8d00000000abcdef0123456789-0123456789abcdef-01')
  assert.equal(carrier.tracestate, 'dd=s:2;p:0123456789abcdef;o:rum;t.dm:-4;t.tid:640cfd8d00000000;t.usr.id:x,foo=bar,baz=1')
})

test('inject: a 64-bit trace is zero-padded; a rejected or undecided trace has the sampled flag off', () => {
  const carrier: Record<string, unknown> = {}
  injectTraceContext(outgoing({ traceId: 42n, spanId: 7n, traceIdHigh: '', samplingPriority: 0, decisionMaker: undefined }), carrier, setOnObject)
  assert.equal(carrier.traceparent, '00-0000000000000000000000000000002a-0000000000000007-00')
  assert.equal(carrier.tracestate, 'dd=s:0;p:0000000000000007')
  injectTraceContext(outgoing({ samplingPriority: undefined }), carrier, setOnObject)
  assert.match(String(carrier.traceparent), /-00$/)
})

test('inject: a remote context forwards its upstream p (or none)', () => {
  assert.equal(formatDdMember(outgoing({ remote: true, lastParentId: '00000000000001c8' }), 'ignored'), 's:1;p:00000000000001c8;t.dm:-0;t.tid:640cfd8d00000000')
  assert.equal(formatDdMember(outgoing({ remote: true }), 'ignored'), 's:1;t.dm:-0;t.tid:640cfd8d00000000')
})

test('inject: origin and tag values are made safe for tracestate', () => {
  const dd = formatDdMember(outgoing({ origin: 'a=b,c;d~e', tags: { '_dd.p.k=,y': 'v=1;2,3~' } }), '0000000000000001')
  assert.equal(dd, 's:1;p:0000000000000001;o:a~b_c_d_e;t.dm:-0;t.tid:640cfd8d00000000;t.k__y:v~1_2_3_')
})

test('inject: the dd member stays within 256 characters, optional t.* fields go first', () => {
  const tags: Record<string, string> = {}
  for (let i = 0; i < 20; i++) tags[`_dd.p.k${i}`] = 'v'.repeat(20)
  const dd = formatDdMember(outgoing({ tags }), '0000000000000001')
  assert.ok(dd.length <= 256, String(dd.length))
  assert.ok(dd.startsWith('s:1;p:0000000000000001;t.dm:-0;t.tid:640cfd8d00000000;t.k0:'))
  // Exactly at the limit: every field fits.
  const base = formatDdMember(outgoing(), '0000000000000001')
  const room = 256 - base.length - ';t.x:'.length
  assert.equal(formatDdMember(outgoing({ tags: { '_dd.p.x': 'y'.repeat(room) } }), '0000000000000001').length, 256)
  assert.equal(formatDdMember(outgoing({ tags: { '_dd.p.x': 'y'.repeat(room + 1) } }), '0000000000000001'), base)
  // A mandatory part that cannot fit leaves the dd member out; the other vendors still go.
  const carrier: Record<string, unknown> = {}
  injectTraceContext(outgoing({ origin: 'o'.repeat(300), tracestate: 'foo=bar' }), carrier, setOnObject)
  assert.equal(carrier.tracestate, 'foo=bar')
})

test('traceparent random flag (0x02): read on extract, written back on inject only when it came in', () => {
  assert.equal(extractTraceContext({ traceparent: TP.slice(0, -2) + '03' })?.randomTraceId, true)
  assert.equal(extractTraceContext({ traceparent: TP.slice(0, -2) + '02' })?.randomTraceId, true)
  assert.equal(extractTraceContext({ traceparent: TP })?.randomTraceId, false)
  const carrier: Record<string, unknown> = {}
  injectTraceContext(outgoing({ randomTraceId: true }), carrier, setOnObject)
  assert.equal(carrier.traceparent, '00-640cfd8d00000000abcdef0123456789-0123456789abcdef-03')
  injectTraceContext(outgoing({ randomTraceId: true, samplingPriority: 0 }), carrier, setOnObject)
  assert.equal(carrier.traceparent, '00-640cfd8d00000000abcdef0123456789-0123456789abcdef-02')
  injectTraceContext(outgoing(), carrier, setOnObject)
  assert.equal(carrier.traceparent, '00-640cfd8d00000000abcdef0123456789-0123456789abcdef-01')
})

test('tracestate: empty list members are not members and do not count toward the 32', () => {
  const members = Array.from({ length: 31 }, (_, i) => `k${i}=v${i}`)
  const sparse = ',, ,\t,' + members.join(', ,') + ',,,' + ',dd=s:1'
  const parsed = parseTracestate(sparse)
  assert.equal(parsed.dd, 's:1', 'the 32nd member is read after any number of empty ones')
  assert.equal(parsed.others, members.join(','))
  const empties = ','.repeat(100) + 'a=1'
  assert.equal(parseTracestate(empties).others, 'a=1')
  assert.equal(parseTracestate(members.join(',,') + ',x=1,dd=s:1').dd, undefined, 'the 33rd non-empty member is still not read')
})
