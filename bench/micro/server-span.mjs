// ns per request of the request-span work alone: HttpServerTracing.start, the span made active with
// withSpan, finish with status, URL, route and user agent, and the hand-off of the finished chunk. The
// exporter is replaced by one that drops chunks, so encoding and I/O are not counted here.
import { HttpServerTracing, createTracer } from '@datadog-apm/core'

const N = Number(process.argv[2] ?? 200_000)
const dropAll = { export() {}, flush: () => Promise.resolve(), shutdown: () => Promise.resolve() }
const tracer = createTracer({ service: 'bench', exporter: dropAll, flushOnExit: false })
const tracing = new HttpServerTracing('fastify', { tracer })
const req = { method: 'GET', url: '/users/42?x=1', headers: { host: 'localhost:3000', 'user-agent': 'wrk' }, socket: {} }
const res = { statusCode: 200, getHeader: () => undefined }
function handler() {
  return tracer.activeSpan()
}

function round(n) {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) {
    const span = tracing.start(req)
    tracer.withSpan(span, handler)
    tracing.finish(span, req, res, req.url, '/users/:id', undefined)
  }
  return Number(process.hrtime.bigint() - t0) / n
}
round(N)
const samples = []
for (let i = 0; i < 7; i++) samples.push(round(N))
samples.sort((a, b) => a - b)
process.stdout.write(JSON.stringify({ node: process.version, nsPerRequest: samples[3] }) + '\n')
