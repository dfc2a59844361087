/**
 * What identifies a span across process boundaries: what propagation extracts from headers and injects
 * into them, and what `startSpan({ childOf })` accepts for a parent in another process.
 */
export interface SpanContext {
  /** Low 64 bits of the trace id: `trace_id` on the wire, `x-datadog-trace-id` in decimal. */
  readonly traceId: bigint
  /** High 64 bits of a 128-bit trace id as 16 lowercase hex digits (`_dd.p.tid`); '' for a 64-bit trace. */
  readonly traceIdHigh: string
  readonly spanId: bigint
  /** −1 USER_REJECT, 0 AUTO_REJECT, 1 AUTO_KEEP, 2 USER_KEEP; undefined while undecided. */
  readonly samplingPriority?: number | undefined
  /** `_dd.origin`, e.g. `synthetics` or `rum`. */
  readonly origin?: string | undefined
  /** Propagated trace tags (`_dd.p.*`), `_dd.p.tid` excluded since it is `traceIdHigh`. */
  readonly traceTags?: Readonly<Record<string, string>> | undefined
}
