import type { Transport } from '../agent-client/transport.js'
import type { CoreSpan } from '../model/span.js'
import type { AgentProbe } from './discovery.js'
import type { ExporterHealth } from './health.js'

export interface FlushOptions {
  /**
   * The flush resolves by then even if the agent has not answered; what is still pending stays queued
   * and keeps being sent. Default: the exporter's own (the agent exporter's is 5000).
   */
  readonly timeoutMs?: number
}

/**
 * Where finished trace chunks go. `export` is called on the request path: it must not encode, do I/O or
 * create promises, only hand the chunk over. `flush` and `shutdown` never reject.
 */
export interface Exporter {
  export(chunk: CoreSpan[]): void
  /** Resolves once what was exported before the call is sent or dropped, or at its deadline. */
  flush(options?: FlushOptions): Promise<void>
  shutdown(timeoutMs?: number): Promise<void>
  /** Counters (`tracer.health()`); exporters that keep none leave it out. */
  health?(): ExporterHealth
  /**
   * True while the exporter holds something a flush would send. An exporter that declares it holds
   * traces between `export` and sending: the tracer installs its exit hooks (flush on SIGTERM, SIGINT
   * and `beforeExit`) for it. One without it hands chunks on at once, and gets no exit hooks.
   */
  readonly pending?: boolean
  /**
   * The agent client the exporter sends through, for the tracer's other senders to share (the metrics'
   * DogStatsD proxy POSTs go over the same connections). Without it they make a client of their own.
   */
  readonly transport?: Transport
  /**
   * Asks the agent's `/info` in the background, unless it was answered already, and says how it went;
   * never rejects. The startup log prints the answer. Without it the log says the agent was not asked.
   */
  probeAgent?(): Promise<AgentProbe>
}
