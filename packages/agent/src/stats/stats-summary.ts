import { shownGroupResource } from '../store/span-display.js'
import { sketchQuantile, type ReceivedSketch } from './stats-sketch.js'
import type { ReceivedStats } from './stats-store.js'

/** Client-computed stats of one service's operation on one resource, summed over the payloads held. */
export interface ClientStatsRow {
  service: string
  name: string
  resource: string
  hits: number
  errors: number
  topLevelHits: number
  /** Sum of durations, ns. */
  durationNs: number
  /** Latency quantiles from the merged sketches (ok and error spans), ns; 0 without sketches. */
  p50Ns: number
  p95Ns: number
  p99Ns: number
}

/**
 * Groups every bucket's stats by service, operation name and resource (whatever their status code, span
 * kind or other key fields), as the summary of spans does, so the two can be read side by side. SQL
 * resources a tracer sent as written are shown obfuscated, as the agent obfuscates them.
 */
export function summarizeClientStats(payloads: Iterable<ReceivedStats>): ClientStatsRow[] {
  const rows = new Map<string, { row: ClientStatsRow; sketches: ReceivedSketch[] }>()
  for (const payload of payloads) {
    const sentObfuscated = Number(payload.headers['datadog-obfuscation-version'] ?? 0) >= 1
    for (const bucket of payload.stats) {
      for (const g of bucket.stats) {
        const resource = shownGroupResource(g, sentObfuscated)
        const key = `${g.service}\u0000${g.name}\u0000${resource}`
        let entry = rows.get(key)
        if (entry === undefined) {
          entry = {
            row: { service: g.service, name: g.name, resource, hits: 0, errors: 0, topLevelHits: 0, durationNs: 0, p50Ns: 0, p95Ns: 0, p99Ns: 0 },
            sketches: []
          }
          rows.set(key, entry)
        }
        entry.row.hits += g.hits
        entry.row.errors += g.errors
        entry.row.topLevelHits += g.topLevelHits
        entry.row.durationNs += g.duration
        if (g.okSummary.count > 0) entry.sketches.push(g.okSummary)
        if (g.errorSummary.count > 0) entry.sketches.push(g.errorSummary)
      }
    }
  }
  const out: ClientStatsRow[] = []
  for (const { row, sketches } of rows.values()) {
    if (sketches.length > 0) {
      row.p50Ns = Math.round(sketchQuantile(sketches, 0.5))
      row.p95Ns = Math.round(sketchQuantile(sketches, 0.95))
      row.p99Ns = Math.round(sketchQuantile(sketches, 0.99))
    }
    out.push(row)
  }
  return out.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : b.hits - a.hits || (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0)))
}
