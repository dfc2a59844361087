/** Keeps the last `capacity` items pushed, oldest first, without shifting arrays. */
export class RingBuffer<T> {
  readonly #capacity: number
  #items: T[] = []
  #start = 0

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`)
    this.#capacity = capacity
  }

  get size(): number {
    return this.#items.length
  }

  /** Adds an item; returns the oldest one when it had to make room for it. */
  push(item: T): T | undefined {
    if (this.#items.length < this.#capacity && this.#start === 0) {
      this.#items.push(item)
      return undefined
    }
    if (this.#items.length < this.#capacity) {
      // Only after shift(): the free slot sits just before #start, so insert there and keep the order.
      this.#items.splice(this.#start, 0, item)
      this.#start++
      return undefined
    }
    const evicted = this.#items[this.#start]
    this.#items[this.#start] = item
    this.#start = (this.#start + 1) % this.#capacity
    return evicted
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    if (this.#items.length === 0) return undefined
    const [oldest] = this.#items.splice(this.#start, 1)
    if (this.#start >= this.#items.length) this.#start = 0
    return oldest
  }

  toArray(): T[] {
    return this.#start === 0 ? this.#items.slice() : [...this.#items.slice(this.#start), ...this.#items.slice(0, this.#start)]
  }

  clear(): void {
    this.#items = []
    this.#start = 0
  }
}
