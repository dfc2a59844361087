/** Where the tracer writes what a user must know. Defaults to stderr. */
export interface DiagnosticSink {
  write(line: string): void
}

const stderrSink: DiagnosticSink = {
  write(line) {
    try {
      process.stderr.write(line)
    } catch {
      // A closed stderr must not turn a tracer warning into an app crash.
    }
  }
}

/** How often a repeated warning of one kind may be printed again. */
export const WARN_INTERVAL_MS = 60_000

/**
 * The tracer's one diagnostic logger. A warning of a given kind prints at once, then at most once a
 * minute with the number of repeats in between, so a dead agent cannot flood the app's logs. Details go
 * out only in debug mode (`DD_TRACE_DEBUG`).
 */
export class Diagnostics {
  readonly debugEnabled: boolean
  readonly #sink: DiagnosticSink
  readonly #lastWarned = new Map<string, { at: number; suppressed: number }>()
  readonly #warnedOnce = new Set<string>()

  constructor(debugEnabled: boolean, sink: DiagnosticSink = stderrSink) {
    this.debugEnabled = debugEnabled
    this.#sink = sink
  }

  warn(kind: string, message: string, detail?: string): void {
    const now = Date.now()
    const last = this.#lastWarned.get(kind)
    if (last !== undefined && now - last.at < WARN_INTERVAL_MS) {
      last.suppressed++
      if (this.debugEnabled && detail !== undefined) this.debug(`${message}: ${detail}`)
      return
    }
    const repeats = last !== undefined && last.suppressed > 0 ? ` (${last.suppressed} more since the last report)` : ''
    this.#lastWarned.set(kind, { at: now, suppressed: 0 })
    const extra = this.debugEnabled && detail !== undefined ? `\n  ${detail}` : ''
    this.#sink.write(`datadog-apm: ${message}${repeats}${extra}\n`)
  }

  /**
   * A warning about something that does not change while the process runs (a misspelled option, a second
   * tracer in the process): printed the first time only, never again.
   */
  warnOnce(kind: string, message: string): void {
    if (this.#warnedOnce.has(kind)) return
    this.#warnedOnce.add(kind)
    this.#write(`datadog-apm: ${message}\n`)
  }

  /** A line a user asked for (the startup log), written as it is, with the prefix of every line of ours. */
  info(message: string): void {
    this.#write(`datadog-apm: ${message}\n`)
  }

  // These two may be written from a timer, outside any call of the app's: a sink that throws there would
  // be an uncaught exception.
  #write(line: string): void {
    try {
      this.#sink.write(line)
    } catch {
      // The app's own sink failed; there is nowhere left to say so.
    }
  }

  /** Forget a warning kind, so that the next failure of that kind is reported at once (after a recovery). */
  reset(kind: string): void {
    this.#lastWarned.delete(kind)
  }

  debug(message: string): void {
    if (this.debugEnabled) this.#sink.write(`datadog-apm [debug]: ${message}\n`)
  }
}
