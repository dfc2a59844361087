import { shownResource } from './span-display.js'
import type { StoredTrace } from './trace-index.js'
import type { ReceivedSpan } from '../intake/types.js'

/** Requests, errors and latency of one service's operation on one resource, over the traces held. */
export interface SummaryRow {
  service: string
  /** Operation name, e.g. `express.request`. */
  name: string
  resource: string
  requests: number
  errors: number
  /** Latency percentiles (nearest rank) and the maximum, in ns. */
  p50Ns: number
  p95Ns: number
  p99Ns: number
  maxNs: number
}

/**
 * Which spans count, as for the Datadog Agent's stats: top-level spans (the root, or a span whose parent is
 * in another service or not in the trace at all, i.e. the service's entry point) and spans marked
 * `_dd.measured`. Grouped by service, operation name and resource, as the agent groups them (SQL
 * obfuscated, as the agent obfuscates it before it counts).
 */
export function summarize(traces: Iterable<StoredTrace>): SummaryRow[] {
  const groups = new Map<string, { service: string; name: string; resource: string; durations: number[]; errors: number }>()
  for (const trace of traces) {
    const spans = trace.spans()
    const byId = new Map<bigint, ReceivedSpan>()
    for (const span of spans) byId.set(span.span_id, span)
    for (const span of spans) {
      if (!countsInStats(span, byId)) continue
      const resource = shownResource(span)
      const key = `${span.service}\u0000${span.name}\u0000${resource}`
      let group = groups.get(key)
      if (group === undefined) {
        group = { service: span.service, name: span.name, resource, durations: [], errors: 0 }
        groups.set(key, group)
      }
      group.durations.push(Number(span.duration))
      if (span.error !== 0) group.errors++
    }
  }
  const rows: SummaryRow[] = []
  for (const { service, name, resource, durations, errors } of groups.values()) {
    durations.sort((a, b) => a - b)
    rows.push({
      service,
      name,
      resource,
      requests: durations.length,
      errors,
      p50Ns: percentile(durations, 0.5),
      p95Ns: percentile(durations, 0.95),
      p99Ns: percentile(durations, 0.99),
      maxNs: durations[durations.length - 1] ?? 0
    })
  }
  return rows.sort((a, b) => compare(a.service, b.service) || b.requests - a.requests || compare(a.resource, b.resource) || compare(a.name, b.name))
}

function countsInStats(span: ReceivedSpan, byId: Map<bigint, ReceivedSpan>): boolean {
  if (span.metrics['_dd.measured'] === 1) return true
  if (span.parent_id === 0n) return true
  const parent = byId.get(span.parent_id)
  return parent === undefined || parent === span || parent.service !== span.service
}

/** Nearest-rank percentile of ascending values: the smallest value with at least q of them at or below it. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0
  const rank = Math.max(1, Math.ceil(q * sorted.length))
  return sorted[rank - 1] ?? 0
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
