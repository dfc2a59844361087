import type { Diagnostics } from '../base/diagnostics.js'
import type { Transport } from '../agent-client/transport.js'
import { readContainerIdentity } from '../export/container-id.js'
import { MetricsAggregator } from './aggregator.js'
import { ClientTelemetry } from './client-telemetry.js'
import { lineSuffix, sanitizeTagValue, type LineSuffix } from './dogstatsd-line.js'
import { DogStatsDClient, type DogStatsD } from './dogstatsd-client.js'
import type { MetricsConfig } from '../config/metrics-config.js'
import { ExporterMetrics, type ExporterCounters } from './exporter-metrics.js'
import { processTags } from './process-tags.js'
import { RuntimeMetricsCollector } from './runtime-metrics.js'
import { DogStatsDSender, type SenderCounters, type SenderMode } from './sender.js'

/** Who is sending: the global tags of every metric. */
export interface MetricsIdentity {
  readonly service: string
  readonly env: string | undefined
  readonly version: string | undefined
  /** `DD_TAGS` and the `tags` option. */
  readonly tags: Readonly<Record<string, string>>
  readonly runtimeId: string
}

export interface TracerMetricsOptions {
  readonly config: MetricsConfig
  readonly identity: MetricsIdentity
  /** The agent client, for the DogStatsD proxy endpoint; without one, UDP only. */
  readonly transport?: Transport
  /** The agent's address, for messages. */
  readonly agentUrl?: string
  readonly diagnostics: Diagnostics
  readonly requestTimeoutMs?: number
  /** `ci-<container id>` or `in-<cgroup inode>`; default: read from /proc. */
  readonly entityId?: string | null
  /** The exporter's running totals, sent as `datadog.tracer.node.exporter.agent.*` with the runtime metrics. */
  readonly exporterCounters?: () => ExporterCounters | undefined
}

/**
 * The global tags as dd-trace writes them on metrics: `DD_TAGS` and the tags option, then `service`,
 * `env`, `version` (a tag of `DD_TAGS` with one of these names keeps its place and takes the setting's
 * value) and, unlike dd-trace by default, `runtime-id`: the id every span of this process carries, so a
 * trace leads to the metrics of the process that served it. Values are sanitized, keys are not.
 */
export function globalMetricTags(identity: MetricsIdentity, runtimeIdTag: boolean): string[] {
  const all: Record<string, string> = { ...identity.tags }
  all.service = identity.service
  if (identity.env !== undefined) all.env = identity.env
  if (identity.version !== undefined) all.version = identity.version
  if (runtimeIdTag) all['runtime-id'] = identity.runtimeId
  return Object.entries(all).map(([key, value]) => `${key}:${sanitizeTagValue(value)}`)
}

/**
 * A tracer's metrics: the custom metrics of `tracer.dogstatsd` and, when enabled, the runtime metrics
 * and the client's own telemetry, drained every flush interval (10 s) into one sender. The timer is
 * unref'd: metrics never keep a process alive.
 */
export class TracerMetrics {
  readonly dogstatsd: DogStatsD
  readonly #sender: DogStatsDSender
  readonly #custom: MetricsAggregator
  readonly #runtime: MetricsAggregator | undefined
  readonly #collector: RuntimeMetricsCollector | undefined
  readonly #telemetry: ClientTelemetry | undefined
  readonly #exporterMetrics: ExporterMetrics | undefined
  readonly #suffix: LineSuffix
  readonly #diagnostics: Diagnostics
  #timer: NodeJS.Timeout | undefined
  #stopped = false

  constructor(options: TracerMetricsOptions) {
    const { config, identity } = options
    this.#diagnostics = options.diagnostics
    const entityId = options.entityId === undefined ? readContainerIdentity().entityId : (options.entityId ?? undefined)
    const tags = globalMetricTags(identity, config.runtimeIdTag)
    this.#suffix = lineSuffix(tags, entityId)
    this.#sender = new DogStatsDSender({
      transport: options.transport,
      agentUrl: options.agentUrl,
      host: config.dogstatsdHost,
      port: config.dogstatsdPort,
      diagnostics: options.diagnostics,
      requestTimeoutMs: options.requestTimeoutMs
    })
    this.#custom = new MetricsAggregator(this.#suffix)
    this.dogstatsd = new DogStatsDClient(this.#custom, () => this.flush())
    if (config.runtimeMetrics) {
      const runtimeTags = [
        ...tags,
        ...processTags({ entrypoint: process.argv[1], cwd: process.cwd(), service: identity.service, serviceInferred: config.serviceInferred })
      ]
      this.#runtime = new MetricsAggregator(lineSuffix(runtimeTags, entityId))
      this.#collector = new RuntimeMetricsCollector(this.#runtime, { eventLoop: config.eventLoop, gc: config.gc })
      this.#collector.start()
      this.#telemetry = new ClientTelemetry()
    }
    // As in dd-trace, the tracer's health goes out only while runtime metrics are on.
    this.#exporterMetrics = config.runtimeMetrics && options.exporterCounters !== undefined ? new ExporterMetrics(options.exporterCounters) : undefined
    this.#timer = setInterval(() => this.#tick(true), config.flushIntervalMs)
    this.#timer.unref()
  }

  /** The aggregator of runtime and tracer-health metrics; undefined when runtime metrics are off. */
  get runtime(): MetricsAggregator | undefined {
    return this.#runtime
  }

  get senderCounters(): Readonly<SenderCounters> {
    return this.#sender.counters
  }

  get transportMode(): SenderMode {
    return this.#sender.mode
  }

  /** Collects, drains and queues everything held; the client's telemetry only on the timer's ticks, once an interval. */
  #tick(telemetry: boolean): void {
    try {
      const lines: string[] = []
      if (this.#collector !== undefined && this.#runtime !== undefined) {
        this.#collector.capture()
        this.#exporterMetrics?.capture(this.#runtime)
        const drained = this.#runtime.drain()
        this.#telemetry?.add(drained.counts)
        lines.push(...drained.lines)
      }
      const custom = this.#custom.drain()
      this.#telemetry?.add(custom.counts)
      lines.push(...custom.lines)
      if (telemetry && this.#telemetry !== undefined) lines.push(...this.#telemetry.lines(this.#suffix, this.#sender.counters, this.#sender.mode))
      this.#sender.send(lines)
    } catch (err) {
      this.#diagnostics.debug(`collecting metrics failed: ${String(err)}`)
    }
  }

  /** Collects and sends now; resolves once sent (or dropped). Never rejects. */
  async flush(): Promise<void> {
    if (!this.#stopped) this.#tick(false)
    await this.#sender.flush()
  }

  /** Sends what is held, stops collecting and closes the UDP sockets. Safe to call twice. */
  async shutdown(): Promise<void> {
    if (this.#stopped) return
    this.#tick(false)
    this.#stopped = true
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#collector?.stop()
    await this.#sender.close()
  }
}
