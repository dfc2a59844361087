/** The smallest buffer the pool makes: interval flushes of a few traces share one size. */
const MIN_CAPACITY = 64 * 1024
/** Larger buffers are not kept: they serve the rare payload that grew while the agent was slow. */
const MAX_KEPT_CAPACITY = 4 * 1024 * 1024

/**
 * Payload buffers, kept for the next payload once the agent has answered. A payload written into new
 * memory pays a page fault per 4 KiB the first time each page is touched: on these VMs ~1 µs per
 * page, 0.25–1 ms per 1 MiB payload, more than encoding its spans (bench/micro/encode-traces.mjs:
 * finishing a 3.9 MB v0.4 payload into a fresh buffer took 0.8–1.8 µs per span across runs, as glibc
 * did or did not hand back memory it had already touched). A reused buffer costs the copy alone.
 *
 * Only buffers the pool made go back into it, each once; a payload that is dropped unsent is simply
 * left to the garbage collector.
 */
export class BufferPool {
  readonly #free: ArrayBuffer[] = []
  readonly #own = new WeakSet<ArrayBuffer>()
  readonly #maxFree: number

  constructor(maxFree = 2) {
    this.#maxFree = maxFree
  }

  /** A buffer of exactly `size` bytes (uninitialized), a view of a pooled block when one is large enough. */
  take(size: number): Buffer {
    const free = this.#free
    let best = -1
    for (let i = 0; i < free.length; i++) {
      if (free[i].byteLength >= size && (best === -1 || free[i].byteLength < free[best].byteLength)) best = i
    }
    if (best !== -1) {
      const block = free[best]
      free.splice(best, 1)
      return Buffer.from(block, 0, size)
    }
    let capacity = MIN_CAPACITY
    while (capacity < size) capacity *= 2
    // allocUnsafeSlow: a block of its own, never a slice of Node's shared 8 KiB pool.
    const block = Buffer.allocUnsafeSlow(capacity).buffer
    this.#own.add(block)
    return Buffer.from(block, 0, size)
  }

  /**
   * Gives back a buffer `take` returned, once nothing reads it any more (the agent has answered, the
   * socket no longer holds it). Anything else is ignored.
   */
  release(bytes: Uint8Array): void {
    const block = bytes.buffer
    if (!(block instanceof ArrayBuffer) || !this.#own.has(block) || block.byteLength > MAX_KEPT_CAPACITY) return
    const free = this.#free
    if (free.includes(block)) return
    if (free.length < this.#maxFree) {
      free.push(block)
      return
    }
    // Full: keep the larger blocks, which serve every size.
    let smallest = 0
    for (let i = 1; i < free.length; i++) if (free[i].byteLength < free[smallest].byteLength) smallest = i
    if (free[smallest].byteLength < block.byteLength) free[smallest] = block
  }

  /** Blocks waiting for reuse (for tests). */
  get freeCount(): number {
    return this.#free.length
  }
}

/** `size` uninitialized bytes: from `pool` when there is one, else new memory. */
export function payloadBuffer(size: number, pool: BufferPool | undefined): Buffer {
  return pool === undefined ? Buffer.allocUnsafe(size) : pool.take(size)
}
