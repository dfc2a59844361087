import type { Diagnostics } from '../base/diagnostics.js'
import type { TracerConfig } from '../config/config.js'
import type { ExporterHealth } from '../export/health.js'
import type { HttpClientOptions } from '../integrations/client-span.js'
import type { DogStatsD } from '../metrics/dogstatsd-client.js'
import type { SpanContext } from '../model/span-context.js'
import type { Span } from '../model/span-interface.js'

/** Options of `startSpan` and `trace`. */
export interface SpanOptions {
  /** Default: the operation name. */
  resource?: string
  /** Default: the parent's service, else the tracer's. */
  service?: string
  /** `web`, `http`, `sql`, `cache`, `custom`, ... Default ''. */
  type?: string
  tags?: Readonly<Record<string, unknown>>
  /** The parent: a span, a context extracted from another process, or null for a new trace. Default: the active span. */
  childOf?: Span | SpanContext | null
  /** Epoch milliseconds. Default: now. */
  startTime?: number
  /**
   * Compute trace metrics (hits, errors, latency) for this span although it is not a service's
   * entry span, as dd-trace's `measured` (`_dd.measured`). Default: only entry spans are measured.
   */
  measured?: boolean
}

export type SpanCallback<R> = (span: Span) => R

/** A tracer: makes spans, keeps them in context, sends them to the agent. */
export interface Tracer {
  readonly config: TracerConfig
  /** False when disabled (`DD_TRACE_ENABLED=false`) or shut down. */
  readonly enabled: boolean
  startSpan(name: string, options?: SpanOptions): Span
  trace<R>(name: string, fn: SpanCallback<R>): R
  trace<R>(name: string, options: SpanOptions, fn: SpanCallback<R>): R
  activeSpan(): Span | undefined
  withSpan<R>(span: Span, fn: () => R): R
  /**
   * The caller's context from request headers (lowercase names to values, as node's `req.headers`, or a
   * fetch `Headers`) in the configured styles; null when there is none. Never throws.
   */
  extract(carrier: unknown): SpanContext | null
  /**
   * Writes the propagation headers of a span (or of a context from `extract`) into `carrier`: a plain
   * object of header names to values, or a fetch `Headers`. Injecting a span makes its trace's sampling
   * decision first, and locks it. Never throws.
   */
  inject(spanOrContext: Span | SpanContext, carrier: Record<string, unknown> | Headers): void
  /** Client spans and injected headers for outgoing fetch, undici and (where Node allows) node:http requests. */
  instrumentHttpClients(options?: HttpClientOptions): void
  /**
   * Sends the traces finished before the call. Resolves once they are sent or dropped, or after
   * `flushTimeoutMs` (default 5000) whatever the agent does; what is still pending then stays queued.
   * Never rejects.
   */
  flush(): Promise<void>
  /** Finishes the spans still open (marked `_dd.exit.unfinished: shutdown`), sends within `timeoutMs` (default 2000), and stops tracing. */
  shutdown(options?: { timeoutMs?: number }): Promise<void>
  /** The exporter's counters: sent, dropped by reason, maybe delivered, queued; undefined when the exporter keeps none. */
  health(): ExporterHealth | undefined
  /** The tracer's own diagnostic logger: warnings print once, then at most once a minute. */
  readonly diagnostics: Diagnostics
  /** Custom metrics over DogStatsD, as dd-trace's `tracer.dogstatsd`; does nothing on a disabled tracer. */
  readonly dogstatsd: DogStatsD
}
