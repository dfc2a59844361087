import assert from 'node:assert/strict'
import { randomFillSync } from 'node:crypto'
import { test } from 'node:test'
import { keepThreshold, keeps } from '../src/sampling/keep-test.js'

// Hashes computed independently of the code under test, in Python:
//   K = 1111111111111111111; print((i * K) % 2**64)
const VECTORS: ReadonlyArray<readonly [id: bigint, hash: bigint]> = [
  [0n, 0n],
  [1n, 1111111111111111111n],
  [2n, 2222222222222222222n],
  [5n, 5555555555555555555n],
  [2n ** 63n, 9223372036854775808n],
  [2n ** 63n - 1n, 8112260925743664697n],
  [2n ** 64n - 1n, 17335632962598440505n],
  [12345678901234567890n, 1908804064858086206n],
  [0x1234567890abcdefn, 17382725068285514697n]
]

test('keep test against known vectors: kept at a threshold equal to the hash, dropped one below', () => {
  for (const [id, hash] of VECTORS) {
    assert.equal(keeps(id, hash), true, `id ${id} kept at threshold ${hash}`)
    if (hash > 0n) assert.equal(keeps(id, hash - 1n), false, `id ${id} dropped at threshold ${hash - 1n}`)
  }
})

test('thresholds: rate × 2^64 (what 2^64−1 is as a double), exact at the powers of two', () => {
  assert.equal(keepThreshold(0.5), 2n ** 63n)
  assert.equal(keepThreshold(0.25), 2n ** 62n)
  assert.equal(keepThreshold(1), 2n ** 64n)
  assert.equal(keepThreshold(2), 2n ** 64n)
  // Python: int(0.1 * 2**64) = 1844674407370955264 (0.1 is not exact as a double).
  assert.equal(keepThreshold(0.1), 1844674407370955264n)
  assert.equal(keepThreshold(0), -1n)
  assert.equal(keepThreshold(-0.5), -1n)
  assert.equal(keepThreshold(Number.NaN), -1n)
})

test('rates at the boundaries of the vectors: ≤ keeps, and rates 0 and 1 keep nothing and everything', () => {
  // id 2^63 hashes to exactly 2^63 = the threshold of 0.5: kept (≤), dropped just below.
  assert.equal(keeps(2n ** 63n, keepThreshold(0.5)), true)
  assert.equal(keeps(2n ** 63n, keepThreshold(0.4999999)), false)
  // id 1 hashes to 0.0602… of the range, id 2^64−1 to 0.9398…
  assert.equal(keeps(1n, keepThreshold(0.07)), true)
  assert.equal(keeps(1n, keepThreshold(0.06)), false)
  assert.equal(keeps(2n ** 64n - 1n, keepThreshold(0.94)), true)
  assert.equal(keeps(2n ** 64n - 1n, keepThreshold(0.9397)), false)
  // id 0 hashes to 0, which `≤ 0` would keep at rate 0: rate 0 keeps nothing at all.
  assert.equal(keeps(0n, keepThreshold(0)), false)
  assert.equal(keeps(0n, keepThreshold(1e-30)), true)
  for (const [id] of VECTORS) {
    assert.equal(keeps(id, keepThreshold(1)), true)
    assert.equal(keeps(id, keepThreshold(0)), false)
  }
})

test('over random ids the kept share follows the rate', () => {
  const ids = new BigUint64Array(20_000)
  randomFillSync(ids)
  for (const rate of [0.1, 0.3, 0.75]) {
    const threshold = keepThreshold(rate)
    let kept = 0
    for (const id of ids) if (keeps(id, threshold)) kept++
    // 20000 draws: the standard deviation of the share is under 0.0035; 0.02 is about 6 of them.
    assert.ok(Math.abs(kept / ids.length - rate) < 0.02, `rate ${rate}: kept ${kept}`)
  }
})

test('a 63-bit id and its 64-bit wraparound agree with the plain BigInt formula', () => {
  const ids = new BigUint64Array(1000)
  randomFillSync(ids)
  const threshold = keepThreshold(0.37)
  for (const id of ids) {
    const expected = (id * 1111111111111111111n) % 2n ** 64n <= BigInt(Math.floor(0.37 * 2 ** 64))
    assert.equal(keeps(id, threshold), expected)
  }
})
