// v0.4 against v0.5 on realistic traces: bytes per span and encode CPU per span, measured in a fresh
// process per protocol (the driver below interleaves them), with the same harness pattern as
// span-export.mjs. Usage: node bench/micro/encode-protocols.mjs [reps]   (after `pnpm run build`)
// A child run: node bench/micro/encode-protocols.mjs --one 0.4|0.5|msgpack
// `msgpack` is @msgpack/msgpack (reused Encoder, BigInt ids) encoding the same v0.4 layout from plain
// objects built beforehand (not timed): the general-purpose encoder the design started from.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const dist = new URL('../../packages/core/dist/', import.meta.url)

async function one(protocol) {
  const { createTracer } = await import(new URL('index.js', dist).href)
  const { InMemoryExporter } = await import(new URL('testing.js', dist).href)
  const { V04Encoder } = await import(new URL('exporter/encode-v04.js', dist).href)
  const { V05Encoder } = await import(new URL('exporter/encode-v05.js', dist).href)
  const memory = new InMemoryExporter()
  const tracer = createTracer({ service: 'checkout', env: 'prod', version: '2.3.1', exporter: memory, flushOnExit: false })
  // A web request as the framework packages make it: a server root, a query, an outbound call, two
  // spans of user code; ids, routes and queries vary like they do in an app.
  const routes = ['/users/:id', '/orders/:orderId/items', '/health', '/cart', '/search']
  for (let i = 0; i < 2000; i++) {
    const route = routes[i % routes.length]
    const root = tracer.startSpan('express.request', { resource: `GET ${route}`, type: 'web' })
    root.setTags({ 'http.method': 'GET', 'http.route': route, 'http.url': `http://checkout.internal:8080${route.replace(':id', String(i))}?page=${i % 7}`, component: 'express', 'span.kind': 'server', 'http.status_code': '200', 'http.useragent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36' })
    const db = tracer.startSpan('pg.query', { childOf: root, service: 'checkout-postgres', type: 'sql', resource: process.env.BENCH_SQL === 'literal' ? `SELECT id, name, email FROM users WHERE id = ${i} AND tenant = 'acme'` : 'SELECT id, name, email FROM users WHERE id = $1 AND tenant = $2' })
    db.setTags({ 'db.system': 'postgresql', 'db.name': 'checkout', 'out.host': 'db.internal', 'network.destination.port': 5432 })
    db.finish()
    const http = tracer.startSpan('http.request', { childOf: root, type: 'http', resource: 'POST' })
    http.setTags({ 'http.method': 'POST', 'http.url': 'http://payments.internal/charge', 'http.status_code': '201', 'span.kind': 'client', component: 'fetch', 'out.host': 'payments.internal' })
    http.finish()
    for (const name of ['cart.price', 'cart.render']) tracer.startSpan(name, { childOf: root, tags: { 'cart.items': i % 9, 'cart.currency': 'EUR' } }).finish()
    root.finish()
  }
  const chunks = memory.chunks()
  const spans = chunks.reduce((n, c) => n + c.length, 0)
  const decorations = { service: 'checkout', globalMeta: { language: 'javascript', 'runtime-id': '8f8d4b0e-3d0c-4f6e-9a43-6a0c3b1e2f10', env: 'prod', version: '2.3.1' }, processId: 4242 }
  let bytes = 0
  let run
  if (protocol === 'msgpack') {
    const { Encoder } = await import('@msgpack/msgpack')
    const packer = new Encoder({ useBigInt64: true })
    const origin = BigInt(Math.round(performance.timeOrigin * 1e3)) * 1000n
    const payload = chunks.map((chunk) =>
      chunk.map((span) => ({
        trace_id: span.trace.traceId,
        span_id: span.spanId,
        parent_id: span.parentId,
        name: span.name,
        resource: span.resource,
        service: span.service,
        type: span.type,
        start: origin + BigInt(Math.round(span.start * 1e6)),
        duration: BigInt(Math.round(span.duration * 1e6)),
        error: span.error,
        meta: { ...span.meta, ...decorations.globalMeta },
        metrics: { ...span.metrics, _sampling_priority_v1: 1 }
      }))
    )
    run = () => {
      bytes = packer.encode(payload).length
    }
  } else {
    const encoder = protocol === '0.5' ? new V05Encoder(decorations, 8 << 20) : new V04Encoder(decorations, 8 << 20)
    run = () => {
      encoder.begin()
      for (const chunk of chunks) if (!encoder.append(chunk)) throw new Error('payload full')
      bytes = encoder.finish().length
    }
  }
  for (let i = 0; i < 30; i++) run()
  const samples = []
  for (let s = 0; s < 7; s++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < 10; i++) run()
    samples.push(Number(process.hrtime.bigint() - t0) / (10 * spans))
  }
  samples.sort((a, b) => a - b)
  process.stdout.write(`${JSON.stringify({ protocol, node: process.version, spans, bytesPerSpan: bytes / spans, nsPerSpan: samples[3] })}\n`)
}

if (process.argv[2] === '--one') {
  await one(process.argv[3])
} else {
  const reps = Number(process.argv[2] ?? 5)
  const pin = spawnSync('taskset', ['--version']).status === 0
  const protocols = ['0.4', '0.5', 'msgpack']
  const results = { '0.4': [], '0.5': [], msgpack: [] }
  for (let r = 0; r < reps; r++) {
    for (const protocol of protocols.map((_, i) => protocols[(i + r) % protocols.length])) {
      const args = [`${here}encode-protocols.mjs`, '--one', protocol]
      const out = pin ? spawnSync('taskset', ['-c', '0', process.execPath, ...args], { encoding: 'utf8' }) : spawnSync(process.execPath, args, { encoding: 'utf8' })
      if (out.status !== 0) throw new Error(out.stderr)
      results[protocol].push(JSON.parse(out.stdout.trim().split('\n').at(-1)))
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
  console.log(`| Node | protocol | bytes/span | encode ns/span | vs v0.4 (ns) |`)
  console.log(`|---|---|---:|---:|---:|`)
  const base = median(results['0.4'].map((x) => x.nsPerSpan))
  for (const protocol of protocols) {
    const ns = median(results[protocol].map((x) => x.nsPerSpan))
    console.log(`| ${results[protocol][0].node} | ${protocol === 'msgpack' ? '@msgpack/msgpack (v0.4 layout)' : `v${protocol}`} | ${results[protocol][0].bytesPerSpan.toFixed(1)} | ${ns.toFixed(0)} | ${(ns / base).toFixed(2)} |`)
  }
}
