import type { CoreSpan } from '../model/span.js'

/**
 * Where finished trace chunks go. `export` is called on the request path: it must not encode, do I/O or
 * create promises, only hand the chunk over. `flush` and `shutdown` never reject.
 */
export interface Exporter {
  export(chunk: CoreSpan[]): void
  flush(): Promise<void>
  shutdown(timeoutMs?: number): Promise<void>
}
