import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BufferPool } from '../src/wire/buffer-pool.js'

test('take gives a buffer of the size asked for; once released, its block serves the next payload that fits', () => {
  const pool = new BufferPool()
  const first = pool.take(1000)
  assert.equal(first.length, 1000)
  assert.equal(first.buffer.byteLength, 64 * 1024, 'blocks start at 64 KiB')
  first.fill(7)
  pool.release(first)
  assert.equal(pool.freeCount, 1)
  const second = pool.take(5000)
  assert.equal(second.buffer, first.buffer, 'the same block again')
  assert.equal(second.length, 5000)
  assert.equal(pool.freeCount, 0)
  const larger = pool.take(100_000)
  assert.notEqual(larger.buffer, first.buffer)
  assert.equal(larger.buffer.byteLength, 128 * 1024, 'a power of two that holds it')
})

test('release takes back only blocks the pool made, each once, and keeps the larger ones when full', () => {
  const pool = new BufferPool(2)
  pool.release(Buffer.alloc(10))
  pool.release(Buffer.from('a slice of the shared pool'))
  pool.release(new Uint8Array(64 * 1024))
  assert.equal(pool.freeCount, 0, 'foreign buffers are ignored')
  const a = pool.take(10)
  pool.release(a)
  pool.release(a)
  assert.equal(pool.freeCount, 1, 'a second release of the same block is ignored')
  const b = pool.take(10) // a again
  const c = pool.take(10)
  const big = pool.take(200_000)
  pool.release(b)
  pool.release(c)
  pool.release(big)
  assert.equal(pool.freeCount, 2)
  const taken = [pool.take(200_000), pool.take(10)]
  assert.deepEqual(
    taken.map((x) => x.buffer.byteLength),
    [256 * 1024, 64 * 1024],
    'the large block replaced a small one'
  )
})

test('blocks over 4 MiB are left to the garbage collector', () => {
  const pool = new BufferPool()
  const huge = pool.take(5 * 1024 * 1024)
  pool.release(huge)
  assert.equal(pool.freeCount, 0)
})
