import type { DiagnosticSink } from '@datadog-apm/core'

/** How often a repeated warning of one kind may be printed again; the same interval as core's. */
const WARN_INTERVAL_MS = 60_000

export const stderrSink: DiagnosticSink = {
  write(line) {
    try {
      process.stderr.write(line)
    } catch {
      // A closed stderr must not turn a logger warning into an app crash.
    }
  }
}

// Keyed by sink so that each sink (a test's, or stderr) sees each warning once, however many loggers
// report it: a library that makes a logger per module must not print the same warning per module.
const lastWarned = new WeakMap<DiagnosticSink, Map<string, number>>()

/** The logger's own problems (a bad `LOG_LEVEL`, a failing stream): once per kind and minute. */
export function warn(sink: DiagnosticSink, kind: string, message: string): void {
  let kinds = lastWarned.get(sink)
  if (kinds === undefined) lastWarned.set(sink, (kinds = new Map<string, number>()))
  const now = Date.now()
  const last = kinds.get(kind)
  if (last !== undefined && now - last < WARN_INTERVAL_MS) return
  kinds.set(kind, now)
  try {
    sink.write(`datadog-apm: ${message}\n`)
  } catch {
    // A user's sink that throws gets nothing more from us.
  }
}

const warnedOnce = new WeakMap<DiagnosticSink, Set<string>>()

/** A warning about something that stays as it is (a misspelled option): once per kind and sink, ever. */
export function warnOnce(sink: DiagnosticSink, kind: string, message: string): void {
  let kinds = warnedOnce.get(sink)
  if (kinds === undefined) warnedOnce.set(sink, (kinds = new Set<string>()))
  if (kinds.has(kind)) return
  kinds.add(kind)
  try {
    sink.write(`datadog-apm: ${message}\n`)
  } catch {
    // A user's sink that throws gets nothing more from us.
  }
}
