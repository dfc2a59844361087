import { idToHex } from '../model/ids.js'
import type { CoreSpan } from '../model/span.js'

/** The ids a log line carries to link to its trace, formatted as Datadog's log pipeline reads them. */
export interface LogIds {
  /** 32 lowercase hex digits for a 128-bit trace when 128-bit logging is on, else the low 64 bits in decimal. */
  readonly traceId: string
  /** Decimal. */
  readonly spanId: string
}

/**
 * `dd.trace_id` / `dd.span_id` for a span, by dd-trace's rule: a trace with a high half (`_dd.p.tid`)
 * logs 32 hex digits when `traceId128BitLogging` is on; a 64-bit trace (e.g. continued from a 64-bit
 * upstream) logs the decimal low half. The one place ids are formatted for logs; the flag is that of the
 * tracer that made the span.
 */
export function logIds(span: CoreSpan): LogIds {
  const trace = span.trace
  const traceId = span.owner.config.traceId128BitLogging && trace.traceIdHigh !== '' ? trace.traceIdHigh + idToHex(trace.traceId) : trace.traceId.toString()
  return { traceId, spanId: span.spanId.toString() }
}
