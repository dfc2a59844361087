// One measurement in a fresh process: the cost of one call of a tracer's API as a request makes it, for
// one tracer ("ours", "dd-trace", or "none": no tracer, for the log line's baseline) and one OPERATION:
//   child        tracer.trace(name, fn) inside an active root span: a child span started, made active,
//                tagged once and finished (exported as usual, off the timed path)
//   propagation  extracting an upstream context from request headers (datadog + tracecontext, as dd-trace
//                sends them) and injecting the active span into an outgoing request's headers, each
//                tracer with its default styles
//   log          one pino-style info line inside an active span, correlated with it: our logger, pino with
//                dd-trace's log injection, or plain pino with no tracer (the baseline), to a no-op stream
// Every output is checked once before timing (the child has the root as parent, the extracted trace id is
// the header's, the injected headers carry the active trace, the log line carries its ids).
// Prints JSON: median ns per call over ROUNDS rounds of CALLS calls, after a warm-up round.
// Usage: node bench/micro/api.mjs WHICH OPERATION SINK_URL [--rounds N] [--calls N]
import { createRequire } from 'node:module'

const [which, operation, sinkUrl] = process.argv.slice(2)
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const ROUNDS = arg('--rounds', 11)
const CALLS = arg('--calls', 20_000)
const BATCH = 100
const nodeMajor = Number(process.versions.node.split('.')[0])
const require = createRequire(import.meta.url)

if (!['ours', 'dd-trace', 'none'].includes(which) || !['child', 'propagation', 'log'].includes(operation) || sinkUrl === undefined) {
  console.error('usage: node bench/micro/api.mjs ours|dd-trace|none child|propagation|log SINK_URL [--rounds N] [--calls N]')
  process.exit(2)
}
if (which === 'none' && operation !== 'log') throw new Error('"none" only has a log line')

function fail(message) {
  throw new Error(`${which} ${operation}: ${message}`)
}

// Both tracers behind one face: trace(name, fn), startSpan, extract, inject, ids as decimal strings.
let api
if (which === 'ours') {
  const { createTracer } = await import('@datadog-apm/core')
  const tracer = createTracer({ service: 'bench', env: 'bench', version: '1.0.0', url: sinkUrl, flushOnExit: false })
  api = {
    tracer,
    trace: (name, fn) => tracer.trace(name, fn),
    extract: (headers) => tracer.extract(headers),
    inject: (span, carrier) => tracer.inject(span, carrier),
    traceIdOf: (span) => span.traceId.toString(),
    spanIdOf: (span) => span.spanId.toString(),
    parentIdOf: (span) => span.parentId.toString(),
    contextTraceId: (context) => context?.traceId.toString()
  }
} else if (which === 'dd-trace') {
  const { default: tracer } = await import(nodeMajor >= 22 ? 'dd-trace6' : 'dd-trace')
  tracer.init({
    service: 'bench',
    env: 'bench',
    version: '1.0.0',
    url: sinkUrl,
    logInjection: operation === 'log',
    // Only the log line needs an integration (pino's); the others measure the tracer's own API.
    plugins: operation === 'log',
    startupLogs: false,
    telemetry: { enabled: false },
    remoteConfig: { enabled: false },
    runtimeMetrics: false
  })
  api = {
    tracer,
    trace: (name, fn) => tracer.trace(name, fn),
    extract: (headers) => tracer.extract('http_headers', headers),
    inject: (span, carrier) => tracer.inject(span, 'http_headers', carrier),
    traceIdOf: (span) => span.context().toTraceId(),
    spanIdOf: (span) => span.context().toSpanId(),
    parentIdOf: (span) => span.context()._parentId?.toString(10) ?? '0',
    contextTraceId: (context) => context?.toTraceId()
  }
}

/** Times `calls` calls of `body(i)` in batches of BATCH, yielding to the event loop between batches as a
 * server does between requests, so each tracer's export runs as it would; only the batches are timed. */
async function timed(calls, runBatch) {
  let ns = 0n
  for (let done = 0; done < calls; done += BATCH) {
    const start = process.hrtime.bigint()
    runBatch(BATCH)
    ns += process.hrtime.bigint() - start
    await new Promise((resolve) => setImmediate(resolve))
  }
  return Number(ns) / calls
}

let runBatch
if (operation === 'child') {
  const tag = (span) => {
    span.setTag('component', 'bench')
  }
  runBatch = (n) =>
    api.trace('bench.request', () => {
      for (let i = 0; i < n; i++) api.trace('bench.child', tag)
    })
  api.trace('bench.request', (root) => {
    api.trace('bench.child', (child) => {
      if (api.traceIdOf(child) !== api.traceIdOf(root) || api.parentIdOf(child) !== api.spanIdOf(root)) fail('the child is not the root span’s child')
    })
  })
} else if (operation === 'propagation') {
  // What dd-trace sends upstream with its default styles (datadog, tracecontext), 128-bit ids.
  const headers = {
    host: '127.0.0.1:8080',
    'user-agent': 'bench',
    accept: '*/*',
    'x-datadog-trace-id': '5208512171318403364',
    'x-datadog-parent-id': '2218236018011290112',
    'x-datadog-sampling-priority': '1',
    'x-datadog-tags': '_dd.p.dm=-0,_dd.p.tid=6924a50000000000',
    traceparent: '00-6924a5000000000048485a3953bb6124-1ec8c1e7d98a3a00-01',
    tracestate: 'dd=s:1;p:1ec8c1e7d98a3a00;t.dm:-0;t.tid:6924a50000000000'
  }
  let sink
  runBatch = (n) =>
    api.trace('bench.request', (span) => {
      for (let i = 0; i < n; i++) {
        sink = api.extract(headers)
        const carrier = {}
        api.inject(span, carrier)
        sink = carrier
      }
    })
  if (api.contextTraceId(api.extract(headers)) !== '5208512171318403364') fail('the extracted trace id is not the header’s')
  api.trace('bench.request', (span) => {
    const carrier = {}
    api.inject(span, carrier)
    if (carrier['x-datadog-trace-id'] !== api.traceIdOf(span) || typeof carrier.traceparent !== 'string') fail(`the injected headers miss the trace: ${JSON.stringify(carrier)}`)
  })
  void sink
} else {
  const pino = require('pino')
  const { createLogger } = await import('@datadog-apm/logger')
  // The logger under test, writing to `stream`: ours, or pino (with dd-trace's injection when it is loaded).
  const makeLogger = (stream) =>
    which === 'ours' ? createLogger({ name: 'bench', level: 'info', tracer: api.tracer, stream }) : pino({ name: 'bench', level: 'info' }, stream)
  const log = makeLogger({ write() {} })
  runBatch = (n) => {
    for (let i = 0; i < n; i++) log.info('request handled')
  }
  if (which !== 'none') {
    // The same logger, writing once to a capturing stream: the line must carry the active span's ids.
    let line = ''
    const capture = { write: (s) => (line += s) }
    const checkLog = makeLogger(capture)
    api.trace('bench.request', (span) => {
      checkLog.info('request handled')
      const dd = JSON.parse(line).dd
      if (dd?.span_id !== api.spanIdOf(span) || dd?.trace_id === undefined) fail(`the line does not carry the span: ${line}`)
    })
  }
}

// The log line runs inside one active span for the whole round (as a request's lines do); the others make
// their own root per batch.
const round = operation === 'log' && which !== 'none' ? () => api.trace('bench.request', () => timed(CALLS, runBatch)) : () => timed(CALLS, runBatch)
await round()
const samples = []
for (let r = 0; r < ROUNDS; r++) samples.push(await round())
samples.sort((a, b) => a - b)
process.stdout.write(`${JSON.stringify({ which, operation, node: process.version, nsPerCall: samples[samples.length >> 1] })}\n`)
process.exit(0)
