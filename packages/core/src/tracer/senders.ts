import type { Diagnostics } from '../base/diagnostics.js'
import type { TracerConfig } from '../config/config.js'
import { AgentExporter } from '../export/agent-exporter.js'
import type { Exporter } from '../export/exporter.js'
import type { ExporterHealth } from '../export/health.js'
import { SocketTransport } from '../agent-client/socket-transport.js'
import type { Transport } from '../agent-client/transport.js'
import type { DogStatsD } from '../metrics/dogstatsd-client.js'
import { TracerMetrics } from '../metrics/tracer-metrics.js'
import { ClientStats } from '../stats/client-stats.js'

export interface TracerSendersOptions {
  /** The exporter given in the tracer's options; without one, the agent exporter is made from the config. */
  readonly exporter: Exporter | undefined
  readonly config: TracerConfig
  readonly diagnostics: Diagnostics
  readonly runtimeId: string
  /** The tags the agent exporter adds to every span: language, runtime-id, the configured tags, env, version. */
  readonly globalMeta: Record<string, string>
  /** Called with the agent's `rate_by_service` each time the agent exporter reads one. */
  readonly onRates: (rates: Readonly<Record<string, number>>) => void
}

/**
 * What a tracer sends beside making spans: the exporter its traces go to (the agent exporter, made from
 * the config, unless one was given), and the runtime and custom metrics, which share the exporter's agent
 * client when it lends one. Flushed and closed together, each within a deadline, so that neither can hold
 * the other (or a process that is ending) for longer.
 */
export class TracerSenders {
  readonly exporter: Exporter
  readonly #config: TracerConfig
  readonly #diagnostics: Diagnostics
  readonly #runtimeId: string
  #metrics: TracerMetrics | undefined
  /** The metrics' own agent client, made only when the exporter has none to share. */
  #metricsTransport: Transport | undefined

  constructor(options: TracerSendersOptions) {
    this.exporter = options.exporter ?? agentExporter(options)
    this.#config = options.config
    this.#diagnostics = options.diagnostics
    this.#runtimeId = options.runtimeId
  }

  /** The metrics' DogStatsD client; the metrics start on its first use unless `startMetrics` started them. */
  get dogstatsd(): DogStatsD {
    return (this.#metrics ??= this.#newMetrics()).dogstatsd
  }

  /** Starts the runtime and custom metrics now (runtime metrics are on) rather than on the first use of `dogstatsd`. */
  startMetrics(): void {
    this.#metrics ??= this.#newMetrics()
  }

  #newMetrics(): TracerMetrics {
    const config = this.#config
    // One agent client for traces, stats, /info and metrics: the same address, the same connections (a
    // proxy POST never waits behind a trace payload: each exchange takes a connection of its own). An
    // exporter without a transport to lend (one given in the options, usually) leaves the metrics their own.
    const exporter = this.exporter
    const transport = exporter.transport ?? (this.#metricsTransport = new SocketTransport(config.url))
    return new TracerMetrics({
      config: config.metrics,
      identity: { service: config.service, env: config.env, version: config.version, tags: config.tags, runtimeId: this.#runtimeId },
      transport,
      agentUrl: config.url.href.replace(/\/$/, ''),
      diagnostics: this.#diagnostics,
      requestTimeoutMs: config.requestTimeoutMs,
      // Read once a flush, with the runtime metrics: the request path never sees it.
      exporterCounters: () => exporter.health?.()
    })
  }

  /** The exporter's counters; undefined when it keeps none. */
  health(): ExporterHealth | undefined {
    return this.exporter.health?.()
  }

  /** Sends every trace and metric taken before the call, waiting at most `timeoutMs`. Never rejects. */
  async flush(timeoutMs: number): Promise<void> {
    try {
      // The exporter keeps its own deadline; the metrics sender's POSTs each have a timeout, but a queue
      // of them does not, so the metrics get the same deadline here.
      await Promise.all([this.exporter.flush({ timeoutMs }), settledWithin(this.#metrics?.flush(), timeoutMs, false)])
    } catch (err) {
      this.#diagnostics.warn('flush-failed', 'flushing traces failed', String(err))
    }
  }

  /**
   * The exit flush: waits at most `timeoutMs` (its own timer holds the process that long, even with an
   * exporter that ignores the deadline), then says what did not go out.
   */
  async flushWithin(timeoutMs: number): Promise<void> {
    let flushing: Promise<unknown>
    try {
      flushing = Promise.all([this.exporter.flush({ timeoutMs }), this.#metrics?.flush()])
    } catch {
      flushing = Promise.resolve()
    }
    await settledWithin(flushing, timeoutMs, true)
    const health = this.health()
    if (health !== undefined && (health.queuedSpans > 0 || health.inFlightRequests > 0)) {
      // The retries that would have reported it outlive the process: say now what did not go out.
      this.#diagnostics.warn(
        'exit-unsent',
        `exiting before traces reached the Datadog agent at ${this.#config.url.href} (${health.lastError ?? 'no answer yet'}); the traces still waiting are lost`
      )
    }
  }

  /** Sends what is left (waiting at most `timeoutMs`), then closes the exporter, the metrics and their agent clients. */
  async shutdown(timeoutMs: number): Promise<void> {
    try {
      // The exporter closes the agent client the metrics share; closing ends idle connections only, so
      // the metrics' last POST, in flight or not yet sent, still goes out.
      await Promise.all([this.exporter.shutdown(timeoutMs), this.#metrics?.shutdown()])
      await this.#metricsTransport?.close()
    } catch (err) {
      this.#diagnostics.warn('shutdown-failed', 'shutting the exporter down failed', String(err))
    }
  }
}

function agentExporter({ config, diagnostics, runtimeId, globalMeta, onRates }: TracerSendersOptions): AgentExporter {
  return new AgentExporter({
    url: config.url,
    flushIntervalMs: config.flushIntervalMs,
    maxQueueSpans: config.maxQueueSpans,
    maxPayloadBytes: config.maxPayloadBytes,
    requestTimeoutMs: config.requestTimeoutMs,
    flushTimeoutMs: config.flushTimeoutMs,
    protocolVersion: config.protocolVersion,
    retryDeadlineMs: config.retryDeadlineMs,
    retryMaxDelayMs: config.retryMaxDelayMs,
    discovery: config.agentDiscovery,
    nativeSpanEvents: config.nativeSpanEvents,
    // Fed by the exporter when it takes chunks off its queue, never on the request path.
    stats: config.statsComputation
      ? new ClientStats({ service: config.service, env: config.env, version: config.version, runtimeId, diagnostics })
      : undefined,
    decorations: { service: config.service, globalMeta, processId: process.pid },
    diagnostics,
    onRates
  })
}

/**
 * Resolves when `work` settles or after `timeoutMs`, whichever is first; never rejects. With `hold`, the
 * timer keeps the process alive that long (the exit flush), else it never does.
 */
async function settledWithin(work: Promise<unknown> | undefined, timeoutMs: number, hold: boolean): Promise<void> {
  if (work === undefined) return
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs)
    if (!hold) timer.unref()
  })
  try {
    await Promise.race([work.then(() => undefined, () => undefined), deadline])
  } finally {
    clearTimeout(timer)
  }
}
