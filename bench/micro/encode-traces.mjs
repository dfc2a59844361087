// Encoding 1,000 traces × 10 spans: our v0.4 and v0.5 encoders beside dd-trace's own AgentEncoder (0.4 and
// 0.5; dd-trace 5 on Node 20, 6 on Node 22+) and @msgpack/msgpack (v0.4 layout), on the same spans. Each
// encoder's input is built beforehand and not timed: our spans as the tracer makes them, dd-trace's
// formatted spans (Identifier ids, ns times, global tags merged into meta) as its exporter hands them to
// its encoder, plain objects for @msgpack/msgpack. Every output is decoded and checked against the spans
// (1,000 traces, 10,000 spans, names, resources, services, ids) before it is timed.
// Child: node bench/micro/encode-traces.mjs ours-0.4|ours-0.5|dd-trace-0.4|dd-trace-0.5|dd-trace-0.4+format|dd-trace-0.5+format|msgpack   (after `pnpm run build`)
// Driven by bench/run.mjs, which runs each in a fresh process pinned to CPU 0, interleaved.
import { createRequire } from 'node:module'
import { decode, Encoder } from '@msgpack/msgpack'

const which = process.argv[2]
const TRACES = 1000
const SPANS = 10
const dist = new URL('../../packages/core/dist/', import.meta.url)
const { createTracer } = await import(new URL('index.js', dist).href)
const { InMemoryExporter } = await import(new URL('testing.js', dist).href)
const { V04Encoder } = await import(new URL('wire/encode-v04.js', dist).href)
const { V05Encoder } = await import(new URL('wire/encode-v05.js', dist).href)
const { BufferPool } = await import(new URL('wire/buffer-pool.js', dist).href)

// A web request of 10 spans as the framework packages and an app make it: the server span, two queries,
// an outbound call, six spans of user code; ids, URLs and queries vary as they do in an app.
const memory = new InMemoryExporter()
const tracer = createTracer({ service: 'checkout', env: 'prod', version: '2.3.1', exporter: memory, flushOnExit: false })
const routes = ['/users/:id', '/orders/:orderId/items', '/health', '/cart', '/search']
for (let i = 0; i < TRACES; i++) {
  const route = routes[i % routes.length]
  const root = tracer.startSpan('express.request', { resource: `GET ${route}`, type: 'web' })
  root.setTags({ 'http.method': 'GET', 'http.route': route, 'http.url': `http://checkout.internal:8080${route.replace(':id', String(i))}?page=${i % 7}`, component: 'express', 'span.kind': 'server', 'http.status_code': '200', 'http.useragent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36' })
  for (const table of ['users', 'orders']) {
    const db = tracer.startSpan('pg.query', { childOf: root, service: 'checkout-postgres', type: 'sql', resource: `SELECT id, name FROM ${table} WHERE id = $1` })
    db.setTags({ 'db.system': 'postgresql', 'db.name': 'checkout', 'out.host': 'db.internal', 'network.destination.port': 5432, 'span.kind': 'client' })
    db.finish()
  }
  const http = tracer.startSpan('http.request', { childOf: root, type: 'http', resource: 'POST' })
  http.setTags({ 'http.method': 'POST', 'http.url': 'http://payments.internal/charge', 'http.status_code': '201', 'span.kind': 'client', component: 'fetch', 'out.host': 'payments.internal' })
  http.finish()
  for (let u = 0; u < 6; u++) tracer.startSpan(`cart.step${u}`, { childOf: root, tags: { 'cart.items': i % 9, 'cart.currency': 'EUR' } }).finish()
  root.finish()
}
const chunks = memory.chunks()
const spanCount = chunks.reduce((n, c) => n + c.length, 0)
if (chunks.length !== TRACES || spanCount !== TRACES * SPANS) throw new Error(`built ${chunks.length} traces, ${spanCount} spans`)
const globalMeta = { language: 'javascript', 'runtime-id': '8f8d4b0e-3d0c-4f6e-9a43-6a0c3b1e2f10', env: 'prod', version: '2.3.1' }
const decorations = { service: 'checkout', globalMeta, processId: 4242 }
const origin = BigInt(Math.round(performance.timeOrigin * 1e3)) * 1000n
const nanos = (ms) => Number(origin + BigInt(Math.round(ms * 1e6)))
const priority = (span) => (span.trace.localRoot === span ? { _sampling_priority_v1: 1, '_dd.top_level': 1, process_id: 4242 } : {})

let encode // () => Buffer
if (which === 'ours-0.4' || which === 'ours-0.5') {
  // As the exporter uses them: payloads are written into pooled buffers, and a payload's buffer goes
  // back to the pool once the agent has answered (here: when the next payload starts; timed).
  const pool = new BufferPool()
  const encoder = which === 'ours-0.5' ? new V05Encoder(decorations, 64 << 20, pool) : new V04Encoder(decorations, 64 << 20, pool)
  let sent
  encode = () => {
    if (sent !== undefined) pool.release(sent)
    encoder.begin()
    for (let i = 0; i < chunks.length; i++) if (!encoder.append(chunks[i])) throw new Error('payload full')
    sent = encoder.finish()
    return sent
  }
} else if (which === 'dd-trace-0.4' || which === 'dd-trace-0.5') {
  const require = createRequire(import.meta.url)
  const base = `${Number(process.versions.node.split('.')[0]) >= 22 ? 'dd-trace6' : 'dd-trace'}/packages/dd-trace/src`
  const { AgentEncoder } = require(`${base}/encode/${which.slice(-3)}.js`)
  const id = require(`${base}/id.js`)
  const encoder = new AgentEncoder({ flush() {} }, 64 << 20)
  const traces = chunks.map((chunk) =>
    chunk.map((span) => ({
      trace_id: id(span.trace.traceId.toString(), 10),
      span_id: id(span.spanId.toString(), 10),
      parent_id: id(span.parentId.toString(), 10),
      name: span.name,
      resource: span.resource,
      service: span.service,
      type: span.type,
      error: span.error,
      meta: { ...span.meta, ...globalMeta },
      metrics: { ...span.metrics, ...priority(span) },
      start: nanos(span.start),
      duration: Math.round(span.duration * 1e6)
    }))
  )
  // dd-trace's formatter hands the encoder fresh span objects every time; its normalization writes
  // into them, so each timed run gets its own shallow copies (made before the clock starts).
  let pool = []
  const prepare = () => {
    pool = traces.map((trace) => trace.map((span) => ({ ...span, meta: { ...span.meta }, metrics: { ...span.metrics } })))
  }
  encode = () => {
    for (let i = 0; i < pool.length; i++) encoder.encode(pool[i])
    return encoder.makePayload()
  }
  encode.prepare = prepare
} else if (which === 'dd-trace-0.4+format' || which === 'dd-trace-0.5+format') {
  // dd-trace's whole path from finished spans to bytes, which is what our encoders do in one walk: its
  // span processor formats each span of a finished trace (span_format.js: ids, times, tags split into
  // meta and metrics, root and chunk tags) and hands the formatted trace to the same AgentEncoder.
  // The spans are made by dd-trace's own tracer with the tags above; its processor is kept from
  // formatting and erasing them, so each timed run formats them anew.
  const require = createRequire(import.meta.url)
  const pkg = Number(process.versions.node.split('.')[0]) >= 22 ? 'dd-trace6' : 'dd-trace'
  const base = `${pkg}/packages/dd-trace/src`
  const ddtrace = require(pkg)
  ddtrace.init({ service: 'checkout', env: 'prod', version: '2.3.1', url: 'http://127.0.0.1:9', flushInterval: 3_600_000, plugins: false, startupLogs: false, telemetry: { enabled: false }, remoteConfig: { enabled: false } })
  const processor = ddtrace._tracer?._processor
  if (typeof processor?.process !== 'function') throw new Error('dd-trace span processor not reachable')
  processor.process = () => {}
  const format = require(`${base}/span_format.js`)
  const { AgentEncoder } = require(`${base}/encode/${which.slice(9, 12)}.js`)
  const encoder = new AgentEncoder({ flush() {} }, 64 << 20)
  const byOurs = new Map()
  const traces = chunks.map((chunk) => {
    // Started in the order our tracer started them: the root first, children under it.
    const ordered = [chunk[chunk.length - 1], ...chunk.slice(0, -1)]
    const made = []
    for (const span of ordered) {
      const parent = byOurs.get(span.parentId)
      const dd = ddtrace.startSpan(span.name, {
        childOf: parent,
        startTime: performance.timeOrigin + span.start,
        tags: { ...span.meta, ...Object.fromEntries(Object.entries(span.metrics).filter(([k]) => !k.startsWith('_'))), 'service.name': span.service, 'resource.name': span.resource, 'span.type': span.type }
      })
      // The check below looks spans up by our ids: dd-trace's spans take them over.
      dd.context()._traceId = id(span.trace.traceId.toString(), 10)
      dd.context()._spanId = id(span.spanId.toString(), 10)
      if (parent !== undefined) dd.context()._parentId = parent.context()._spanId
      byOurs.set(span.spanId, dd)
      made.push(dd)
    }
    for (const dd of made.slice(1)) dd.finish(made[0]._startTime + 1)
    made[0].finish(made[0]._startTime + 2)
    return made
  })
  function id(text, radix) {
    return require(`${base}/id.js`)(text, radix)
  }
  encode = () => {
    for (let t = 0; t < traces.length; t++) {
      const trace = traces[t]
      const formatted = []
      for (let i = 0; i < trace.length; i++) formatted.push(format(trace[i], i === 0, false))
      encoder.encode(formatted)
    }
    return encoder.makePayload()
  }
} else if (which === 'msgpack') {
  const packer = new Encoder({ useBigInt64: true })
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
      meta: { ...span.meta, ...globalMeta },
      metrics: { ...span.metrics, ...priority(span) }
    }))
  )
  encode = () => packer.encode(payload)
} else {
  throw new Error(`unknown encoder ${which}`)
}

/** The decoded payload as v0.4-shaped spans, whatever the format. */
function spansOf(bytes) {
  const decoded = decode(bytes, { useBigInt64: true })
  if (!which.includes('0.5')) return decoded
  const [strings, traces] = decoded
  const s = (i) => strings[Number(i)]
  return traces.map((trace) => trace.map((span) => ({ service: s(span[0]), name: s(span[1]), resource: s(span[2]), trace_id: span[3], span_id: span[4], parent_id: span[5], meta: Object.fromEntries(Object.entries(span[9]).map(([k, v]) => [s(k), s(v)])) })))
}

function check(bytes) {
  const traces = spansOf(bytes)
  if (traces.length !== TRACES) throw new Error(`${which}: ${traces.length} traces decoded`)
  const byId = new Map(chunks.flat().map((span) => [span.spanId, span]))
  let seen = 0
  for (const trace of traces) {
    for (const span of trace) {
      const original = byId.get(BigInt(span.span_id))
      if (original === undefined) throw new Error(`${which}: unknown span id ${span.span_id}`)
      if (BigInt(span.trace_id) !== original.trace.traceId || BigInt(span.parent_id) !== original.parentId) throw new Error(`${which}: ids differ for ${original.name}`)
      // Every resource goes as it is, SQL included: the agent obfuscates SQL itself.
      if (span.name !== original.name || span.resource !== original.resource || span.service !== original.service) throw new Error(`${which}: fields differ for ${original.name}: ${span.resource}`)
      if (span.meta.env !== 'prod' || (span.meta['http.url'] ?? '') !== (original.meta['http.url'] ?? '')) throw new Error(`${which}: meta differs for ${original.name}`)
      seen++
    }
  }
  if (seen !== TRACES * SPANS) throw new Error(`${which}: ${seen} spans decoded`)
}

encode.prepare?.()
const first = encode()
check(first)
const bytes = first.length
for (let i = 0; i < 20; i++) {
  encode.prepare?.()
  encode()
}
const samples = []
for (let s = 0; s < Number(process.env.ENCODE_RUNS ?? 9); s++) {
  encode.prepare?.()
  const t0 = process.hrtime.bigint()
  encode()
  samples.push(Number(process.hrtime.bigint() - t0) / spanCount)
}
samples.sort((a, b) => a - b)
process.stdout.write(`${JSON.stringify({ which, node: process.version, spans: spanCount, bytesPerSpan: bytes / spanCount, nsPerSpan: samples[4] })}\n`)
