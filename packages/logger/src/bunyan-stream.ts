import type { OptionNames } from '@datadog-apm/core'
import { idleConfigOf, type AdapterOptions } from './adapter-options.js'
import { correlatedSpan, idleLineFragment, spanLineFragment } from './correlation.js'
import { stderrSink } from './diagnostics.js'
import { sinkFor, type LineSink, type LogStream } from './line-sink.js'
import { valueJson } from './safe-json.js'

/** Options of `bunyanStream`. */
export interface BunyanStreamOptions extends AdapterOptions {
  /** Where the lines go. Default: `process.stdout`. */
  stream?: LogStream
}

/** The options `bunyanStream` adds to the adapters' `tracer`; typed so that none is missed by the name check. */
const BUNYAN_OPTION_NAMES: OptionNames<Omit<BunyanStreamOptions, keyof AdapterOptions>> = { stream: true }

/**
 * A bunyan stream (`{ type: 'raw', stream: bunyanStream() }`): bunyan hands it each record object and
 * it writes the record as one JSON line. As a plain stream it gets bunyan's own line and works the same.
 */
export interface BunyanStream {
  write(record: object | string): void
}

// bunyan has no hook that adds fields to a record; what it does have is streams, which it calls
// synchronously from the log call, inside the caller's async context. So the stream reads the active
// span, and `dd` goes into the line rather than into bunyan's record object, which bunyan hands to
// every raw stream of the logger and which the caller may hold.

/** `line` (one JSON object, with or without its newline) with `fragment` (`,"dd":{…}`) before its last brace. */
function spliced(json: string, fragment: string): string {
  const end = json.lastIndexOf('}')
  return end === -1 ? json : json.slice(0, end) + fragment + json.slice(end)
}

/**
 * A bunyan stream that writes each record with `dd` (trace_id, span_id, service, env, version), the
 * fields pino's and winston's adapters add:
 * `bunyan.createLogger({ name, streams: [{ type: 'raw', stream: bunyanStream() }] })`. bunyan is not
 * imported and not patched. A record that already has `dd` (logged, or bound with `child`) is written as
 * it is. Records that cannot be serialized as they are (cycles, BigInts) are written as far as they can be.
 */
export function bunyanStream(options?: BunyanStreamOptions): BunyanStream {
  const idleConfig = idleConfigOf('bunyanStream', options, BUNYAN_OPTION_NAMES)
  const target = options?.stream ?? process.stdout
  if (target === null || typeof target !== 'object' || typeof target.write !== 'function') {
    throw new TypeError('datadog-apm: option stream of bunyanStream must have a write(line) method')
  }
  let sink: LineSink | undefined
  return {
    write(record: object | string): void {
      let line: string
      let hasDd = false
      if (typeof record === 'string') {
        // A plain (non-raw) stream: bunyan's line. Inside a JSON string a quote is escaped, so `"dd":`
        // appears in it only as a key.
        line = record.endsWith('\n') ? record.slice(0, -1) : record
        hasDd = line.includes('"dd":')
      } else {
        line = valueJson(record) ?? '{}'
        try {
          hasDd = Object.hasOwn(record, 'dd')
        } catch {
          // A hostile record (a revoked proxy): it has no dd of its own that could be read anyway.
        }
      }
      let fragment = ''
      if (!hasDd) {
        try {
          const span = correlatedSpan()
          fragment = span === undefined ? idleLineFragment(idleConfig()) : spanLineFragment(span)
        } catch {
          // The line goes out without its correlation rather than not at all.
        }
      }
      ;(sink ??= sinkFor(target, stderrSink)).write((fragment === '' ? line : spliced(line, fragment)) + '\n')
    }
  }
}
