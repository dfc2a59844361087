import type { DiagnosticSink } from '@datadog-apm/core'
import { warn } from './diagnostics.js'

/** Where lines go: a Writable (process.stdout, a file stream, pino.destination()) or anything with write(). */
export interface LogStream {
  write(line: string): unknown
}

interface ErrorEmitter {
  on(event: 'error', listener: (err: unknown) => void): unknown
}

function describe(err: unknown): string {
  try {
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  } catch {
    return 'unknown error'
  }
}

/**
 * Writes whole lines to a stream and keeps its failures away from the app: a write that throws drops
 * that line, and an 'error' event (EPIPE on a closed stdout, a full disk) would crash the process if
 * nobody listened, so the sink listens, warns once and drops every later line.
 */
export class LineSink {
  readonly #stream: LogStream
  readonly #diagnostics: DiagnosticSink
  #broken = false

  constructor(stream: LogStream, diagnostics: DiagnosticSink) {
    this.#stream = stream
    this.#diagnostics = diagnostics
    const on = (stream as Partial<ErrorEmitter>).on
    if (typeof on === 'function') {
      on.call(stream, 'error', (err: unknown) => {
        this.#broken = true
        warn(this.#diagnostics, 'stream-error', `the log stream failed (${describe(err)}); later log lines are dropped`)
      })
    }
  }

  write(line: string): void {
    if (this.#broken) return
    try {
      this.#stream.write(line)
    } catch (err) {
      warn(this.#diagnostics, 'stream-threw', `writing to the log stream threw (${describe(err)}); the line was dropped`)
    }
  }
}

// One sink per stream, so that a hundred loggers on process.stdout add one 'error' listener, not a
// hundred (and no MaxListenersExceededWarning).
const sinks = new WeakMap<LogStream, LineSink>()

export function sinkFor(stream: LogStream, diagnostics: DiagnosticSink): LineSink {
  let sink = sinks.get(stream)
  if (sink === undefined) sinks.set(stream, (sink = new LineSink(stream, diagnostics)))
  return sink
}
