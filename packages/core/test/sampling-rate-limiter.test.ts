import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RateLimiter } from '../src/sampling/rate-limiter.js'

function fakeClock(start = 1000): { now: () => number; advance: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => (t += ms) }
}

function take(limiter: RateLimiter, count: number): number {
  let allowed = 0
  for (let i = 0; i < count; i++) if (limiter.allow()) allowed++
  return allowed
}

test('a burst: the 100th call of a second is allowed, the 101st refused', () => {
  const clock = fakeClock()
  const limiter = new RateLimiter({ perSecond: 100, now: clock.now })
  assert.equal(take(limiter, 100), 100)
  assert.equal(limiter.allow(), false)
  assert.equal(take(limiter, 49), 0)
  assert.equal(limiter.effectiveRate(), 100 / 150)
})

test('tokens come back continuously, never more than one second of them', () => {
  const clock = fakeClock()
  const limiter = new RateLimiter({ perSecond: 100, now: clock.now })
  assert.equal(take(limiter, 200), 100)
  clock.advance(10)
  assert.equal(take(limiter, 5), 1, '10 ms at 100/s is one token')
  clock.advance(500)
  assert.equal(take(limiter, 100), 50)
  clock.advance(60_000)
  assert.equal(take(limiter, 1000), 100, 'an idle minute refills the bucket to 100, not 6000')
})

test('effective rate: allowed ÷ requested over this second and the one before', () => {
  const clock = fakeClock()
  const limiter = new RateLimiter({ perSecond: 10, now: clock.now })
  assert.equal(limiter.effectiveRate(), 1, 'before any request')
  take(limiter, 40)
  assert.equal(limiter.effectiveRate(), 10 / 40)
  clock.advance(1000)
  take(limiter, 10)
  assert.equal(limiter.effectiveRate(), (10 + 10) / (40 + 10))
  clock.advance(1000)
  take(limiter, 5)
  assert.equal(limiter.effectiveRate(), (10 + 5) / (10 + 5), 'the first second has left the window')
  clock.advance(5000)
  take(limiter, 20)
  assert.equal(limiter.effectiveRate(), 10 / 20, 'after a gap the previous second had no requests')
})

test('below 0 is no limit, 0 allows nothing', () => {
  const clock = fakeClock()
  const unlimited = new RateLimiter({ perSecond: -1, now: clock.now })
  assert.equal(take(unlimited, 10_000), 10_000)
  assert.equal(unlimited.effectiveRate(), 1)
  const none = new RateLimiter({ perSecond: 0, now: clock.now })
  assert.equal(take(none, 10), 0)
  assert.equal(none.effectiveRate(), 0)
})

test('a fractional rate: one now, the next after two seconds', () => {
  const clock = fakeClock()
  const limiter = new RateLimiter({ perSecond: 0.5, now: clock.now })
  assert.equal(take(limiter, 3), 1)
  clock.advance(1999)
  assert.equal(limiter.allow(), false)
  clock.advance(1)
  assert.equal(limiter.allow(), true)
})

test('a clock that goes backwards takes nothing and gives nothing', () => {
  const clock = fakeClock(10_000)
  const limiter = new RateLimiter({ perSecond: 2, now: clock.now })
  assert.equal(take(limiter, 3), 2)
  clock.advance(-5000)
  assert.equal(limiter.allow(), false)
  clock.advance(5500)
  assert.equal(limiter.allow(), true)
})
