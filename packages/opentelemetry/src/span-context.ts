import { contextFromTraceparent, type Span, type SpanContext as CoreContext } from '@datadog-apm/core'
import type { SpanContext } from '@opentelemetry/api'
import { BridgeTraceState } from './trace-state.js'

const HEX32 = /^[0-9a-f]{32}$/
const HEX16 = /^[0-9a-f]{16}$/
const ZERO16 = '0000000000000000'

function hex16(id: bigint): string {
  return id.toString(16).padStart(16, '0')
}

/**
 * The OpenTelemetry span context of a span of this tracer: 32 hex digits of trace id (the high half is
 * `_dd.p.tid`), 16 of span id, the sampled flag from the trace's priority (sampled while undecided,
 * which is what the default decision will be unless rules or the agent say otherwise), and the other
 * vendors' tracestate members. Made once per span; the flags are read when asked.
 */
export class LocalSpanContext implements SpanContext {
  readonly traceId: string
  readonly spanId: string
  readonly isRemote = false
  readonly traceState: BridgeTraceState | undefined
  readonly #span: Span

  constructor(span: Span) {
    const context = span.context()
    this.#span = span
    this.traceId = (context.traceIdHigh === '' ? ZERO16 : context.traceIdHigh) + hex16(context.traceId)
    this.spanId = hex16(context.spanId)
    this.traceState = BridgeTraceState.parse(context.tracestate)
  }

  get traceFlags(): number {
    const priority = this.#span.context().samplingPriority
    return priority === undefined || priority > 0 ? 1 : 0
  }
}

/** The OpenTelemetry span context of a context extracted from headers. */
export function remoteSpanContext(context: CoreContext): SpanContext {
  return {
    traceId: (context.traceIdHigh === '' ? ZERO16 : context.traceIdHigh) + hex16(context.traceId),
    spanId: hex16(context.spanId),
    traceFlags: context.samplingPriority === undefined || context.samplingPriority > 0 ? 1 : 0,
    isRemote: true,
    traceState: BridgeTraceState.parse(context.tracestate)
  }
}

function traceStateText(context: SpanContext): string | undefined {
  try {
    const text = context.traceState?.serialize()
    return typeof text === 'string' && text !== '' ? text : undefined
  } catch {
    return undefined
  }
}

/**
 * A parent from another process, given as an OpenTelemetry span context (another propagator's, or
 * `trace.wrapSpanContext`): read as a traceparent and tracestate would be, so the `dd` member's
 * priority, origin and trace tags carry on. Null when its ids are not valid.
 */
export function parentContext(context: SpanContext): CoreContext | null {
  if (typeof context?.traceId !== 'string' || typeof context.spanId !== 'string') return null
  const flags = typeof context.traceFlags === 'number' ? context.traceFlags & 0xff : 0
  return contextFromTraceparent(`00-${context.traceId}-${context.spanId}-${flags.toString(16).padStart(2, '0')}`, traceStateText(context))
}

/** A span context to link to: ids, the sampled flag as a priority, the whole tracestate. Undefined when the ids are not valid. */
export function linkContext(context: SpanContext): CoreContext | undefined {
  const traceId = context?.traceId
  const spanId = context?.spanId
  if (typeof traceId !== 'string' || typeof spanId !== 'string' || !HEX32.test(traceId) || !HEX16.test(spanId)) return undefined
  const high = traceId.slice(0, 16)
  return {
    traceId: BigInt('0x' + traceId.slice(16)),
    traceIdHigh: high === ZERO16 ? '' : high,
    spanId: BigInt('0x' + spanId),
    samplingPriority: typeof context.traceFlags === 'number' ? context.traceFlags & 1 : undefined,
    tracestate: traceStateText(context)
  }
}
