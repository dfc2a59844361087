import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeSketch, sketchQuantile } from '@datadog-apm/agent'
import { DDSketch, SKETCH_GAMMA, SKETCH_INDEX_OFFSET, SKETCH_MAX_BINS, SKETCH_RELATIVE_ACCURACY, sketchIndex, sketchValue } from '../src/stats/ddsketch.js'

const QUANTILES = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1]

/** A small deterministic PRNG (mulberry32), so a failure can be reproduced. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The exact quantile under the rank rule DDSketch uses: the element at floor(q·(n−1)) of the sorted values. */
function exact(sorted: readonly number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]
}

function checkAccuracy(name: string, values: number[]): void {
  const sketch = new DDSketch()
  for (const v of values) sketch.add(v)
  const sorted = [...values].sort((a, b) => a - b)
  assert.equal(sketch.count, values.length)
  for (const q of QUANTILES) {
    const want = exact(sorted, q)
    const got = sketch.quantile(q)
    const error = want === 0 ? got : Math.abs(got - want) / want
    assert.ok(error <= 0.01, `${name}: q=${q} sketch ${got} vs exact ${want} (relative error ${error})`)
    assert.ok(error <= SKETCH_RELATIVE_ACCURACY + 1e-12, `${name}: q=${q} within the sketch's own accuracy (${error})`)
  }
}

test('the mapping: γ = 1.015625, the backend offset, and every value within α of its bin value', () => {
  assert.equal(SKETCH_GAMMA, 1.015625)
  assert.equal(SKETCH_INDEX_OFFSET, 1338.5)
  for (let v = 1; v < 1e13; v *= 1.37) {
    const back = sketchValue(sketchIndex(v))
    assert.ok(Math.abs(back - v) / v <= SKETCH_RELATIVE_ACCURACY + 1e-12, `${v} -> ${back}`)
  }
  // The bin of value v covers [γ^(i−offset), γ^(i−offset+1)): its lower bound maps to i, just below it to i−1.
  const i = sketchIndex(1e6)
  const lower = Math.exp((i - SKETCH_INDEX_OFFSET) * Math.log(SKETCH_GAMMA))
  assert.equal(sketchIndex(lower * (1 + 1e-12)), i)
  assert.equal(sketchIndex(lower * (1 - 1e-9)), i - 1)
})

test('quantiles are within 1% of the exact ones: uniform latencies', () => {
  const random = rng(1)
  checkAccuracy('uniform 1µs..1s', Array.from({ length: 20_000 }, () => Math.round(1e3 + random() * 1e9)))
})

test('quantiles are within 1% of the exact ones: exponential latencies', () => {
  const random = rng(2)
  checkAccuracy('exponential mean 20ms', Array.from({ length: 20_000 }, () => Math.max(1, Math.round(-Math.log(1 - random()) * 2e7))))
})

test('quantiles are within 1% of the exact ones: a few spikes', () => {
  const values: number[] = []
  for (let i = 0; i < 5000; i++) values.push(1_200_000)
  for (let i = 0; i < 3000; i++) values.push(45_000_000)
  for (let i = 0; i < 100; i++) values.push(2_000_000_000)
  values.push(7)
  checkAccuracy('spikes', values)
})

test('zero, negative, NaN and infinite values count in the zero bin; a single value is its own quantiles', () => {
  const sketch = new DDSketch()
  for (const v of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) sketch.add(v)
  assert.equal(sketch.count, 4)
  assert.equal(sketch.zeroCount, 4)
  assert.equal(sketch.binCount, 0)
  assert.equal(sketch.quantile(0.5), 0)
  assert.equal(new DDSketch().quantile(0.5), 0, 'an empty sketch')
  const one = new DDSketch()
  one.add(123_456)
  for (const q of [0, 0.5, 1]) assert.ok(Math.abs(one.quantile(q) - 123_456) / 123_456 <= SKETCH_RELATIVE_ACCURACY)
})

test(`past ${SKETCH_MAX_BINS} bins the lowest collapse: counts are kept, the high quantiles stay accurate`, () => {
  // Values over 30 decades need ~4460 bins.
  const sketch = new DDSketch()
  const values: number[] = []
  for (let v = 1; v < 1e30; v *= 1.01) values.push(v)
  for (const v of values) sketch.add(v)
  assert.equal(sketch.count, values.length)
  assert.equal(sketch.binCount, SKETCH_MAX_BINS)
  const sorted = values
  for (const q of [0.75, 0.9, 0.99, 1]) {
    const want = exact(sorted, q)
    assert.ok(Math.abs(sketch.quantile(q) - want) / want <= SKETCH_RELATIVE_ACCURACY + 1e-12, `q=${q}`)
  }
  // The lowest values went into the lowest bin kept, so the low quantiles read high.
  assert.ok(sketch.quantile(0) > 1e10)
})

test('the store holds exactly the last bin range accepted, and collapses at the first one refused', () => {
  const low = sketchValue(5000)
  const highAccepted = sketchValue(5000 + SKETCH_MAX_BINS - 1)
  const sketch = new DDSketch()
  sketch.add(low)
  sketch.add(highAccepted)
  assert.equal(sketch.binCount, SKETCH_MAX_BINS)
  assert.ok(Math.abs(sketch.quantile(0) - low) / low < 1e-9)
  sketch.add(sketchValue(5000 + SKETCH_MAX_BINS))
  assert.equal(sketch.binCount, SKETCH_MAX_BINS)
  assert.ok(Math.abs(sketch.quantile(0) - sketchValue(5001)) / sketchValue(5001) < 1e-9, 'the lowest bin moved up by one')
  // Below the range when it is full: the value counts in the lowest bin.
  sketch.add(sketchValue(100))
  assert.equal(sketch.count, 4)
  assert.equal(sketch.binCount, SKETCH_MAX_BINS)
  // A value far above everything: all earlier bins collapse into one.
  sketch.add(sketchValue(5000 + 10 * SKETCH_MAX_BINS))
  assert.equal(sketch.binCount, SKETCH_MAX_BINS)
  assert.equal(sketch.count, 5)
  assert.ok(Math.abs(sketch.quantile(0.5) - sketchValue(5000 + 9 * SKETCH_MAX_BINS + 1)) / sketch.quantile(0.5) < 1e-9)
})

test('random adds in any order match a plain histogram of the same values', () => {
  const random = rng(7)
  for (let round = 0; round < 20; round++) {
    const sketch = new DDSketch()
    const counts = new Map<number, number>()
    for (let i = 0; i < 500; i++) {
      const index = 1000 + Math.floor(random() * 1500)
      sketch.add(sketchValue(index))
      counts.set(index, (counts.get(index) ?? 0) + 1)
    }
    const decoded = decodeSketch(sketch.toProto())
    assert.equal(decoded.count, 500)
    const want = [...counts].sort((a, b) => a[0] - b[0]).map(([index, count]) => ({ value: sketchValue(index), count }))
    assert.equal(decoded.bins.length, want.length)
    decoded.bins.forEach((bin, i) => {
      assert.ok(Math.abs(bin.value - want[i].value) / want[i].value < 1e-9)
      assert.equal(bin.count, want[i].count)
    })
  }
})

test('toProto writes the DDSketch protobuf: mapping, contiguous positive bins, an empty negative store, the zero count', () => {
  const sketch = new DDSketch()
  sketch.add(1_000_000)
  sketch.add(1_000_000)
  sketch.add(0)
  const index = sketchIndex(1_000_000)
  const f64 = (v: number): number[] => {
    const b = new DataView(new ArrayBuffer(8))
    b.setFloat64(0, v, true)
    return [...new Uint8Array(b.buffer)]
  }
  const varint = (n: number): number[] => {
    const out: number[] = []
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80)
      n = Math.floor(n / 128)
    }
    out.push(n)
    return out
  }
  const offset = varint(index * 2)
  const store = [0x12, 8, ...f64(2), 0x18, ...offset]
  const expected = [0x0a, 18, 0x09, ...f64(SKETCH_GAMMA), 0x11, ...f64(SKETCH_INDEX_OFFSET), 0x12, store.length, ...store, 0x1a, 0, 0x21, ...f64(1)]
  assert.deepEqual([...sketch.toProto()], expected)
  const decoded = decodeSketch(sketch.toProto())
  assert.equal(decoded.count, 3)
  assert.equal(decoded.zeroCount, 1)
  assert.equal(decoded.gamma, SKETCH_GAMMA)
  assert.ok(Math.abs(sketchQuantile([decoded], 1) - 1_000_000) / 1e6 <= SKETCH_RELATIVE_ACCURACY)
  const empty = decodeSketch(new DDSketch().toProto())
  assert.equal(empty.count, 0)
})
