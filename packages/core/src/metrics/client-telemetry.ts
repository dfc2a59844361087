import { TRACER_VERSION } from '../base/version.js'
import type { DrainCounts } from './aggregator.js'
import { formatLine, MetricType, type LineSuffix } from './dogstatsd-line.js'
import type { SenderCounters, SenderMode } from './sender.js'

const TYPE_LABELS = ['count', 'gauge', 'distribution', 'histogram'] as const

/** What the client did over one telemetry interval. */
export class ClientTelemetry {
  readonly #metrics = [0, 0, 0, 0]
  readonly #contexts = [0, 0, 0, 0]
  #sent = { bytesSent: 0, bytesDropped: 0, packetsSent: 0, packetsDropped: 0 }

  /** Adds what one aggregator drain held. */
  add(counts: DrainCounts): void {
    for (let i = 0; i < 4; i++) {
      this.#metrics[i] += counts.metrics[i]
      this.#contexts[i] += counts.contexts[i]
    }
  }

  /**
   * dd-trace's `datadog.dogstatsd.client.*` counts since the last call, tagged with the global tags and
   * `client:nodejs,client_version,client_transport`; the byte and packet counts are those of earlier
   * sends (the lines made now are not sent yet), as in dd-trace.
   */
  lines(suffix: LineSuffix, sender: SenderCounters, mode: SenderMode): string[] {
    const prefix = `${suffix.tagPrefix === '' ? '|#' : `${suffix.tagPrefix},`}client:nodejs,client_version:${TRACER_VERSION},client_transport:${mode}`
    const tagged: LineSuffix = { tagPrefix: prefix, entity: suffix.entity }
    const line = (name: string, value: number, type?: string): string =>
      formatLine(`datadog.dogstatsd.client.${name}`, value, MetricType.COUNT, type === undefined ? '' : `metrics_type:${type}`, tagged)
    const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0)
    const out = [line('metrics', sum(this.#metrics)), line('aggregated_context', sum(this.#contexts))]
    for (let i = 0; i < 4; i++) {
      out.push(line('metrics_by_type', this.#metrics[i], TYPE_LABELS[i]), line('aggregated_context_by_type', this.#contexts[i], TYPE_LABELS[i]))
    }
    const last = this.#sent
    out.push(
      line('bytes_sent', sender.bytesSent - last.bytesSent),
      line('bytes_dropped', sender.bytesDropped - last.bytesDropped),
      line('packets_sent', sender.packetsSent - last.packetsSent),
      line('packets_dropped', sender.packetsDropped - last.packetsDropped)
    )
    this.#sent = { bytesSent: sender.bytesSent, bytesDropped: sender.bytesDropped, packetsSent: sender.packetsSent, packetsDropped: sender.packetsDropped }
    this.#metrics.fill(0)
    this.#contexts.fill(0)
    return out
  }
}
