import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { TracerOptions } from '../src/tracer/options.js'
import { startAgent } from '@datadog-apm/agent'
import { InMemoryExporter } from '../src/testing.js'
import { TRACER_VERSION } from '../src/base/version.js'
import { createTracer, type Tracer } from '../src/tracer/tracer.js'
import { deadPort, proxyServer, udpReceiver, waitUntil } from './support/dogstatsd-servers.js'

function tracerFor(t: TestContext, options: TracerOptions): { tracer: Tracer; exporter: InMemoryExporter; log: string[] } {
  const exporter = new InMemoryExporter()
  const log: string[] = []
  const tracer = createTracer({
    service: 'svc',
    env: 'test',
    version: '1.2.3',
    tags: { team: 'core' },
    exporter,
    flushOnExit: false,
    diagnostics: { write: (line) => void log.push(line) },
    ...options
  })
  t.after(() => tracer.shutdown())
  return { tracer, exporter, log }
}

interface Line {
  name: string
  value: number
  type: string
  tags: string[]
}

function parse(line: string): Line {
  const match = /^([^:]+):([^|]+)\|([a-z])(?:\|#([^|]*))?$/.exec(line)
  assert.ok(match !== null, `not a DogStatsD line: ${line}`)
  return { name: match[1], value: Number(match[2]), type: match[3], tags: match[4] === undefined ? [] : match[4].split(',') }
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

const GAUGES = [
  'runtime.node.cpu.user',
  'runtime.node.cpu.system',
  'runtime.node.cpu.total',
  'runtime.node.mem.heap_total',
  'runtime.node.mem.heap_used',
  'runtime.node.mem.rss',
  'runtime.node.mem.external',
  'runtime.node.mem.total',
  'runtime.node.mem.free',
  'runtime.node.process.uptime',
  'runtime.node.heap.total_heap_size',
  'runtime.node.heap.total_heap_size_executable',
  'runtime.node.heap.total_physical_size',
  'runtime.node.heap.total_available_size',
  'runtime.node.heap.heap_size_limit',
  'runtime.node.heap.malloced_memory',
  'runtime.node.heap.peak_malloced_memory',
  'runtime.node.event_loop.utilization'
]
const BY_SPACE = ['runtime.node.heap.size.by.space', 'runtime.node.heap.used_size.by.space', 'runtime.node.heap.available_size.by.space', 'runtime.node.heap.physical_size.by.space']
const HIST_GAUGES = ['min', 'max', 'avg', '95percentile']
const HIST_COUNTS = ['sum', 'total', 'count']

/** Garbage enough for several scavenges, and a loop held for 30 ms so the delay monitor sees a delay. */
function exerciseRuntime(): void {
  let keep: unknown[] = []
  for (let i = 0; i < 300_000; i++) {
    keep.push({ i, s: `x${i}` })
    if (keep.length > 1000) keep = []
  }
  const until = performance.now() + 30
  while (performance.now() < until) {
    // Busy: the loop is blocked.
  }
}

test("runtime metrics: dd-trace's names, types and tags, over the agent's DogStatsD proxy", async (t) => {
  const proxy = await proxyServer(t)
  tracerFor(t, { url: proxy.url.href, runtimeMetrics: { enabled: true, flushIntervalMs: 50 } })
  // Blocked once the delay monitor's timer runs.
  await new Promise((resolve) => setTimeout(resolve, 10))
  exerciseRuntime()
  const seen = (): Line[] => proxy.lines().map(parse)
  const has = (name: string): boolean => seen().some((l) => l.name === name)
  const histogramNames = ['runtime.node.event_loop.delay', 'runtime.node.gc.pause', 'runtime.node.gc.pause.by.type'].flatMap((base) => [...HIST_GAUGES, ...HIST_COUNTS].map((s) => `${base}.${s}`))
  const expected = [...GAUGES, ...BY_SPACE, ...histogramNames, 'datadog.dogstatsd.client.metrics']
  // One flush may span several requests, and GC entries reach the observer a turn after the GC: wait
  // for every name, and for what the exercise above must show (a scavenge, the blocked loop).
  const exercised = (): boolean =>
    seen().some((l) => l.name === 'runtime.node.gc.pause.by.type.count' && l.tags.includes('gc_type:scavenge')) &&
    seen().some((l) => l.name === 'runtime.node.event_loop.delay.max' && l.value >= 1e6)
  // The client's telemetry counts what the flush before it sent: histograms show there from the second flush on.
  const telemetryOfHistograms = (): boolean => seen().some((l) => l.name === 'datadog.dogstatsd.client.metrics_by_type' && l.tags.includes('metrics_type:histogram'))
  await waitUntil(() => expected.every(has) && exercised() && telemetryOfHistograms(), 'every runtime metric, a scavenge, the blocked loop and the telemetry of histograms', 8000)
  const lines = seen()
  const typeOf = (name: string): string | undefined => lines.find((l) => l.name === name)?.type
  for (const name of GAUGES) assert.equal(typeOf(name), 'g', name)
  for (const name of BY_SPACE) {
    const spaces = lines.filter((l) => l.name === name).map((l) => l.tags.find((tag) => tag.startsWith('heap_space:')))
    assert.ok(spaces.includes('heap_space:new_space') && spaces.includes('heap_space:old_space'), `${name}: ${spaces.join(' ')}`)
    assert.equal(typeOf(name), 'g')
  }
  for (const base of ['runtime.node.event_loop.delay', 'runtime.node.gc.pause', 'runtime.node.gc.pause.by.type']) {
    for (const suffix of HIST_GAUGES) assert.equal(typeOf(`${base}.${suffix}`), 'g', `${base}.${suffix}`)
    for (const suffix of HIST_COUNTS) assert.equal(typeOf(`${base}.${suffix}`), 'c', `${base}.${suffix}`)
  }
  assert.equal(typeOf('runtime.node.gc.pause.median'), 'g', 'the aggregated GC histogram has a median')
  assert.equal(typeOf('runtime.node.event_loop.delay.median'), undefined, 'the event loop histogram has none, as in the JS path of dd-trace')
  assert.ok(lines.filter((l) => l.name === 'runtime.node.gc.pause.by.type.count').every((l) => l.tags.some((tag) => /^gc_type:(scavenge|minor_mark_sweep|minor_mark_compact|mark_sweep_compact|incremental_marking|process_weak_callbacks|all|unknown)$/.test(tag))))
  assert.ok(lines.some((l) => l.name === 'runtime.node.gc.pause.by.type.count' && l.tags.includes('gc_type:scavenge')))
  const delayMax = lines.filter((l) => l.name === 'runtime.node.event_loop.delay.max').map((l) => l.value)
  assert.ok(Math.max(...delayMax) >= 1e6, `a 30 ms block shows as a delay of more than 1 ms, in ns: ${delayMax.join(',')}`)
  assert.ok(lines.filter((l) => l.name === 'runtime.node.mem.rss').every((l) => l.value > 1e6))
  const utilization = lines.filter((l) => l.name === 'runtime.node.event_loop.utilization').map((l) => l.value)
  assert.ok(utilization.every((u) => u >= 0 && u <= 1), utilization.join(','))
  assert.ok(!lines.some((l) => l.type === 'h' || l.type === 'd'), 'runtime histograms go out as gauges and counts')
  // Every runtime line carries the global tags with the runtime id, then dd-trace's process tags.
  for (const line of lines.filter((l) => l.name.startsWith('runtime.'))) {
    assert.deepEqual(line.tags.slice(0, 4), ['team:core', 'service:svc', 'env:test', 'version:1.2.3'], line.name)
    assert.match(line.tags[4], new RegExp(`^runtime-id:${UUID}$`))
    assert.ok(line.tags.includes('entrypoint.type:script') && line.tags.includes('svc.user:true'), line.tags.join(','))
  }
  // The client's telemetry, as dd-trace sends it with runtime metrics on.
  const telemetry = lines.find((l) => l.name === 'datadog.dogstatsd.client.metrics')
  assert.equal(telemetry?.type, 'c')
  assert.ok(telemetry.tags.includes('client:nodejs') && telemetry.tags.includes('client_transport:http') && telemetry.tags.includes(`client_version:${TRACER_VERSION}`))
  assert.ok(lines.some((l) => l.name === 'datadog.dogstatsd.client.metrics_by_type' && l.tags.includes('metrics_type:histogram')))
  assert.ok(proxy.requests.every((r) => r.method === 'POST' && r.path === '/dogstatsd/v2/proxy'))
})

test('tracer.dogstatsd: aggregated between flushes, the global tags then its own, no process tags', async (t) => {
  const proxy = await proxyServer(t)
  const { tracer } = tracerFor(t, { url: proxy.url.href })
  const d = tracer.dogstatsd
  d.increment('page.views', 1, { route: '/a' })
  d.increment('page.views', 2, { route: '/a' })
  d.increment('page.views', undefined, ['route:/b'])
  d.increment('page.clicks', { route: '/a' } as unknown as number)
  d.decrement('queue.size', 4)
  d.gauge('temperature', 20)
  d.gauge('temperature', 21.5)
  d.histogram('latency', 10)
  d.histogram('latency', 30)
  d.distribution('size', 100)
  d.distribution('size', 200)
  await d.flush()
  const lines = proxy.lines()
  const runtimeId = new RegExp(`runtime-id:(${UUID})`).exec(lines[0])?.[1]
  const global = `team:core,service:svc,env:test,version:1.2.3,runtime-id:${runtimeId}`
  for (const expected of [
    `page.views:3|c|#${global},route:/a`,
    `page.views:1|c|#${global},route:/b`,
    `page.clicks:1|c|#${global},route:/a`,
    `queue.size:-4|c|#${global}`,
    `temperature:21.5|g|#${global}`,
    `latency.min:10|g|#${global}`,
    `latency.max:30|g|#${global}`,
    `latency.sum:40|c|#${global}`,
    `latency.total:40|c|#${global}`,
    `latency.avg:20|g|#${global}`,
    `latency.count:2|c|#${global}`,
    `size:100|d|#${global}`,
    `size:200|d|#${global}`
  ]) {
    assert.ok(lines.includes(expected), `${expected} in\n${lines.join('\n')}`)
  }
  assert.ok(lines.some((l) => l.startsWith('latency.median:')) && lines.some((l) => l.startsWith('latency.95percentile:')))
  assert.equal(lines.length, 15, 'nothing else: no runtime metrics, no telemetry when runtime metrics are off')
  assert.ok(!lines.some((l) => l.includes('entrypoint.')))
  await d.flush()
  assert.equal(proxy.lines().length, 15, 'an empty flush sends nothing')
})

test('the local intake: runtime metrics arrive on its proxy, tagged with the runtime-id of the spans', async (t) => {
  const agent = await startAgent({ dogstatsdPort: false })
  t.after(() => agent.close())
  const { tracer, log } = tracerFor(t, { url: agent.url, exporter: undefined, runtimeMetrics: { enabled: true, flushIntervalMs: 20 } })
  tracer.trace('op', () => {})
  tracer.dogstatsd.increment('orders', 2)
  await tracer.flush()
  const [span] = (await agent.waitForTraces(1))[0].spans
  const runtimeId = span.meta['runtime-id']
  const rss = await agent.waitForMetric('runtime.node.mem.rss')
  assert.deepEqual([rss.service, rss.runtimeId, rss.type], ['svc', runtimeId, 'gauge'])
  const orders = await agent.waitForMetric('orders')
  assert.deepEqual([orders.runtimeId, orders.points.map((p) => p[1])], [runtimeId, [2]])
  assert.deepEqual(agent.metricProcesses().map((p) => [p.service, p.runtimeId, p.runtime]), [['svc', runtimeId, true]])
  assert.deepEqual(log, [])
})

test("metrics go through the exporter's agent client: the proxy POST reuses the connection the traces went on", async (t) => {
  const proxy = await proxyServer(t)
  const { tracer } = tracerFor(t, { url: proxy.url.href, exporter: undefined, agentDiscovery: false })
  tracer.trace('op', () => {})
  await tracer.flush()
  const traces = proxy.requests.filter((r) => r.path === '/v0.4/traces')
  assert.equal(traces.length, 1)
  tracer.dogstatsd.increment('orders')
  await tracer.dogstatsd.flush()
  const posts = proxy.requests.filter((r) => r.path === '/dogstatsd/v2/proxy')
  assert.equal(posts.length, 1)
  assert.equal(posts[0].remotePort, traces[0].remotePort, 'a second client would have opened a connection of its own')
})

test('the runtime-id tag of metrics is the runtime-id of the spans; an agent without the proxy (404) sends metrics to UDP', async (t) => {
  const agent = await startAgent({ info: { endpoints: ['/v0.4/traces', '/info'] } })
  t.after(() => agent.close())
  const udp = await udpReceiver(t)
  const { tracer, log } = tracerFor(t, { url: agent.url, exporter: undefined, dogstatsd: { port: udp.port } })
  tracer.trace('op', () => {})
  tracer.dogstatsd.gauge('g', 1)
  await tracer.flush()
  const [span] = (await agent.waitForTraces(1))[0].spans
  await waitUntil(() => udp.lines().length === 1, 'the gauge over UDP')
  assert.equal(udp.lines()[0], `g:1|g|#team:core,service:svc,env:test,version:1.2.3,runtime-id:${span.meta['runtime-id']}`)
  assert.equal(log.length, 1)
  assert.match(log[0], /404/)
})

test('a disabled tracer hands out a dogstatsd client that does nothing', async (t) => {
  const proxy = await proxyServer(t)
  const { tracer } = tracerFor(t, { url: proxy.url.href, enabled: false, runtimeMetrics: true })
  tracer.dogstatsd.increment('x')
  await tracer.dogstatsd.flush()
  await tracer.flush()
  assert.equal(proxy.requests.length, 0)
})

test('no agent: runtime metrics go over UDP to the DogStatsD port, with one warning', async (t) => {
  const udp = await udpReceiver(t)
  const { tracer, log } = tracerFor(t, { url: `http://127.0.0.1:${await deadPort()}`, runtimeMetrics: { enabled: true, flushIntervalMs: 20 }, dogstatsd: { hostname: '127.0.0.1', port: udp.port } })
  tracer.dogstatsd.increment('custom.counter')
  await waitUntil(() => udp.lines().filter((l) => l.startsWith('runtime.node.process.uptime:')).length >= 5, 'five flushes over UDP')
  assert.ok(udp.lines().some((l) => l.startsWith('custom.counter:1|c|#')))
  assert.ok(udp.lines().some((l) => l.startsWith('datadog.dogstatsd.client.metrics:') && l.includes('client_transport:http')), 'still trying the proxy first')
  assert.equal(log.length, 1, log.join(''))
  assert.match(log[0], /ECONNREFUSED/)
})

test('shutdown stops the metrics: no interval flush and no request after it', async (t) => {
  // The flush interval runs on mocked time: what a leftover interval would send is sent when ticked.
  t.mock.timers.enable({ apis: ['setInterval'] })
  const proxy = await proxyServer(t)
  const { tracer } = tracerFor(t, { url: proxy.url.href, runtimeMetrics: { enabled: true, flushIntervalMs: 20 } })
  t.mock.timers.tick(20)
  await waitUntil(() => proxy.requests.some((r) => r.path === '/dogstatsd/v2/proxy'), 'a flush on the interval')
  await tracer.shutdown()
  const after = proxy.requests.length
  t.mock.timers.tick(200)
  tracer.dogstatsd.increment('late')
  await tracer.dogstatsd.flush()
  assert.equal(proxy.requests.length, after)
})

test('tracer.flush() waits for the metrics no longer than flushTimeoutMs: a proxy that never answers does not hold it', async (t) => {
  const held: ServerResponse[] = []
  const server = createServer((req, res) => {
    if (req.url === '/dogstatsd/v2/proxy') held.push(res)
    else res.end()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const { tracer } = tracerFor(t, { url, exporter: undefined, agentDiscovery: false, flushTimeoutMs: 50 })
  tracer.dogstatsd.increment('orders')
  const started = performance.now()
  const flushed = tracer.flush()
  await waitUntil(() => held.length === 1, 'the proxy POST')
  await flushed
  // The POST's own timeout is 2 s: a flush that waited for it took at least that.
  const tookMs = performance.now() - started
  assert.ok(tookMs < 1900, `flush() took ${Math.round(tookMs)} ms`)
  assert.equal(held[0].writableEnded, false)
})

test('runtime metrics never keep a process alive', (t) => {
  const tracerModule = fileURLToPath(new URL('../src/tracer/tracer.ts', import.meta.url))
  const code = `
    const { createTracer } = await import(${JSON.stringify(tracerModule)})
    const tracer = createTracer({ url: 'http://127.0.0.1:9', runtimeMetrics: true, flushOnExit: false })
    tracer.dogstatsd.increment('x')
    console.log('started')
  `
  const started = performance.now()
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 })
  t.diagnostic(`child ran ${Math.round(performance.now() - started)} ms`)
  assert.equal(child.status, 0, child.stderr)
  assert.equal(child.stdout.trim(), 'started')
})
