// What `--once` checks: every request of the load became one whole trace across both services, with its
// errors marked, and the intake found nothing to object to. Each problem is one readable line.

export async function fetchFromIntake(intakeUrl) {
  const list = await getJson(`${intakeUrl}/api/traces?limit=1000`)
  const traces = await Promise.all(list.traces.map(async (t) => (await getJson(`${intakeUrl}/api/traces/${t.traceId}`)).trace))
  const { violations } = await getJson(`${intakeUrl}/api/violations?limit=1000`)
  const { rows } = await getJson(`${intakeUrl}/api/summary`)
  return { traces, violations, summary: rows }
}

async function getJson(url) {
  const response = await fetch(url)
  if (!response.ok) throw new Error(`${url} answered ${response.status}`)
  return response.json()
}

/** The load's own answers: a wrong status means the example app is broken, whatever the traces say. */
export function checkAnswers(results) {
  return results
    .filter((r) => r.got !== r.status)
    .map((r) => `${r.method} ${r.path} answered ${r.got || 'nothing (the request failed)'}, expected ${r.status}`)
}

export function checkTraces(results, traces, violations) {
  const problems = []
  const unused = new Set(traces)
  for (const expected of results) {
    const label = `${expected.method} ${expected.path}`
    const trace = [...unused].find((t) => t.service === 'web' && t.resource === expected.web.resource && t.status === String(expected.status))
    if (trace === undefined) {
      problems.push(`${label}: no trace with a web root span "${expected.web.resource}" and status ${expected.status} arrived`)
      continue
    }
    unused.delete(trace)
    problems.push(...checkTrace(label, expected, trace))
  }
  const strays = [...unused]
  const apiAlone = strays.filter((t) => t.service === 'api')
  if (apiAlone.length > 0) {
    problems.push(`${apiAlone.length} api traces arrived on their own (${[...new Set(apiAlone.map((t) => t.resource))].join(', ')}): the web service's fetch did not carry the trace to the api`)
  }
  for (const t of strays.filter((s) => s.service !== 'api')) problems.push(`an unexpected trace arrived: ${t.service} "${t.resource}" (${t.spanCount} spans)`)
  if (violations.length > 0) {
    const byRule = new Map()
    for (const v of violations) byRule.set(v.rule, (byRule.get(v.rule) ?? 0) + 1)
    problems.push(`the intake recorded ${violations.length} violations: ${[...byRule].map(([rule, n]) => `${rule} x${n}`).join(', ')}; first: ${violations[violations.length - 1].message}`)
  }
  return problems
}

function checkTrace(label, expected, trace) {
  const problems = []
  const spans = trace.spans
  if (trace.rootCount !== 1) problems.push(`${label}: the trace is in ${trace.rootCount} pieces (spans whose parent did not arrive)`)
  if (trace.dropReason !== null) problems.push(`${label}: the Datadog Agent would drop this trace (${trace.dropReason})`)
  const web = spans.find((s) => s.service === 'web' && s.name === 'express.request')
  if (web === undefined) return [...problems, `${label}: no express.request span`]
  problems.push(...checkErrorMark(`${label}: web`, expected.web, web))
  if (expected.slowMs !== undefined && web.duration < expected.slowMs * 1e6) {
    problems.push(`${label}: took ${(web.duration / 1e6).toFixed(1)} ms, expected at least ${expected.slowMs} ms`)
  }
  const api = spans.find((s) => s.service === 'api' && s.name === 'fastify.request')
  if (expected.api === undefined) {
    if (api !== undefined) problems.push(`${label}: has an api span, but this request never calls the api`)
    return problems
  }
  if (api === undefined) return [...problems, `${label}: the trace has no api span: the fetch to the api did not carry the trace`]
  if (api.resource !== expected.api.resource) problems.push(`${label}: api span resource is "${api.resource}", expected "${expected.api.resource}"`)
  if (api.meta['http.status_code'] !== expected.api.status) problems.push(`${label}: api span status is ${api.meta['http.status_code']}, expected ${expected.api.status}`)
  problems.push(...checkErrorMark(`${label}: api`, expected.api, api))
  const parent = spans.find((s) => s.span_id === api.parent_id)
  if (parent === undefined || parent.service !== 'web') problems.push(`${label}: the api span's parent is not a web span`)
  // The api's database queries: children of its request span, with their statement as the resource.
  const queries = spans.filter((s) => s.type === 'sql')
  const wanted = expected.api.queries ?? []
  if (queries.length !== wanted.length) problems.push(`${label}: ${queries.length} database spans, expected ${wanted.length}`)
  wanted.forEach((query, i) => {
    const span = queries[i]
    if (span === undefined) return
    if (span.name !== query.name || span.service !== query.service || span.resource !== query.resource) {
      problems.push(`${label}: database span ${span.name} ${span.service} "${span.resource}", expected ${query.name} ${query.service} "${query.resource}"`)
    }
    if (span.parent_id !== api.span_id) problems.push(`${label}: the ${span.name} span's parent is not the api request span`)
  })
  return problems
}

function checkErrorMark(label, expected, span) {
  const problems = []
  if (span.error !== expected.error) problems.push(`${label} span has error=${span.error}, expected ${expected.error}`)
  if (expected.error === 1) {
    if (expected.errorType !== undefined && span.meta['error.type'] !== expected.errorType) {
      problems.push(`${label} span has error.type ${JSON.stringify(span.meta['error.type'])}, expected ${expected.errorType}`)
    }
    if (!span.meta['error.message'] || !span.meta['error.stack']) problems.push(`${label} span lacks error.message or error.stack`)
  }
  return problems
}

/** What the intake holds of the metrics: its overview and the demo's custom counter. */
export async function fetchMetrics(intakeUrl) {
  const overview = await getJson(`${intakeUrl}/api/metrics`)
  const { series } = await getJson(`${intakeUrl}/api/metrics/series?name=shop.product.views&limit=2000`)
  return { ...overview, productViews: series }
}

// What every runtime-metrics flush carries (the event loop delay and GC pauses are sent only when there were some).
const RUNTIME_METRICS = ['runtime.node.cpu.total', 'runtime.node.mem.rss', 'runtime.node.mem.heap_used', 'runtime.node.heap.total_heap_size', 'runtime.node.event_loop.utilization', 'runtime.node.process.uptime']

/**
 * Both services sent their runtime metrics, each tagged with its own runtime id, and web's custom
 * counter adds up to the product pages it served.
 */
export function checkMetrics(results, metrics) {
  const problems = []
  for (const service of ['web', 'api']) {
    const processes = metrics.processes.filter((p) => p.service === service)
    if (processes.length !== 1) {
      problems.push(`${service}: expected the metrics of one process, got ${processes.length}`)
      continue
    }
    const [p] = processes
    if (!/^[0-9a-f-]{36}$/.test(p.runtimeId)) problems.push(`${service}: its metrics carry no runtime-id tag`)
    const missing = RUNTIME_METRICS.filter((name) => !p.names.includes(name))
    if (missing.length > 0) problems.push(`${service}: runtime metrics missing: ${missing.join(', ')}`)
  }
  const views = results.filter((r) => r.path.startsWith('/shop/products/') && r.got === 200).length
  const counted = metrics.productViews.reduce((sum, s) => sum + s.points.reduce((n, [, value]) => n + value, 0), 0)
  if (counted !== views) problems.push(`web's shop.product.views counter adds up to ${counted}, expected ${views} (one a product page served)`)
  if (metrics.counts.invalid > 0) problems.push(`the intake refused ${metrics.counts.invalid} metric lines; first: ${metrics.invalid[0]?.line} (${metrics.invalid[0]?.reason})`)
  return problems
}

/** With a real agent there is nothing to read back: the services' own export counters say it all. */
export function checkHealth(stopped) {
  const problems = []
  for (const { name, health, exit } of stopped) {
    if (exit.code !== 0) problems.push(`${name} exited with ${exit.signal ?? `code ${exit.code}`}`)
    if (health === undefined || health === null) {
      problems.push(`${name} reported no export health`)
      continue
    }
    if (health.lastError !== undefined) problems.push(`${name}: the last export failed: ${health.lastError}`)
    if (health.tracesDropped > 0) problems.push(`${name} dropped ${health.tracesDropped} traces (${Object.entries(health.droppedByReason).map(([k, v]) => `${k} x${v}`).join(', ')})`)
    if (health.inFlightRequests > 0) problems.push(`${name} exited with ${health.inFlightRequests} export requests still unanswered`)
    if (health.tracesSent === 0) problems.push(`${name} sent no traces`)
  }
  return problems
}
