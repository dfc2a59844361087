import type { Diagnostics } from '../base/diagnostics.js'
import type { ClientStats } from '../stats/client-stats.js'
import type { BufferPool } from '../wire/buffer-pool.js'
import type { ProtocolVersion, SpanDecorations } from '../wire/encode-span.js'
import type { Transport } from '../agent-client/transport.js'
import type { AgentInfo } from './agent-info.js'
import type { ContainerIdentity } from './container-id.js'

/** `0.4`, `0.5`, or `auto`: v0.5 when `/info` lists it, v0.4 otherwise. */
export type ProtocolPreference = ProtocolVersion | 'auto'

/**
 * The default wire format: v0.5 when the agent's /info lists it. Measured on realistic web traces
 * (bench/micro/encode-traces.mjs, Node 20 and 24): v0.5 is 0.17× the bytes of v0.4 and ~0.4× its
 * encode CPU per span, since repeated strings (URLs, user agents, tag keys) are written once and
 * referred to by small indexes.
 */
export const DEFAULT_PROTOCOL: ProtocolPreference = 'auto'

/** Options of the agent exporter; the tracer fills them from its config. */
export interface AgentExporterOptions {
  /** The agent: http(s):// or unix://. */
  readonly url: URL
  /** Default 2000; 0 sends each chunk on the next turn of the event loop. */
  readonly flushIntervalMs?: number
  /** Spans held at most; whole chunks past it are dropped and counted. Default 100000. */
  readonly maxQueueSpans?: number
  /** Payloads are split to stay under this (and under the agent's `max_request_bytes`). Default 8 MiB. */
  readonly maxPayloadBytes?: number
  /**
   * Encoded bytes in the open payload that send it before the interval ends. Default 1 MiB (~10,000
   * request spans in v0.5, ~2,500 in v0.4). Only bytes wait here, never spans, so the threshold
   * bounds memory little; it sets how many requests the agent gets: a Fastify app serving 60k
   * requests/s sends ~7 payloads a second (~50 with the former 1,000-span threshold). The server's
   * CPU did not follow: sending at all costs it ~1 µs per request served under load, at 1 payload a
   * second as at 50 (perf stat).
   */
  readonly flushThresholdBytes?: number
  /** Requests in flight at most (retries included); more chunks wait in the queue. Default 2. */
  readonly maxInFlight?: number
  /** Payload bytes in flight (sent or waiting for a retry) past which no new payload starts. Default 16 MiB. */
  readonly maxInFlightBytes?: number
  /** Timeout of one request. Default 2000. */
  readonly requestTimeoutMs?: number
  /** How long `flush()` waits at most when not told otherwise. Default 5000. */
  readonly flushTimeoutMs?: number
  /** Default `DEFAULT_PROTOCOL`. */
  readonly protocolVersion?: ProtocolPreference
  /** How long a payload may be retried after its first attempt; 0 never retries. Default 15000. */
  readonly retryDeadlineMs?: number
  /** The first retry waits about this long, each next one twice as long. Default 100. */
  readonly retryBaseDelayMs?: number
  /** The longest wait between two attempts. Default 2000. */
  readonly retryMaxDelayMs?: number
  /** Ask the agent's `/info`. Default true. */
  readonly discovery?: boolean
  /** How long the first payload waits for `/info`. Default 500. */
  readonly discoveryWaitMs?: number
  /** Container id and entity id for the agent's tagging; default read once from /proc/self/cgroup. */
  readonly containerIdentity?: ContainerIdentity
  readonly decorations: SpanDecorations
  readonly diagnostics: Diagnostics
  /** Replaces the socket transport. */
  readonly transport?: Transport
  /**
   * Where payloads are written and given back once the transport has settled their request. Default: a
   * pool of its own with the socket transport, none with a `transport` given (which may keep what it
   * was sent).
   */
  readonly bufferPool?: BufferPool
  /** Receives `rate_by_service` from each agent answer. */
  readonly onRates?: (rates: Readonly<Record<string, number>>) => void
  /** Receives what `/info` says, each time it changes (undefined: the agent has no /info). */
  readonly onAgentInfo?: (info: AgentInfo | undefined) => void
  /** Jitter source for retries (tests). */
  readonly random?: () => number
  /**
   * Span events in v0.4's native `span_events` field when the agent's /info says `span_events` (or
   * always, with discovery off); otherwise, and in v0.5, as meta `events`. Default false.
   */
  readonly nativeSpanEvents?: boolean
  /** Client-side stats: fed every chunk taken off the queue, and P0 chunks dropped when the agent allows it. */
  readonly stats?: ClientStats
  /** How often client-side stats are sent. Default 10000. */
  readonly statsIntervalMs?: number
}
