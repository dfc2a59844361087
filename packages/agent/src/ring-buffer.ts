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

  push(item: T): void {
    if (this.#items.length < this.#capacity) {
      this.#items.push(item)
      return
    }
    this.#items[this.#start] = item
    this.#start = (this.#start + 1) % this.#capacity
  }

  toArray(): T[] {
    return this.#start === 0 ? this.#items.slice() : [...this.#items.slice(this.#start), ...this.#items.slice(0, this.#start)]
  }

  clear(): void {
    this.#items = []
    this.#start = 0
  }
}
