// One measurement in a fresh process: TRACES traces of SPANS spans each, made, finished and sent to the
// sink at SINK_URL by one tracer ("ours" or "dd-trace"). Prints JSON: request-path ns per span (start +
// finish, which for dd-trace includes its encoding) and total CPU ns per span once everything was sent.
const [which, sinkUrl, tracesArg, spansArg] = process.argv.slice(2)
const TRACES = Number(tracesArg ?? 20000)
const SPANS = Number(spansArg ?? 5)
const nodeMajor = Number(process.versions.node.split('.')[0])

let startSpan, finishAll
if (which === 'ours') {
  const { createTracer } = await import('@datadog-apm/core')
  const tracer = createTracer({ service: 'bench', env: 'bench', url: sinkUrl, flushIntervalMs: 3_600_000, maxQueueSpans: 10_000_000, flushOnExit: false })
  startSpan = (name, parent) => tracer.startSpan(name, { childOf: parent ?? null })
  finishAll = () => tracer.flush()
} else {
  const { default: ddtrace } = await import(nodeMajor >= 22 ? 'dd-trace6' : 'dd-trace')
  ddtrace.init({ service: 'bench', env: 'bench', url: sinkUrl, flushInterval: 3_600_000, plugins: false, startupLogs: false, telemetry: { enabled: false }, remoteConfig: { enabled: false } })
  startSpan = (name, parent) => ddtrace.startSpan(name, parent === undefined ? {} : { childOf: parent })
  const exporter = ddtrace._tracer?._exporter
  if (typeof exporter?.flush !== 'function') throw new Error('dd-trace exporter not reachable for flush')
  finishAll = () => new Promise((resolve) => exporter.flush(resolve))
}

// Like a server, the loop yields to the event loop between batches of requests, so each tracer's timers
// and thresholds work as they would in an app; only the synchronous span work is timed as request path.
async function round() {
  let requestPathNs = 0n
  for (let t = 0; t < TRACES; ) {
    const batchStart = process.hrtime.bigint()
    for (const end = Math.min(TRACES, t + 100); t < end; t++) {
      const root = startSpan('bench.request')
      root.setTag('http.method', 'GET')
      root.setTag('http.route', '/users/:id')
      for (let s = 1; s < SPANS; s++) {
        const child = startSpan('bench.child', root)
        child.setTag('component', 'bench')
        child.finish()
      }
      root.finish()
    }
    requestPathNs += process.hrtime.bigint() - batchStart
    await new Promise((resolve) => setImmediate(resolve))
  }
  return requestPathNs
}

// Warm-up round, then the measured one.
await round()
await finishAll()
await new Promise((resolve) => setTimeout(resolve, 200))
const cpu0 = process.cpuUsage()
const requestPathNs = await round()
await finishAll()
await new Promise((resolve) => setTimeout(resolve, 100))
const cpu = process.cpuUsage(cpu0)
const spans = TRACES * SPANS
process.stdout.write(
  `${JSON.stringify({ which, node: process.version, spans, requestPathNsPerSpan: Number(requestPathNs) / spans, totalCpuNsPerSpan: ((cpu.user + cpu.system) * 1000) / spans })}\n`
)
process.exit(0)
