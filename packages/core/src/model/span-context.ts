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
  /** W3C baggage: propagated downstream with the trace; chosen keys become `baggage.<key>` tags. */
  readonly baggage?: Readonly<Record<string, string>> | undefined
  /**
   * W3C `tracestate`. Of a context from `extract`: every valid member received, the `dd` member
   * included; of a span of this process: the other vendors' members its trace received. A link sends
   * it whole; inject sends the other vendors' members after a `dd` member of its own.
   */
  readonly tracestate?: string | undefined
  /**
   * The W3C `random` trace flag (0x02) came with the trace: its id's right 7 bytes are random. Kept on
   * what a continued trace sends on, as W3C Trace Context Level 2 asks.
   */
  readonly randomTraceId?: boolean | undefined
  /** The last Datadog span id upstream (`p` in the `dd` tracestate member), tagged `_dd.parent_id`. */
  readonly lastParentId?: string | undefined
  /** Contexts this one is linked to (a conflicting trace id in another header style, or a restart). */
  readonly links?: readonly SpanLink[] | undefined
}

/** A link to a span of another trace, sent as the `_dd.span_links` tag. */
export interface SpanLink {
  readonly context: SpanContext
  /** E.g. `reason: terminated_context`, `context_headers: tracecontext`. */
  readonly attributes: Readonly<Record<string, string>>
}
