import type { CoreSpan } from './span.js'

/**
 * What the spans of one trace share inside this process: the trace id, the sampling decision, the
 * propagated trace tags, and the spans that finished but have not been handed to the exporter yet.
 * A chunk leaves when every span started in it has finished (or at the partial-flush threshold); a span
 * that finishes later goes out in a later chunk.
 */
export class TraceState {
  readonly traceId: bigint
  /** 16 hex digits of the high half, '' for a 64-bit trace. */
  readonly traceIdHigh: string
  samplingPriority: number | undefined
  /** `_dd.p.dm`, set with a kept decision. */
  decisionMaker: string | undefined
  /** Set once the decision was sent to another service: it may not change after that. */
  samplingLocked: boolean
  origin: string | undefined
  /**
   * Propagated `_dd.p.*` tags other than `_dd.p.tid` and `_dd.p.dm`. Read-only: a new trace shares one
   * frozen empty object (56 bytes less per request); `setTag` copies it on the first write.
   */
  tags: Readonly<Record<string, string>>
  /** W3C baggage received with the trace, propagated downstream as is. */
  baggage: Readonly<Record<string, string>> | undefined
  /** Other vendors' tracestate members received with the trace, propagated downstream. */
  tracestate: string | undefined
  /** Spans started and not finished. */
  open: number
  /** Finished spans not exported yet; undefined when there are none. */
  finished: CoreSpan[] | undefined
  /** The first span started in this process: sampling rules match it, and the applied rates go on it. */
  localRoot: CoreSpan | undefined

  constructor(traceId: bigint, traceIdHigh: string, samplingPriority: number | undefined, origin: string | undefined, tags: Readonly<Record<string, string>>) {
    this.traceId = traceId
    this.traceIdHigh = traceIdHigh
    this.samplingPriority = samplingPriority
    this.decisionMaker = undefined
    this.samplingLocked = false
    this.origin = origin
    this.tags = tags
    this.baggage = undefined
    this.tracestate = undefined
    this.open = 0
    this.finished = undefined
    this.localRoot = undefined
  }

  /** Sets a propagated trace tag (`_dd.p.*`). */
  setTag(key: string, value: string): void {
    this.tags = { ...this.tags, [key]: value }
  }
}
