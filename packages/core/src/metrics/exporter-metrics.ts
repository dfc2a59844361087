import type { ExporterHealth, HealthCounts } from '../export/health.js'
import type { MetricsAggregator } from './aggregator.js'

/**
 * What metrics read of the exporter: its running totals, counts that only grow (`lastError` and the
 * in-flight numbers among them are not sent), and its queue length. Keys of the records become tag
 * values.
 */
export type ExporterCounters = HealthCounts & Pick<ExporterHealth, 'queuedSpans'>

export const EXPORTER_METRIC_PREFIX = 'datadog.tracer.node.exporter.agent.'

/**
 * The exporter's health as metrics, sent with the runtime metrics as dd-trace sends its own: counts of
 * what happened since the last flush, under `datadog.tracer.node.exporter.agent.`. dd-trace's names:
 * `requests`, `responses`, `responses.by.status` (`status:`), `errors`, `errors.by.name` (`name:`),
 * `errors.by.code` (`code:`), all of trace payload requests. Ours beside them: `traces.sent`,
 * `spans.sent`, `bytes.sent`, `payloads.sent`, `traces.dropped.by.reason` and
 * `spans.dropped.by.reason` (`reason:`), `retries`, `payloads.maybe_delivered` (attempts written whole
 * and unanswered), `traces.maybe_delivered` (traces given up while the agent may have them), and the
 * gauge `queue.spans`. A count is sent only when it moved.
 */
export class ExporterMetrics {
  readonly #read: () => ExporterCounters | undefined
  #last = new Map<string, number>()

  constructor(read: () => ExporterCounters | undefined) {
    this.#read = read
  }

  capture(metrics: MetricsAggregator): void {
    const counters = this.#read()
    if (counters === undefined) return
    const next = new Map<string, number>()
    const count = (name: string, total: number, tag = ''): void => {
      const key = tag === '' ? name : `${name}#${tag}`
      next.set(key, total)
      const delta = total - (this.#last.get(key) ?? 0)
      if (delta > 0) metrics.count(EXPORTER_METRIC_PREFIX + name, delta, tag)
    }
    const byTag = (name: string, tagKey: string, totals: Readonly<Record<string, number>>): void => {
      for (const value of Object.keys(totals)) count(name, totals[value], `${tagKey}:${value}`)
    }
    count('requests', counters.requests)
    count('responses', counters.responses)
    byTag('responses.by.status', 'status', counters.responsesByStatus)
    count('errors', counters.errors)
    byTag('errors.by.name', 'name', counters.errorsByName)
    byTag('errors.by.code', 'code', counters.errorsByCode)
    count('traces.sent', counters.tracesSent)
    count('spans.sent', counters.spansSent)
    count('bytes.sent', counters.bytesSent)
    count('payloads.sent', counters.payloadsSent)
    byTag('traces.dropped.by.reason', 'reason', counters.droppedByReason)
    byTag('spans.dropped.by.reason', 'reason', counters.spansDroppedByReason)
    count('retries', counters.retries)
    count('payloads.maybe_delivered', counters.payloadsMaybeDelivered)
    count('traces.maybe_delivered', counters.tracesMaybeDelivered)
    metrics.gauge(`${EXPORTER_METRIC_PREFIX}queue.spans`, counters.queuedSpans)
    this.#last = next
  }
}
