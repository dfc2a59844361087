import type { Exporter } from './export/exporter.js'
import type { CoreSpan } from './model/span.js'

/**
 * Keeps exported trace chunks in memory: for unit tests of code that makes spans, and for users who want
 * to assert on their own spans. `createTracer({ exporter: new InMemoryExporter() })`.
 */
export class InMemoryExporter implements Exporter {
  #chunks: CoreSpan[][] = []

  export(chunk: CoreSpan[]): void {
    this.#chunks.push(chunk)
  }

  /** Chunks in the order they were exported. */
  chunks(): CoreSpan[][] {
    return [...this.#chunks]
  }

  /** Every exported span, in finishing order. */
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
