/**
 * The recent points of one series, oldest first, in two fixed arrays used as a ring: a series costs
 * 16 bytes a point whatever it receives.
 */
export class PointRing {
  readonly #times: Float64Array
  readonly #values: Float64Array
  #start = 0
  #size = 0

  constructor(capacity: number) {
    this.#times = new Float64Array(capacity)
    this.#values = new Float64Array(capacity)
  }

  get size(): number {
    return this.#size
  }

  push(time: number, value: number): void {
    const capacity = this.#times.length
    const at = (this.#start + this.#size) % capacity
    this.#times[at] = time
    this.#values[at] = value
    if (this.#size < capacity) this.#size++
    else this.#start = (this.#start + 1) % capacity
  }

  /** Points as `[time ms, value]`, oldest first; with `since`, only those after it. */
  points(since = -Infinity): Array<[number, number]> {
    const out: Array<[number, number]> = []
    const capacity = this.#times.length
    for (let i = 0; i < this.#size; i++) {
      const at = (this.#start + i) % capacity
      const time = this.#times[at]
      if (time > since) out.push([time, this.#values[at]])
    }
    return out
  }

  last(): [number, number] | undefined {
    if (this.#size === 0) return undefined
    const at = (this.#start + this.#size - 1) % this.#times.length
    return [this.#times[at], this.#values[at]]
  }
}
