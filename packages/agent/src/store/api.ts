import { Buffer } from 'node:buffer'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { IntakeStore } from './intake-store.js'
import { PAGE_CSS } from '../page/page-css.js'
import { PAGE_HTML } from '../page/page-html.js'
import { PAGE_METRICS_SCRIPT } from '../page/page-metrics-script.js'
import { PAGE_SCRIPT } from '../page/page-script.js'
import type { StatsStore } from '../stats/stats-store.js'
import type { MetricStore } from '../metrics/metric-store.js'
import { metricsAnswer } from '../metrics/metrics-api.js'
import { shownResource } from './span-display.js'
import { summarizeClientStats } from '../stats/stats-summary.js'
import { summarize } from './summary.js'
import type { StoredTrace } from './trace-index.js'
import { payloadJson, spanJson, stringify, traceListItem, violationJson } from './trace-json.js'

// The query API and the page, served beside the agent endpoints. Every answer is computed from what the
// store holds at that moment; nothing here keeps state of its own.

export const DEFAULT_LIST_LIMIT = 50
export const MAX_LIST_LIMIT = 1000

const UINT64_MAX = 0xffff_ffff_ffff_ffffn
const DECIMAL_ID = /^\d{1,20}$/
const HEX128_ID = /^[0-9a-fA-F]{32}$/
const TRACE_PATH = /^\/api\/traces\/([^/]+)$/

// The page loads nothing but its own script and stylesheet, and talks to nothing but this server.
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

class BadRequest extends Error {}

export interface IntakeApiOptions {
  /** Extra fields for `/api/status` (the agent's version, its URLs). */
  status?: () => Record<string, unknown>
  /** Client-side stats received on `/v0.6/stats`, for `/api/stats` and the summary. */
  stats?: StatsStore
  /** DogStatsD metrics received, for `/api/metrics`. */
  metrics?: MetricStore
}

export class IntakeApi {
  readonly #store: IntakeStore
  readonly #status: () => Record<string, unknown>
  readonly #stats: StatsStore | undefined
  readonly #metrics: MetricStore | undefined
  // The page asks for the status every 1.5 s; the service list changes only with the store's version.
  #services: { version: number; names: string[] } = { version: -1, names: [] }

  constructor(store: IntakeStore, options: IntakeApiOptions = {}) {
    this.#store = store
    this.#status = options.status ?? (() => ({}))
    this.#stats = options.stats
    this.#metrics = options.metrics
  }

  /** Answers when `path` is the page's or the API's and returns true; returns false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, method: string): boolean {
    if (path === '/favicon.ico') {
      // Browsers ask for it on their own; a 404 would be a red line in every console.
      send(res, 204, '', 'image/x-icon', true, {})
      return true
    }
    const page = pageAsset(path)
    if (page === undefined && path !== '/api' && !path.startsWith('/api/')) return false
    // As the real agent does: a page on another site may not drive the intake from a browser.
    if (req.headers['sec-fetch-site'] === 'cross-site') {
      json(res, 403, { error: 'cross-site requests are refused' })
      return true
    }
    if (page !== undefined) {
      if (method !== 'GET' && method !== 'HEAD') json(res, 405, { error: 'method not allowed' }, { Allow: 'GET, HEAD' })
      else send(res, 200, page.body, page.type, method === 'HEAD', page.headers)
      return true
    }
    try {
      this.#route(res, path, method, new URL(req.url ?? '/', 'http://intake').searchParams)
    } catch (error) {
      // A bug here must cost one answer, not the process that holds everyone's traces.
      if (error instanceof BadRequest) json(res, 400, { error: error.message })
      else json(res, 500, { error: `internal error: ${error instanceof Error ? error.message : String(error)}` })
    }
    return true
  }

  #route(res: ServerResponse, path: string, method: string, query: URLSearchParams): void {
    if (path === '/api/clear') {
      if (method !== 'POST') return json(res, 405, { error: 'method not allowed' }, { Allow: 'POST' })
      allowOnly(query, [])
      this.#store.clear()
      this.#metrics?.clear()
      return json(res, 200, { cleared: true, version: this.#store.version })
    }
    if (method !== 'GET') return json(res, 405, { error: 'method not allowed' }, { Allow: 'GET' })
    if (path === '/api/status') {
      allowOnly(query, [])
      return json(res, 200, this.#statusBody())
    }
    if (path === '/api/traces') return json(res, 200, this.#listTraces(query))
    if (path === '/api/summary') {
      allowOnly(query, [])
      const clientStats = this.#stats?.all() ?? []
      return json(res, 200, {
        version: this.#store.version,
        source: 'spans',
        rows: summarize(this.#store.storedTraces()),
        clientStats: { payloads: clientStats.length, rows: summarizeClientStats(clientStats) }
      })
    }
    if (path === '/api/stats') {
      allowOnly(query, ['limit'])
      const all = this.#stats?.all() ?? []
      return json(res, 200, { version: this.#store.version, total: all.length, stats: all.reverse().slice(0, limitParam(query)) })
    }
    const metrics = this.#metrics === undefined ? undefined : metricsAnswer(this.#metrics, path, query)
    if (metrics !== undefined) return json(res, metrics.status, metrics.body)
    if (path === '/api/violations') return json(res, 200, this.#listViolations(query))
    if (path === '/api/payloads') {
      allowOnly(query, ['limit'])
      const all = this.#store.payloads()
      const limit = limitParam(query)
      return json(res, 200, { version: this.#store.version, total: all.length, payloads: all.reverse().slice(0, limit).map(payloadJson) })
    }
    const match = TRACE_PATH.exec(path)
    if (match !== null) {
      allowOnly(query, [])
      const text = match[1] ?? ''
      const id = parseTraceId(text)
      const trace = id === undefined ? undefined : this.#store.storedTrace(id)
      // A 128-bit id names one trace: the low half alone matching is not enough when the high half is known.
      const high = trace?.overview().traceIdHigh
      if (trace === undefined || (text.length === 32 && high !== undefined && high !== text.slice(0, 16).toLowerCase())) {
        return json(res, 404, { error: `no trace ${text} is held` })
      }
      return json(res, 200, { version: this.#store.version, trace: this.#traceDetail(trace) })
    }
    json(res, 404, { error: `no such API: ${path}` })
  }

  #statusBody(): Record<string, unknown> {
    const store = this.#store
    const counts = store.counts()
    return {
      ...this.#status(),
      version: store.version,
      traces: counts.traces,
      chunks: counts.chunks,
      spans: store.spanCount,
      payloads: counts.payloads,
      violations: counts.violations,
      services: this.#serviceNames(),
      maxTraces: store.capacity,
      maxSpans: store.maxSpans
    }
  }

  #serviceNames(): string[] {
    const version = this.#store.version
    if (this.#services.version !== version) {
      this.#services = { version, names: [...new Set(this.#store.storedTraces().flatMap((trace) => trace.overview().services))].sort() }
    }
    return this.#services.names
  }

  #listTraces(query: URLSearchParams): unknown {
    allowOnly(query, ['service', 'resource', 'error', 'minDurationMs', 'limit'])
    const service = query.get('service') ?? undefined
    const resource = query.get('resource') ?? undefined
    const error = booleanParam(query, 'error')
    const minDurationNs = minDurationParam(query)
    const limit = limitParam(query)
    const violations = this.#violationsByTrace()
    const matching = this.#store.storedTraces().filter((trace) => {
      const o = trace.overview()
      if (error !== undefined && (o.errorCount > 0) !== error) return false
      if (minDurationNs !== undefined && o.duration < minDurationNs) return false
      if (service !== undefined && !o.services.includes(service)) return false
      // The resource as shown (SQL obfuscated) or as sent: the page's filter takes what it shows.
      if (resource !== undefined && !trace.spans().some((s) => s.resource === resource || shownResource(s) === resource)) return false
      return true
    })
    // Newest first by start; a trace whose chunks arrive late still sits where its time puts it.
    matching.sort((a, b) => {
      const x = a.overview().start
      const y = b.overview().start
      return x > y ? -1 : x < y ? 1 : 0
    })
    return {
      version: this.#store.version,
      // Every trace held, matching or not, counted as /api/status counts them: a page shows "no traces
      // yet" only when this is 0, and "none matches" otherwise.
      held: this.#store.counts().traces,
      total: matching.length,
      traces: matching.slice(0, limit).map((trace) => traceListItem(trace, violations.get(trace.traceId) ?? 0))
    }
  }

  #traceDetail(trace: StoredTrace): unknown {
    const o = trace.overview()
    const violations = this.#store.violations().filter((v) => v.traceId === trace.traceId)
    return {
      ...traceListItem(trace, violations.length),
      spans: trace.spans().map((span) => spanJson(span, o.start)),
      violations: violations.map(violationJson)
    }
  }

  #listViolations(query: URLSearchParams): unknown {
    allowOnly(query, ['rule', 'traceId', 'limit'])
    const rule = query.get('rule') ?? undefined
    const traceIdText = query.get('traceId')
    const traceId = traceIdText === null ? undefined : parseTraceId(traceIdText)
    if (traceIdText !== null && traceId === undefined) throw new BadRequest(`traceId must be a decimal 64-bit id or 32 hex digits, got ${JSON.stringify(traceIdText)}`)
    const limit = limitParam(query)
    const matching = this.#store.violations().filter((v) => (rule === undefined || v.rule === rule) && (traceId === undefined || v.traceId === traceId))
    return { version: this.#store.version, total: matching.length, violations: matching.reverse().slice(0, limit).map(violationJson) }
  }

  #violationsByTrace(): Map<bigint, number> {
    const counts = new Map<bigint, number>()
    for (const v of this.#store.violations()) {
      if (v.traceId !== undefined) counts.set(v.traceId, (counts.get(v.traceId) ?? 0) + 1)
    }
    return counts
  }
}

/** A trace id as the API takes it: the low 64 bits in decimal, or the full 128-bit id in 32 hex digits. */
export function parseTraceId(text: string): bigint | undefined {
  if (DECIMAL_ID.test(text)) {
    const id = BigInt(text)
    return id <= UINT64_MAX ? id : undefined
  }
  if (HEX128_ID.test(text)) return BigInt(`0x${text.slice(16)}`)
  return undefined
}

function allowOnly(query: URLSearchParams, names: readonly string[]): void {
  for (const name of query.keys()) {
    if (!names.includes(name)) throw new BadRequest(`unknown parameter ${JSON.stringify(name)}${names.length > 0 ? `; this endpoint takes ${names.join(', ')}` : ''}`)
  }
}

function limitParam(query: URLSearchParams): number {
  const text = query.get('limit')
  if (text === null) return DEFAULT_LIST_LIMIT
  const limit = /^\d+$/.test(text) ? Number(text) : NaN
  if (!(limit >= 1 && limit <= MAX_LIST_LIMIT)) throw new BadRequest(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}, got ${JSON.stringify(text)}`)
  return limit
}

function booleanParam(query: URLSearchParams, name: string): boolean | undefined {
  const text = query.get(name)
  if (text === null) return undefined
  if (text === 'true') return true
  if (text === 'false') return false
  throw new BadRequest(`${name} must be true or false, got ${JSON.stringify(text)}`)
}

function minDurationParam(query: URLSearchParams): bigint | undefined {
  const text = query.get('minDurationMs')
  if (text === null) return undefined
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN
  if (!Number.isFinite(ms)) throw new BadRequest(`minDurationMs must be a number of ms, 0 or more, got ${JSON.stringify(text)}`)
  return BigInt(Math.round(ms * 1e6))
}

interface PageAsset {
  body: string
  type: string
  headers: Record<string, string>
}

function pageAsset(path: string): PageAsset | undefined {
  switch (path) {
    case '/':
    case '/index.html':
      return { body: PAGE_HTML, type: 'text/html; charset=utf-8', headers: { 'Content-Security-Policy': PAGE_CSP } }
    case '/page.js':
      return { body: PAGE_SCRIPT, type: 'text/javascript; charset=utf-8', headers: {} }
    case '/page-metrics.js':
      return { body: PAGE_METRICS_SCRIPT, type: 'text/javascript; charset=utf-8', headers: {} }
    case '/page.css':
      return { body: PAGE_CSS, type: 'text/css; charset=utf-8', headers: {} }
    default:
      return undefined
  }
}

function json(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  send(res, status, stringify(body), 'application/json; charset=utf-8', false, extra)
}

function send(res: ServerResponse, status: number, body: string, type: string, headOnly: boolean, extra: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return
  res.statusCode = status
  res.setHeader('Content-Type', type)
  res.setHeader('Content-Length', Buffer.byteLength(body))
  res.setHeader('Cache-Control', 'no-store')
  res.setHeader('X-Content-Type-Options', 'nosniff')
  for (const [name, value] of Object.entries(extra)) res.setHeader(name, value)
  res.end(headOnly ? undefined : body)
}
