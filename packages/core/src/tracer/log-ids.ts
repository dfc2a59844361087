import type { TracerConfig } from '../config/config.js'
import { idToHex } from '../model/ids.js'
import { coreSpan } from '../model/span.js'
import type { Span } from '../model/span-interface.js'
import type { CoreTracer } from './tracer.js'

/** The ids a log line carries to link to its trace, formatted as Datadog's log pipeline reads them. */
export interface LogIds {
  /** 32 lowercase hex digits for a 128-bit trace when 128-bit logging is on, else the low 64 bits in decimal. */
  readonly traceId: string
  /** Decimal. */
  readonly spanId: string
}

/**
 * The config of the tracer that made `span` (its service, env, version and log settings, which a log
 * line inside the span carries); undefined for the placeholder span of a disabled tracer, which belongs
 * to no trace and has nothing to correlate.
 */
export function tracerConfigOf(span: Span): TracerConfig | undefined {
  const core = coreSpan(span)
  // Every span a tracer hands out is owned by that tracer; SpanOwner only names what the model needs.
  return core.trace.traceId === 0n ? undefined : (core.owner as CoreTracer).config
}

/**
 * `dd.trace_id` / `dd.span_id` for a span, by dd-trace's rule: a trace with a high half (`_dd.p.tid`)
 * logs 32 hex digits when `traceId128BitLogging` is on; a 64-bit trace (e.g. continued from a 64-bit
 * upstream) logs the decimal low half. The one place ids are formatted for logs; the flag is that of the
 * tracer that made the span.
 */
export function logIds(span: Span): LogIds {
  const core = coreSpan(span)
  const trace = core.trace
  const hex = trace.traceIdHigh !== '' && (core.owner as CoreTracer).config.traceId128BitLogging
  return { traceId: hex ? trace.traceIdHigh + idToHex(trace.traceId) : trace.traceId.toString(), spanId: core.spanId.toString() }
}
