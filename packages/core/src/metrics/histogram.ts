import { DDSketch } from '../stats/ddsketch.js'

/**
 * The values of one histogram between two flushes: exact count, sum, min and max, and the median and
 * 95th percentile from a DDSketch (within 0.8%), as dd-trace's aggregating client keeps them. Memory is
 * bounded by the sketch's bin limit whatever the number of values.
 */
export class MetricHistogram {
  // The sketch takes values above 0 only: values below 0 go to a second sketch, negated.
  readonly #positive = new DDSketch()
  #negative: DDSketch | undefined
  count = 0
  sum = 0
  min = Infinity
  max = -Infinity

  record(value: number): void {
    this.count++
    this.sum += value
    if (value < this.min) this.min = value
    if (value > this.max) this.max = value
    if (value < 0) (this.#negative ??= new DDSketch()).add(-value)
    else this.#positive.add(value)
  }

  get avg(): number {
    return this.count === 0 ? 0 : this.sum / this.count
  }

  /** The value at quantile q (0..1), clamped to the exact min and max; 0 when empty. */
  percentile(q: number): number {
    if (this.count === 0) return 0
    const rank = q * (this.count - 1)
    const negative = this.#negative
    const negatives = negative?.count ?? 0
    let value: number
    if (negative !== undefined && rank < negatives) {
      // Ascending order of the negatives is descending order of their magnitudes.
      value = -negative.quantile(negatives === 1 ? 0 : 1 - rank / (negatives - 1))
    } else {
      const positives = this.#positive.count
      value = this.#positive.quantile(positives <= 1 ? 0 : (rank - negatives) / (positives - 1))
    }
    return Math.min(this.max, Math.max(this.min, value))
  }
}
