// One benchmark server: FRAMEWORK (express|fastify) traced by VARIANT (untraced|ours|dd-trace|otel|disabled|
// als-only: one AsyncLocalStorage.run per request and nothing else, the floor any context-keeping tracer pays),
// serving GET /users/:id with a small JSON body, and GET /spans/:n, which opens n child spans of the request
// (one tag each) before answering, and exporting to the sink at SINK_URL. CommonJS, because
// dd-trace and OpenTelemetry instrument by hooking require(), and must be loaded before the framework.
// SIGUSR2 marks the start of the measured window; SIGTERM prints the CPU used since then and exits.
'use strict'
const [framework, variant, sinkUrl] = process.argv.slice(2)
const nodeMajor = Number(process.versions.node.split('.')[0])

if (variant === 'dd-trace') {
  require(nodeMajor >= 22 ? 'dd-trace6' : 'dd-trace').init({
    service: 'bench', env: 'bench', url: sinkUrl, startupLogs: false, telemetry: { enabled: false }, remoteConfig: { enabled: false }, runtimeMetrics: false
  })
} else if (variant === 'otel') {
  require('./otel.cjs').start(framework, sinkUrl)
}

// The event loop's delay over the measured window (10 ms resolution, as dd-trace's runtime metrics read it).
const loopDelay = require('node:perf_hooks').monitorEventLoopDelay({ resolution: 10 })
loopDelay.enable()
// Where the memory is: the JS heap, or buffers outside it (payloads, sockets).
function memory() {
  const m = process.memoryUsage()
  const mb = (n) => Math.round((n / 1048576) * 10) / 10
  const spaces = Object.fromEntries(require('node:v8').getHeapSpaceStatistics().map((s) => [s.space_name, mb(s.space_size)]))
  return { rssMb: mb(m.rss), heapTotalMb: mb(m.heapTotal), heapUsedMb: mb(m.heapUsed), newSpaceMb: spaces.new_space, oldSpaceMb: spaces.old_space, externalMb: mb(m.external), arrayBuffersMb: mb(m.arrayBuffers) }
}
let mark = process.cpuUsage()
process.on('SIGUSR2', () => {
  mark = process.cpuUsage()
  loopDelay.reset()
})
process.on('SIGTERM', () => {
  const cpu = process.cpuUsage(mark)
  const loop = { loopDelayP99Ms: loopDelay.percentile(99) / 1e6, loopDelayMaxMs: loopDelay.max / 1e6 }
  process.stdout.write(JSON.stringify({ cpuSeconds: (cpu.user + cpu.system) / 1e6, userSeconds: cpu.user / 1e6, systemSeconds: cpu.system / 1e6, maxRssMb: process.resourceUsage().maxRSS / 1024, ...memory(), ...loop }) + '\n')
  process.exit(0)
})

function user(id) {
  return { id, name: 'Ada Lovelace', email: 'ada@example.com', plan: 'pro' }
}

// n child spans of the active span, the way an app or a database integration makes them: start, one tag,
// finish. Untraced, the loop runs with nothing inside, so the difference is the spans' cost alone.
let childSpans = (n) => {
  for (let i = 0; i < n; i++);
}
if (variant === 'dd-trace') {
  const dd = require(nodeMajor >= 22 ? 'dd-trace6' : 'dd-trace')
  childSpans = (n) => {
    const parent = dd.scope().active() ?? undefined
    for (let i = 0; i < n; i++) {
      const span = dd.startSpan('bench.child', { childOf: parent })
      span.setTag('component', 'bench')
      span.finish()
    }
  }
} else if (variant === 'otel') {
  const api = require('@opentelemetry/api')
  const otelTracer = api.trace.getTracer('bench')
  childSpans = (n) => {
    for (let i = 0; i < n; i++) {
      const span = otelTracer.startSpan('bench.child')
      span.setAttribute('component', 'bench')
      span.end()
    }
  }
}

function ready(port) {
  process.stdout.write(`ready ${port}\n`)
}

const ours = variant === 'ours' || variant === 'disabled' || variant === 'ours-noexport'
const als = variant === 'als-only' ? new (require('node:async_hooks').AsyncLocalStorage)() : undefined
const store = { request: true }
// ours-noexport: spans made and handed over as usual, then dropped: the request path without encoding and I/O.
const dropAll = { export() {}, flush: () => Promise.resolve(), shutdown: () => Promise.resolve() }
const tracer = ours
  ? require('@datadog-apm/core').createTracer({ service: 'bench', env: 'bench', url: sinkUrl, enabled: variant !== 'disabled', exporter: variant === 'ours-noexport' ? dropAll : undefined })
  : undefined
if (tracer !== undefined) {
  childSpans = (n) => {
    for (let i = 0; i < n; i++) {
      const span = tracer.startSpan('bench.child')
      span.setTag('component', 'bench')
      span.finish()
    }
  }
}
const spansAnswer = { ok: true }

if (framework === 'express') {
  const express = require('express')
  const app = express()
  if (ours) app.use(require('@datadog-apm/express').datadog({ tracer }))
  if (als) app.use((req, res, next) => als.run(store, next))
  app.get('/users/:id', (req, res) => {
    res.json(user(req.params.id))
  })
  app.get('/spans/:n', (req, res) => {
    childSpans(Number(req.params.n))
    res.json(spansAnswer)
  })
  const server = app.listen(0, '127.0.0.1', () => ready(server.address().port))
} else {
  const app = require('fastify')({ logger: false })
  const start = async () => {
    if (variant === 'otel') await app.register(require('./otel.cjs').fastifyPlugin())
    if (ours) await app.register(require('@datadog-apm/fastify').datadogPlugin, { tracer })
    if (als) app.addHook('onRequest', (request, reply, done) => als.run(store, done))
    app.get('/users/:id', async (request) => user(request.params.id))
    app.get('/spans/:n', async (request) => {
      childSpans(Number(request.params.n))
      return spansAnswer
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    ready(app.server.address().port)
  }
  start().catch((err) => {
    console.error(err)
    process.exit(1)
  })
}
