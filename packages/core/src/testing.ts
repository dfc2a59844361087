import type { Exporter } from './export/exporter.js'
import type { SpanLink } from './model/span-context.js'
import type { SpanEvent } from './model/span-extras.js'
import type { CoreSpan } from './model/span.js'
import { performance } from 'node:perf_hooks'

const timeOrigin = performance.timeOrigin
const NO_LINKS: readonly SpanLink[] = Object.freeze([])
const NO_EVENTS: readonly SpanEvent[] = Object.freeze([])

/**
 * A finished span as it was exported, read-only: what a test asserts on. The tag dictionaries are the
 * span's own (typed read-only, not copied); links and events are the span's as added (the encoders
 * write them as `_dd.span_links` and `events` JSON, or native `span_events`).
 */
export class ExportedSpan {
  readonly #span: CoreSpan

  constructor(span: CoreSpan) {
    this.#span = span
  }

  get name(): string {
    return this.#span.name
  }

  get service(): string {
    return this.#span.service
  }

  get resource(): string {
    return this.#span.resource
  }

  get type(): string {
    return this.#span.type
  }

  /** 1 when the span records an error, else 0. */
  get error(): number {
    return this.#span.error
  }

  /** String tags. */
  get meta(): Readonly<Record<string, string>> {
    return this.#span.meta
  }

  /** Numeric tags. */
  get metrics(): Readonly<Record<string, number>> {
    return this.#span.metrics
  }

  /** A tag's value: a string tag, else a numeric one. */
  getTag(key: string): string | number | undefined {
    return this.#span.getTag(key)
  }

  /** Low 64 bits of the trace id (`trace_id` on the wire). */
  get traceId(): bigint {
    return this.#span.trace.traceId
  }

  /** High 64 bits of a 128-bit trace id as 16 hex digits (`_dd.p.tid`); '' for a 64-bit trace. */
  get traceIdHigh(): string {
    return this.#span.trace.traceIdHigh
  }

  get spanId(): bigint {
    return this.#span.spanId
  }

  /** 0n for the root of a trace. */
  get parentId(): bigint {
    return this.#span.parentId
  }

  /** Start, in epoch milliseconds. */
  get startTime(): number {
    return timeOrigin + this.#span.start
  }

  /** Milliseconds. */
  get duration(): number {
    return this.#span.duration
  }

  get finished(): boolean {
    return this.#span.duration >= 0
  }

  /** The trace's sampling priority (−1 to 2) once decided. */
  get samplingPriority(): number | undefined {
    return this.#span.trace.samplingPriority
  }

  /** `_dd.origin`, e.g. `synthetics`. */
  get origin(): string | undefined {
    return this.#span.trace.origin
  }

  /** Links added with `span.addLink`. */
  get links(): readonly SpanLink[] {
    return this.#span.extras?.links ?? NO_LINKS
  }

  /** Events added with `span.addEvent` and `span.recordException`. */
  get events(): readonly SpanEvent[] {
    return this.#span.extras?.events ?? NO_EVENTS
  }

  /** Links, events and attributes the span did not keep (past its limits). */
  get dropped(): { readonly links: number; readonly events: number; readonly attributes: number } {
    const extras = this.#span.extras
    return { links: extras?.droppedLinks ?? 0, events: extras?.droppedEvents ?? 0, attributes: extras?.droppedAttributes ?? 0 }
  }
}

/**
 * Keeps exported trace chunks in memory: for unit tests of code that makes spans, and for users who want
 * to assert on their own spans. `createTracer({ exporter: new InMemoryExporter() })`.
 */
export class InMemoryExporter implements Exporter {
  #chunks: CoreSpan[][] = []
  // Views are made when first read, once per span, so repeated reads return the same objects.
  readonly #views = new WeakMap<CoreSpan[], ExportedSpan[]>()

  export(chunk: CoreSpan[]): void {
    this.#chunks.push(chunk)
  }

  /** Chunks in the order they were exported. */
  chunks(): ExportedSpan[][] {
    return this.#chunks.map((chunk) => this.#viewsOf(chunk))
  }

  /** Every exported span, in finishing order. */
  spans(): ExportedSpan[] {
    return this.#chunks.flatMap((chunk) => this.#viewsOf(chunk))
  }

  reset(): void {
    this.#chunks = []
  }

  flush(): Promise<void> {
    return Promise.resolve()
  }

  shutdown(): Promise<void> {
    return Promise.resolve()
  }

  #viewsOf(chunk: CoreSpan[]): ExportedSpan[] {
    let views = this.#views.get(chunk)
    if (views === undefined) {
      views = chunk.map((span) => new ExportedSpan(span))
      this.#views.set(chunk, views)
    }
    return [...views]
  }
}
