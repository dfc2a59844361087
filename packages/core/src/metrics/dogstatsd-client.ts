import type { MetricsAggregator } from './aggregator.js'
import { safeMetricName, safeTag } from './dogstatsd-line.js'

/** A metric's own tags: `{ key: value }`, or `key:value` strings as DogStatsD writes them. */
export type MetricTags = Readonly<Record<string, string | number | boolean>> | readonly string[]

/**
 * Custom metrics over DogStatsD, as dd-trace's `tracer.dogstatsd`. Counts, gauges and histograms are
 * aggregated in the process and sent every 10 s (a count its sum, a gauge its last value, a histogram
 * its min, max, sum, count, average, median and 95th percentile); each distribution value goes to the
 * agent as is, to be aggregated there. No call throws or does I/O.
 */
export interface DogStatsD {
  /** Adds `value` (default 1) to a count. */
  increment(stat: string, value?: number, tags?: MetricTags): void
  /** Subtracts `value` (default 1) from a count. */
  decrement(stat: string, value?: number, tags?: MetricTags): void
  gauge(stat: string, value: number, tags?: MetricTags): void
  histogram(stat: string, value: number, tags?: MetricTags): void
  distribution(stat: string, value: number, tags?: MetricTags): void
  /** Sends what was recorded so far; resolves once it went out (or was dropped). Never rejects. */
  flush(): Promise<void>
}

/** The metric's tags as one string, `a:b,c:d`, with what would break a DogStatsD line replaced. */
export function joinTags(tags: MetricTags | undefined): string {
  if (tags === undefined || tags === null || typeof tags !== 'object') return ''
  let out = ''
  if (Array.isArray(tags)) {
    for (const tag of tags as readonly unknown[]) {
      if (typeof tag !== 'string' || tag === '') continue
      out += out === '' ? safeTag(tag) : `,${safeTag(tag)}`
    }
    return out
  }
  for (const key of Object.keys(tags)) {
    const tag = safeTag(`${key}:${String((tags as Record<string, unknown>)[key])}`)
    out += out === '' ? tag : `,${tag}`
  }
  return out
}

function numberOf(value: unknown): number {
  return typeof value === 'number' ? value : Number(value)
}

/** `tracer.dogstatsd`: checks and translates each call, then hands it to the aggregator. */
export class DogStatsDClient implements DogStatsD {
  readonly #metrics: MetricsAggregator
  readonly #flush: () => Promise<void>

  constructor(metrics: MetricsAggregator, flush: () => Promise<void>) {
    this.#metrics = metrics
    this.#flush = flush
  }

  increment(stat: string, value?: number | MetricTags, tags?: MetricTags): void {
    this.#count(stat, value, tags, 1)
  }

  decrement(stat: string, value?: number | MetricTags, tags?: MetricTags): void {
    this.#count(stat, value, tags, -1)
  }

  #count(stat: string, value: number | MetricTags | undefined, tags: MetricTags | undefined, sign: 1 | -1): void {
    try {
      if (typeof stat !== 'string' || stat === '') return
      // `increment(name, { tag: 'x' })` is a common slip for `increment(name, 1, { tag: 'x' })`.
      if (value !== null && typeof value === 'object') {
        tags = value
        value = undefined
      }
      this.#metrics.count(safeMetricName(stat), sign * (value === undefined ? 1 : numberOf(value)), joinTags(tags))
    } catch {
      // A metric call never breaks the caller.
    }
  }

  gauge(stat: string, value: number, tags?: MetricTags): void {
    try {
      if (typeof stat === 'string' && stat !== '') this.#metrics.gauge(safeMetricName(stat), numberOf(value), joinTags(tags))
    } catch {
      // As above.
    }
  }

  histogram(stat: string, value: number, tags?: MetricTags): void {
    try {
      if (typeof stat === 'string' && stat !== '') this.#metrics.histogram(safeMetricName(stat), numberOf(value), joinTags(tags))
    } catch {
      // As above.
    }
  }

  distribution(stat: string, value: number, tags?: MetricTags): void {
    try {
      if (typeof stat === 'string' && stat !== '') this.#metrics.distribution(safeMetricName(stat), numberOf(value), joinTags(tags))
    } catch {
      // As above.
    }
  }

  flush(): Promise<void> {
    return this.#flush().catch(() => undefined)
  }
}

/** The client of a disabled tracer: every call does nothing. */
export const NOOP_DOGSTATSD: DogStatsD = Object.freeze({
  increment(): void {},
  decrement(): void {},
  gauge(): void {},
  histogram(): void {},
  distribution(): void {},
  flush: (): Promise<void> => Promise.resolve()
})
