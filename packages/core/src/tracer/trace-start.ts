import { randomId, traceIdHighHex } from '../model/ids.js'
import type { SpanContext } from '../model/span-context.js'
import { TraceState } from '../model/span.js'

/** A new trace's propagated tags: none, and never written (TraceState.tags is read-only), so shared. */
const NO_TRACE_TAGS: Record<string, string> = Object.freeze({})

/**
 * The state of a trace this process starts. `startEpochMs` is its root span's start: reading the clock
 * again for the 128-bit id's time half (`_dd.p.tid`) would cost ~40 ns.
 */
export function newTrace(startEpochMs: number, traceId128Bit: boolean): TraceState {
  return new TraceState(randomId(), traceId128Bit ? traceIdHighHex(startEpochMs) : '', undefined, undefined, NO_TRACE_TAGS)
}

/**
 * The state of a trace continued from a caller's context (its ids already checked): the trace id, the
 * caller's sampling decision and decision maker, origin and `_dd.p.*` tags (`_dd.p.tid` is
 * `traceIdHigh`, and `_dd.p.dm` the decision maker, so neither is kept as a tag).
 */
export function continueTrace(context: SpanContext): TraceState {
  const tags: Record<string, string> = {}
  let decisionMaker: string | undefined
  const incoming = context.traceTags
  if (incoming !== undefined && incoming !== null) {
    for (const key of Object.keys(incoming)) {
      if (key === '_dd.p.dm') decisionMaker = incoming[key]
      else if (key !== '_dd.p.tid' && key.startsWith('_dd.p.')) tags[key] = String(incoming[key])
    }
  }
  const trace = new TraceState(context.traceId, typeof context.traceIdHigh === 'string' ? context.traceIdHigh : '', context.samplingPriority, context.origin, tags)
  trace.decisionMaker = decisionMaker
  trace.randomTraceId = context.randomTraceId === true
  return trace
}
