import assert from 'node:assert/strict'
import { test } from 'node:test'
import { extractB3Multi, extractB3Single, injectB3Multi, injectB3Single } from '../src/propagation/b3.js'
import { setOnObject } from '../src/propagation/carrier.js'
import { OutgoingContext } from '../src/propagation/outgoing-context.js'

function outgoing(priority: number | undefined, parentId = 0n, high = ''): OutgoingContext {
  return new OutgoingContext(0xabcdef0123456789n, high, 0x11n, parentId, priority, undefined, undefined, {}, undefined, undefined, undefined, false)
}

test('b3multi: 64- and 128-bit ids, sampled and debug flags', () => {
  const context = extractB3Multi({ 'x-b3-traceid': '640cfd8d00000000abcdef0123456789', 'x-b3-spanid': '0123456789ABCDEF', 'x-b3-sampled': '1' })
  assert.equal(context?.traceId, 0xabcdef0123456789n)
  assert.equal(context?.traceIdHigh, '640cfd8d00000000')
  assert.equal(context?.spanId, 0x0123456789abcdefn)
  assert.equal(context?.samplingPriority, 1)
  const short = extractB3Multi({ 'x-b3-traceid': 'abcdef0123456789', 'x-b3-spanid': '0000000000000001', 'x-b3-sampled': '0' })
  assert.equal(short?.traceIdHigh, '')
  assert.equal(short?.samplingPriority, 0)
  assert.equal(extractB3Multi({ 'x-b3-traceid': 'abcdef0123456789', 'x-b3-spanid': '0000000000000001', 'x-b3-flags': '1' })?.samplingPriority, 2)
  assert.equal(extractB3Multi({ 'x-b3-traceid': 'abcdef0123456789', 'x-b3-spanid': '0000000000000001' })?.samplingPriority, undefined)
})

test('b3multi: bad or missing ids are ignored, a sampling-only header too', () => {
  for (const carrier of [
    { 'x-b3-sampled': '1' },
    { 'x-b3-traceid': 'abcdef012345678', 'x-b3-spanid': '0000000000000001' },
    { 'x-b3-traceid': 'abcdef0123456789', 'x-b3-spanid': '000000000000001' },
    { 'x-b3-traceid': '0000000000000000', 'x-b3-spanid': '0000000000000001' },
    { 'x-b3-traceid': 'abcdef0123456789', 'x-b3-spanid': '0000000000000000' },
    { 'x-b3-traceid': 'abcdef0123456789abcdef0123456789ab', 'x-b3-spanid': '0000000000000001' },
    { 'x-b3-traceid': 'zzcdef0123456789', 'x-b3-spanid': '0000000000000001' }
  ]) {
    assert.equal(extractB3Multi(carrier), undefined, JSON.stringify(carrier))
  }
})

test('b3 single header: ids, sampled state and optional parent', () => {
  const context = extractB3Single({ b3: '640cfd8d00000000abcdef0123456789-0123456789abcdef-d-0000000000000009' })
  assert.equal(context?.traceIdHigh, '640cfd8d00000000')
  assert.equal(context?.samplingPriority, 2)
  assert.equal(extractB3Single({ b3: 'abcdef0123456789-0123456789abcdef-0' })?.samplingPriority, 0)
  assert.equal(extractB3Single({ b3: 'abcdef0123456789-0123456789abcdef' })?.samplingPriority, undefined)
  for (const b3 of ['1', 'd', 'abcdef0123456789', 'abcdef0123456789-0123456789abcdef-2', 'abcdef0123456789-0123456789abcdef-1-xyz', '0000000000000000-0123456789abcdef-1', 'x'.repeat(200)]) {
    assert.equal(extractB3Single({ b3 }), undefined, b3)
  }
})

test('inject b3multi and b3: hex ids, sampled, debug flag and parent', () => {
  const multi: Record<string, unknown> = {}
  injectB3Multi(outgoing(2, 5n, '640cfd8d00000000'), multi, setOnObject)
  assert.deepEqual(multi, {
    'x-b3-traceid': '640cfd8d00000000abcdef0123456789',
    'x-b3-spanid': '0000000000000011',
    'x-b3-sampled': '1',
    'x-b3-flags': '1',
    'x-b3-parentspanid': '0000000000000005'
  })
  const reject: Record<string, unknown> = {}
  injectB3Multi(outgoing(-1), reject, setOnObject)
  assert.deepEqual(reject, { 'x-b3-traceid': 'abcdef0123456789', 'x-b3-spanid': '0000000000000011', 'x-b3-sampled': '0' })
  const single: Record<string, unknown> = {}
  injectB3Single(outgoing(1, 5n), single, setOnObject)
  assert.equal(single.b3, 'abcdef0123456789-0000000000000011-1-0000000000000005')
  injectB3Single(outgoing(undefined, 5n), single, setOnObject)
  assert.equal(single.b3, 'abcdef0123456789-0000000000000011')
})
