/** Options of a `RateLimiter`. */
export interface RateLimiterOptions {
  /** Allowed per second; below 0 allows everything, 0 nothing. Fractions are allowed (0.5 = one every 2 s). */
  readonly perSecond: number
  /** Milliseconds from any fixed origin. Default `performance.now`; tests pass a fake clock. */
  readonly now?: () => number
}

const WINDOW_MS = 1000

/**
 * A token bucket holding at most one second of tokens (at least one), refilled continuously: a burst of
 * `perSecond` passes at once, then `perSecond` a second. It also counts allowed and requested calls over
 * the current and the previous one-second window, for `_dd.limit_psr` (the share it let through lately,
 * which the backend uses to scale kept traces back up).
 */
export class RateLimiter {
  readonly perSecond: number
  readonly #now: () => number
  readonly #capacity: number
  readonly #tokensPerMs: number
  #tokens: number
  #refilledAt: number
  #windowStart: number
  #allowed = 0
  #requested = 0
  #previousAllowed = 0
  #previousRequested = 0

  constructor(options: RateLimiterOptions) {
    this.perSecond = options.perSecond
    this.#now = options.now ?? performance.now.bind(performance)
    this.#capacity = Math.max(1, options.perSecond)
    this.#tokensPerMs = options.perSecond / WINDOW_MS
    this.#tokens = this.#capacity
    const now = this.#now()
    this.#refilledAt = now
    this.#windowStart = now
  }

  /** Takes a token if there is one. */
  allow(): boolean {
    const perSecond = this.perSecond
    if (perSecond < 0) return true
    if (perSecond === 0) return false
    const now = this.#now()
    const elapsed = now - this.#refilledAt
    if (elapsed > 0) {
      const tokens = this.#tokens + elapsed * this.#tokensPerMs
      this.#tokens = tokens > this.#capacity ? this.#capacity : tokens
      this.#refilledAt = now
    }
    const sinceWindow = now - this.#windowStart
    if (sinceWindow >= WINDOW_MS) {
      // A gap of two windows or more means nothing was requested in the previous one.
      const adjacent = sinceWindow < 2 * WINDOW_MS
      this.#previousAllowed = adjacent ? this.#allowed : 0
      this.#previousRequested = adjacent ? this.#requested : 0
      this.#allowed = 0
      this.#requested = 0
      this.#windowStart = adjacent ? this.#windowStart + WINDOW_MS : now
    }
    this.#requested++
    if (this.#tokens >= 1) {
      this.#tokens -= 1
      this.#allowed++
      return true
    }
    return false
  }

  /** Allowed ÷ requested over the current and previous second; 1 before any request (and when unlimited). */
  effectiveRate(): number {
    if (this.perSecond < 0) return 1
    if (this.perSecond === 0) return 0
    const requested = this.#requested + this.#previousRequested
    return requested === 0 ? 1 : (this.#allowed + this.#previousAllowed) / requested
  }
}
