import type { MetricStore, SeriesFilter } from './metric-store.js'

/** Series answered at most by one `/api/metrics/series` call, unless `limit` says otherwise. */
export const DEFAULT_SERIES_LIMIT = 200
export const MAX_SERIES_LIMIT = 2000

export interface ApiAnswer {
  readonly status: number
  readonly body: unknown
}

const NAMES_LISTED = 500

function bad(message: string): ApiAnswer {
  return { status: 400, body: { error: message } }
}

/**
 * The metrics part of the query API, computed from what the store holds:
 * - `GET /api/metrics`: the processes that sent metrics (service, runtime id, env, version, last seen),
 *   the metric names, counters of what arrived, and the last refused lines;
 * - `GET /api/metrics/series?service=&runtimeId=&name=&prefix=&since=&limit=`: series with their points
 *   (`name` may repeat; `since` in epoch ms keeps only newer points, for a page that polls).
 * Answers undefined for any other path.
 */
export function metricsAnswer(store: MetricStore, path: string, query: URLSearchParams): ApiAnswer | undefined {
  if (path === '/api/metrics') {
    const unknown = query.keys().next()
    if (unknown.done !== true) return bad(`unknown parameter ${JSON.stringify(unknown.value)}; this endpoint takes none`)
    const names = new Map<string, { name: string; type: string; series: number }>()
    for (const s of store.series()) {
      const key = `${s.name}|${s.type}`
      const entry = names.get(key)
      if (entry === undefined) names.set(key, { name: s.name, type: s.type, series: 1 })
      else entry.series++
    }
    return {
      status: 200,
      body: {
        version: store.version,
        counts: store.counts(),
        maxSeries: store.maxSeries,
        maxPoints: store.maxPoints,
        processes: store.processes(),
        names: [...names.values()].slice(0, NAMES_LISTED),
        invalid: store.invalid().reverse().slice(0, 20)
      }
    }
  }
  if (path !== '/api/metrics/series') return undefined
  const allowed = ['service', 'runtimeId', 'name', 'prefix', 'since', 'limit']
  for (const name of query.keys()) {
    if (!allowed.includes(name)) return bad(`unknown parameter ${JSON.stringify(name)}; this endpoint takes ${allowed.join(', ')}`)
  }
  const filter: SeriesFilter = {}
  const service = query.get('service')
  if (service !== null) filter.service = service
  const runtimeId = query.get('runtimeId')
  if (runtimeId !== null) filter.runtimeId = runtimeId
  const names = query.getAll('name')
  if (names.length > 0) filter.names = names
  const prefix = query.get('prefix')
  if (prefix !== null) filter.prefix = prefix
  const since = query.get('since')
  if (since !== null) {
    const value = /^\d+(\.\d+)?$/.test(since) ? Number(since) : NaN
    if (!Number.isFinite(value)) return bad(`since must be a time in epoch ms, got ${JSON.stringify(since)}`)
    filter.since = value
  }
  const limitText = query.get('limit')
  const limit = limitText === null ? DEFAULT_SERIES_LIMIT : /^\d+$/.test(limitText) ? Number(limitText) : NaN
  if (!(limit >= 1 && limit <= MAX_SERIES_LIMIT)) return bad(`limit must be an integer from 1 to ${MAX_SERIES_LIMIT}, got ${JSON.stringify(limitText)}`)
  const series = store.series(filter)
  return { status: 200, body: { version: store.version, total: series.length, series: series.slice(0, limit) } }
}
