import type { ProtocolVersion } from '../wire/encode-span.js'
import type { StatsComputeHealth } from '../stats/client-stats.js'

/** Client-side stats: what was computed, and what of it reached the agent. */
export interface ClientStatsHealth extends StatsComputeHealth {
  payloadsSent: number
  bytesSent: number
  /** Payloads dropped after an answer that refused them, or after their retries. */
  payloadsFailed: number
  /** Payloads written whole with no answer: the agent may have them; they are not sent again. */
  payloadsMaybeDelivered: number
  lastError: string | undefined
}

/**
 * What the exporter did so far. Traces are counted as chunks, as the agent counts them. Every trace
 * handed to the exporter ends in exactly one of `tracesSent`, `tracesDropped` (with a reason) or
 * `tracesMaybeDelivered`, or is still waiting (`queuedSpans`, `inFlightRequests`).
 */
export interface ExporterHealth {
  /** Trace payload requests to the agent: every attempt, retries and the halves of a split payload included. */
  requests: number
  /** Requests the agent answered, whatever the status. */
  responses: number
  /** Answers by status: `200`, `413`, `503`... */
  responsesByStatus: Record<string, number>
  /** Requests that ended with no answer (refused, reset, timed out). */
  errors: number
  /** Requests with no answer by the error's name (`TransportError`...). */
  errorsByName: Record<string, number>
  /** Requests with no answer by code (`ECONNREFUSED`, `ETIMEDOUT`...). */
  errorsByCode: Record<string, number>
  tracesSent: number
  spansSent: number
  bytesSent: number
  payloadsSent: number
  tracesDropped: number
  spansDropped: number
  /**
   * Dropped traces by reason: `queue_full`, `too_large`, `network`, `status_<code>`, `shutdown`,
   * `trace_id_zero`, `protocol`, `internal`.
   */
  droppedByReason: Record<string, number>
  /** Dropped spans by reason, including spans dropped on their own (`span_id_zero`, `too_large`). */
  spansDroppedByReason: Record<string, number>
  /**
   * Attempts that ended after the whole payload was written with no answer (a timeout, a reset): the
   * agent may have taken it. Each one is followed by one more attempt at most.
   */
  payloadsMaybeDelivered: number
  /**
   * Traces given up while the agent may have them: an attempt ended with the payload written and no
   * answer, and the one more attempt allowed failed too (or was not possible in time).
   */
  tracesMaybeDelivered: number
  spansMaybeDelivered: number
  /** Attempts after the first, for any reason. */
  retries: number
  /** Payloads refused with 413 and sent again in halves. */
  payloadsSplit: number
  /** `flush()` calls that reached their deadline with traces still pending (they stay queued). */
  flushTimeouts: number
  /** The last failure, e.g. `ECONNREFUSED`, `ETIMEDOUT` or `HTTP 400: ...`; undefined after a success. */
  lastError: string | undefined
  queuedSpans: number
  /** Requests in flight or waiting for a retry, and their payload bytes. */
  inFlightRequests: number
  inFlightBytes: number
  /** The format the next payload goes out in. */
  protocolVersion: ProtocolVersion
  /** The payload size limit in force: the option, lowered by `/info` or by a 413. */
  maxPayloadBytes: number
  /** What discovery found: `known` (then `agent` is set), `absent` (no /info), `failed`, `pending`, `unknown`, `off`. */
  discovery: string
  agent: { version: string | undefined; endpoints: string[]; clientDropP0s: boolean; spanEvents: boolean; maxRequestBytes: number | undefined } | undefined
  /** Client-side stats and P0 dropping; undefined when stats computation is off. */
  stats: ClientStatsHealth | undefined
}

/** The counters of `ExporterHealth` that the exporter's parts add to. */
export type HealthCounts = Pick<
  ExporterHealth,
  | 'requests'
  | 'responses'
  | 'responsesByStatus'
  | 'errors'
  | 'errorsByName'
  | 'errorsByCode'
  | 'tracesSent'
  | 'spansSent'
  | 'bytesSent'
  | 'payloadsSent'
  | 'tracesDropped'
  | 'spansDropped'
  | 'droppedByReason'
  | 'spansDroppedByReason'
  | 'payloadsMaybeDelivered'
  | 'tracesMaybeDelivered'
  | 'spansMaybeDelivered'
  | 'retries'
  | 'payloadsSplit'
  | 'flushTimeouts'
  | 'lastError'
  | 'inFlightRequests'
  | 'inFlightBytes'
>

/**
 * The exporter's counters, shared by its parts: the batcher counts what it drops, the send policy its
 * requests and what was sent, dropped or maybe delivered, the exporter what is in flight.
 */
export class HealthCounters {
  readonly counts: HealthCounts = {
    requests: 0,
    responses: 0,
    responsesByStatus: {},
    errors: 0,
    errorsByName: {},
    errorsByCode: {},
    tracesSent: 0,
    spansSent: 0,
    bytesSent: 0,
    payloadsSent: 0,
    tracesDropped: 0,
    spansDropped: 0,
    droppedByReason: {},
    spansDroppedByReason: {},
    payloadsMaybeDelivered: 0,
    tracesMaybeDelivered: 0,
    spansMaybeDelivered: 0,
    retries: 0,
    payloadsSplit: 0,
    flushTimeouts: 0,
    lastError: undefined,
    inFlightRequests: 0,
    inFlightBytes: 0
  }

  /** A trace payload request is about to go out. */
  request(): void {
    this.counts.requests++
  }

  /** The agent answered a request. */
  answered(status: number): void {
    const c = this.counts
    c.responses++
    c.responsesByStatus[status] = (c.responsesByStatus[status] ?? 0) + 1
  }

  /** A request ended with no answer. */
  unanswered(name: string, code: string): void {
    const c = this.counts
    c.errors++
    c.errorsByName[name] = (c.errorsByName[name] ?? 0) + 1
    c.errorsByCode[code] = (c.errorsByCode[code] ?? 0) + 1
  }

  sent(traces: number, spans: number, bytes: number): void {
    const c = this.counts
    c.tracesSent += traces
    c.spansSent += spans
    c.bytesSent += bytes
    c.payloadsSent++
    c.lastError = undefined
  }

  /** Whole traces dropped, with their spans. */
  drop(traces: number, spans: number, reason: string): void {
    const c = this.counts
    c.tracesDropped += traces
    c.droppedByReason[reason] = (c.droppedByReason[reason] ?? 0) + traces
    this.dropSpans(spans, reason)
  }

  /** Spans dropped on their own, their trace kept. */
  dropSpans(spans: number, reason: string): void {
    const c = this.counts
    c.spansDropped += spans
    c.spansDroppedByReason[reason] = (c.spansDroppedByReason[reason] ?? 0) + spans
  }

  /** Traces given up while the agent may have them. */
  maybeDelivered(traces: number, spans: number): void {
    this.counts.tracesMaybeDelivered += traces
    this.counts.spansMaybeDelivered += spans
  }

  /** A copy of the counters: the maps are copied too, so a snapshot never changes under its reader. */
  snapshot(): HealthCounts {
    const c = this.counts
    return {
      ...c,
      responsesByStatus: { ...c.responsesByStatus },
      errorsByName: { ...c.errorsByName },
      errorsByCode: { ...c.errorsByCode },
      droppedByReason: { ...c.droppedByReason },
      spansDroppedByReason: { ...c.spansDroppedByReason }
    }
  }
}
