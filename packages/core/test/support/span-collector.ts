import type { Exporter } from '../../src/export/exporter.js'
import type { CoreSpan } from '../../src/model/span.js'

/**
 * An exporter that keeps the spans themselves, for tests of what reads a span's internal fields (the
 * encoders, stats, samplers). Tests of what users see take `InMemoryExporter` from testing.ts, whose
 * spans are read-only views.
 */
export class SpanCollector implements Exporter {
  #chunks: CoreSpan[][] = []

  export(chunk: CoreSpan[]): void {
    this.#chunks.push(chunk)
  }

  chunks(): CoreSpan[][] {
    return [...this.#chunks]
  }

  spans(): CoreSpan[] {
    return this.#chunks.flat()
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
}
