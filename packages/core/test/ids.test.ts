import assert from 'node:assert/strict'
import { test } from 'node:test'
import { idToHex, isTraceIdHigh, randomId, traceIdHighHex } from '../src/model/ids.js'

test('random ids are non-zero, 63-bit and distinct across pool refills', () => {
  const seen = new Set<bigint>()
  for (let i = 0; i < 5000; i++) {
    const id = randomId()
    assert.ok(id > 0n, 'id is non-zero')
    assert.ok(id < 1n << 63n, 'top bit is clear')
    seen.add(id)
  }
  assert.equal(seen.size, 5000)
})

test('the top bit is cleared but the rest of the 63 bits vary', () => {
  let or = 0n
  for (let i = 0; i < 2000; i++) or |= randomId()
  assert.equal(or, (1n << 63n) - 1n)
})

test('the high half of a 128-bit trace id is unix seconds in hex followed by eight zeros', () => {
  assert.equal(traceIdHighHex(0x6543_2100 * 1000 + 999), '6543210000000000')
  assert.equal(traceIdHighHex(1000), '0000000100000000')
  const now = traceIdHighHex()
  assert.equal(now.length, 16)
  assert.equal(parseInt(now.slice(0, 8), 16), Math.floor(Date.now() / 1000))
})

test('tid validity: 16 lowercase hex digits, not all zero', () => {
  assert.equal(isTraceIdHigh('6543210000000000'), true)
  assert.equal(isTraceIdHigh('0000000000000000'), false)
  assert.equal(isTraceIdHigh('6543210000000000a'), false)
  assert.equal(isTraceIdHigh('654321000000000'), false)
  assert.equal(isTraceIdHigh('ABCDEF0000000000'), false)
})

test('hex formatting pads to 16 digits and is exact at the 64-bit edges', () => {
  assert.equal(idToHex(1n), '0000000000000001')
  assert.equal(idToHex(2n ** 63n), '8000000000000000')
  assert.equal(idToHex(2n ** 64n - 1n), 'ffffffffffffffff')
})
