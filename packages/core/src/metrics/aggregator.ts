import { formatLine, MetricType, type LineSuffix } from './dogstatsd-line.js'
import { MetricHistogram } from './histogram.js'

/** Distinct metric-and-tags contexts held between two flushes, at most; new ones past it are dropped and counted. */
export const DEFAULT_MAX_CONTEXTS = 10_000
/** Distribution values held between two flushes (each is a line of its own), at most. */
export const DEFAULT_MAX_DISTRIBUTION_VALUES = 10_000

export interface AggregatorOptions {
  /** Default `DEFAULT_MAX_CONTEXTS`. */
  maxContexts?: number
  /** Default `DEFAULT_MAX_DISTRIBUTION_VALUES`. */
  maxDistributionValues?: number
}

/** What one drain held, by type, for the client's own telemetry (dd-trace's `datadog.dogstatsd.client.*`). */
export interface DrainCounts {
  /** Calls that fed the drained lines: count, gauge, distribution, histogram. */
  readonly metrics: readonly [number, number, number, number]
  /** Distinct contexts aggregated: count, gauge, distribution (always 0), histogram. */
  readonly contexts: readonly [number, number, number, number]
}

const zero = (): number => 0
const newHistogram = (): MetricHistogram => new MetricHistogram()

interface Entry<V> {
  readonly name: string
  readonly tags: string
  value: V
  submissions: number
}

/**
 * Aggregates metrics between flushes as dd-trace's aggregating client does: a count sends its sum, a
 * gauge its last value, a histogram becomes the gauges `.min .max .avg .median .95percentile` and the
 * counts `.sum .total .count`; a distribution is not aggregated, each value is a `|d` line. Tags are one
 * string, `a:b,c:d`, already joined by the caller. Calls cost a map look-up: no I/O, no timers.
 */
export class MetricsAggregator {
  readonly #suffix: LineSuffix
  readonly #maxContexts: number
  readonly #maxDistributions: number
  #counts = new Map<string, Entry<number>>()
  #gauges = new Map<string, Entry<number>>()
  #histograms = new Map<string, Entry<MetricHistogram>>()
  #distributions: string[] = []
  /** Values refused since the start: a new context past the limit, or a value that is not a finite number. */
  dropped = 0

  constructor(suffix: LineSuffix, options: AggregatorOptions = {}) {
    this.#suffix = suffix
    this.#maxContexts = options.maxContexts ?? DEFAULT_MAX_CONTEXTS
    this.#maxDistributions = options.maxDistributionValues ?? DEFAULT_MAX_DISTRIBUTION_VALUES
  }

  get contexts(): number {
    return this.#counts.size + this.#gauges.size + this.#histograms.size
  }

  count(name: string, value: number, tags = ''): void {
    const entry = this.#entry(this.#counts, name, tags, zero, value)
    if (entry !== undefined) entry.value += value
  }

  gauge(name: string, value: number, tags = ''): void {
    const entry = this.#entry(this.#gauges, name, tags, zero, value)
    if (entry !== undefined) entry.value = value
  }

  histogram(name: string, value: number, tags = ''): void {
    this.#entry(this.#histograms, name, tags, newHistogram, value)?.value.record(value)
  }

  distribution(name: string, value: number, tags = ''): void {
    if (!Number.isFinite(value) || this.#distributions.length >= this.#maxDistributions) {
      this.dropped++
      return
    }
    this.#distributions.push(formatLine(name, value, MetricType.DISTRIBUTION, tags, this.#suffix))
  }

  #entry<V>(map: Map<string, Entry<V>>, name: string, tags: string, initial: () => V, value: number): Entry<V> | undefined {
    if (!Number.isFinite(value)) {
      this.dropped++
      return undefined
    }
    const key = tags === '' ? name : `${name}#${tags}`
    let entry = map.get(key)
    if (entry === undefined) {
      if (this.contexts >= this.#maxContexts) {
        this.dropped++
        return undefined
      }
      entry = { name, tags, value: initial(), submissions: 0 }
      map.set(key, entry)
    }
    entry.submissions++
    return entry
  }

  /** The lines of everything held since the last drain, and forgets it. */
  drain(): { lines: string[]; counts: DrainCounts } {
    const suffix = this.#suffix
    const lines = this.#distributions
    const metrics: [number, number, number, number] = [0, 0, lines.length, 0]
    const contexts: [number, number, number, number] = [this.#counts.size, this.#gauges.size, 0, this.#histograms.size]
    for (const e of this.#counts.values()) {
      metrics[0] += e.submissions
      lines.push(formatLine(e.name, e.value, MetricType.COUNT, e.tags, suffix))
    }
    for (const e of this.#gauges.values()) {
      metrics[1] += e.submissions
      lines.push(formatLine(e.name, e.value, MetricType.GAUGE, e.tags, suffix))
    }
    for (const e of this.#histograms.values()) {
      metrics[3] += e.submissions
      const h = e.value
      const { name, tags } = e
      lines.push(
        formatLine(`${name}.min`, h.min, MetricType.GAUGE, tags, suffix),
        formatLine(`${name}.max`, h.max, MetricType.GAUGE, tags, suffix),
        formatLine(`${name}.sum`, h.sum, MetricType.COUNT, tags, suffix),
        formatLine(`${name}.total`, h.sum, MetricType.COUNT, tags, suffix),
        formatLine(`${name}.avg`, h.avg, MetricType.GAUGE, tags, suffix),
        formatLine(`${name}.count`, h.count, MetricType.COUNT, tags, suffix),
        formatLine(`${name}.median`, h.percentile(0.5), MetricType.GAUGE, tags, suffix),
        formatLine(`${name}.95percentile`, h.percentile(0.95), MetricType.GAUGE, tags, suffix)
      )
    }
    this.#counts = new Map()
    this.#gauges = new Map()
    this.#histograms = new Map()
    this.#distributions = []
    return { lines, counts: { metrics, contexts } }
  }
}
