import type { CoreSpan } from '../model/span.js'

/** Meta tag of a span the tracer finished itself because the process was ending: the signal, `beforeExit` or `shutdown`. */
export const UNFINISHED_AT_EXIT_TAG = '_dd.exit.unfinished'

/**
 * Tracked at most: past it the oldest open span is forgotten (it stays open; only the exit no longer
 * finishes it). A span that is never finished would otherwise be kept alive here for ever, with its
 * trace; that many open at once is far more than concurrent requests hold, and most likely a leak.
 */
export const MAX_TRACKED_OPEN_SPANS = 20_000

/**
 * The spans a tracer started and that are not finished yet, so that a process about to end can finish
 * them and send their traces. An intrusive doubly linked list through the spans' own `openPrev` /
 * `openNext` fields: adding and removing are a few field writes, with no allocation, on the request
 * path. Newest first, so children are finished before their parents.
 */
export class OpenSpans {
  #head: CoreSpan | undefined = undefined
  #tail: CoreSpan | undefined = undefined
  #size = 0
  /** Spans forgotten past the limit (they stayed open). */
  forgotten = 0
  readonly #onFirstForgotten: () => void

  /** `onFirstForgotten`: called once, when the limit is first passed. */
  constructor(onFirstForgotten: () => void = () => {}) {
    this.#onFirstForgotten = onFirstForgotten
  }

  get size(): number {
    return this.#size
  }

  add(span: CoreSpan): void {
    const head = this.#head
    span.openNext = head
    if (head === undefined) this.#tail = span
    else head.openPrev = span
    this.#head = span
    if (++this.#size > MAX_TRACKED_OPEN_SPANS) this.#forgetOldest()
  }

  /** Removes `span` if it is in the list (a forgotten span is not). */
  remove(span: CoreSpan): void {
    const prev = span.openPrev
    const next = span.openNext
    if (prev === undefined) {
      if (this.#head !== span) return
      this.#head = next
    } else {
      prev.openNext = next
      span.openPrev = undefined
    }
    if (next === undefined) this.#tail = prev
    else {
      next.openPrev = prev
      span.openNext = undefined
    }
    this.#size--
  }

  /**
   * Finishes every open span as it is, marked with `cause` in `UNFINISHED_AT_EXIT_TAG`; returns how
   * many. Finishing hands each complete trace to the exporter, as any finish does.
   */
  finishAll(cause: string): number {
    let count = 0
    for (let span = this.#head; span !== undefined; span = this.#head) {
      // Removed first: a span that does not leave the list when finished must not stop the loop.
      this.remove(span)
      count++
      try {
        span.setTag(UNFINISHED_AT_EXIT_TAG, cause)
        span.finish()
      } catch {
        // One span's failure must not keep the others, or the exit, from going on.
      }
    }
    return count
  }

  #forgetOldest(): void {
    const oldest = this.#tail
    if (oldest === undefined) return
    this.remove(oldest)
    if (this.forgotten++ === 0) this.#onFirstForgotten()
  }
}
