import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { resolveConfig } from '../src/config/config.js'
import { MetricsAggregator } from '../src/metrics/aggregator.js'
import { joinTags } from '../src/metrics/dogstatsd-client.js'
import { formatLine, lineSuffix, MetricType, safeMetricName, sanitizeTagValue } from '../src/metrics/dogstatsd-line.js'
import { MetricHistogram } from '../src/metrics/histogram.js'
import { resolveMetricsConfig } from '../src/config/metrics-config.js'
import { MAX_LINE_BYTES, MAX_PACKET_BYTES, packLines } from '../src/metrics/packets.js'
import { processTags, sanitizeProcessTagValue } from '../src/metrics/process-tags.js'
import { globalMetricTags } from '../src/metrics/tracer-metrics.js'

const suffix = lineSuffix(['service:svc', 'env:prod'], undefined)

test('a line has the global tags first, then its own, then the entity id', () => {
  assert.equal(formatLine('a.b', 3, MetricType.COUNT, '', suffix), 'a.b:3|c|#service:svc,env:prod\n')
  assert.equal(formatLine('a.b', 1.5, MetricType.GAUGE, 'k:v', suffix), 'a.b:1.5|g|#service:svc,env:prod,k:v\n')
  assert.equal(formatLine('a.b', 1, MetricType.GAUGE, 'k:v', lineSuffix([], undefined)), 'a.b:1|g|#k:v\n')
  assert.equal(formatLine('a.b', 1, MetricType.GAUGE, '', lineSuffix([], undefined)), 'a.b:1|g\n')
  assert.equal(formatLine('a', 2, MetricType.DISTRIBUTION, '', lineSuffix(['x:y'], 'ci-abc')), 'a:2|d|#x:y|c:ci-abc\n')
})

test('global tag values keep [a-z0-9_:./-] only; names and tags from user code cannot break a line', () => {
  assert.equal(sanitizeTagValue('My Service!/v1.2:ok'), 'My_Service_/v1.2:ok')
  assert.equal(safeMetricName('a:b|c\nd#e@f,g'), 'a_b_c_d_e_f_g')
  assert.equal(joinTags({ route: '/a|b', n: 3, ok: true }), 'route:/a_b,n:3,ok:true')
  assert.equal(joinTags(['a:b', 'c:d\ne:f,g']), 'a:b,c:d_e:f_g')
  assert.equal(joinTags(undefined), '')
})

test('packets: several lines each, at most 1024 bytes, a new one when the next line does not fit', () => {
  const line = (n: number): string => `${'x'.repeat(n - 1)}\n`
  // 1024 exactly: one packet; one byte more: two.
  assert.deepEqual(packLines([line(512), line(512)]).packets.map((p) => p.length), [1024])
  assert.deepEqual(packLines([line(512), line(513)]).packets.map((p) => p.length), [512, 513])
  const many = packLines(Array.from({ length: 100 }, () => line(100)))
  assert.deepEqual(many.packets.map((p) => p.length), Array.from({ length: 10 }, () => 1000))
  assert.ok(many.packets.every((p) => p.length <= MAX_PACKET_BYTES))
  // A line longer than a packet goes alone up to the agent's read buffer; longer ones are dropped.
  const long = packLines([line(10), line(MAX_LINE_BYTES), line(MAX_LINE_BYTES + 1), line(10)])
  assert.deepEqual(long.packets.map((p) => p.length), [10, MAX_LINE_BYTES, 10])
  assert.equal(long.droppedLines, 1)
  // Multi-byte characters count as bytes.
  assert.deepEqual(packLines([`${'é'.repeat(300)}\n`, `${'é'.repeat(300)}\n`]).packets.length, 2)
})

test('aggregation: a count sends its sum, a gauge its last value, a distribution every value', () => {
  const m = new MetricsAggregator(lineSuffix([], undefined))
  m.count('hits', 1)
  m.count('hits', 2)
  m.count('hits', -1, 'a:b')
  m.gauge('temp', 3)
  m.gauge('temp', 7)
  m.distribution('lat', 5)
  m.distribution('lat', 6)
  const { lines, counts } = m.drain()
  assert.deepEqual(lines, ['lat:5|d\n', 'lat:6|d\n', 'hits:3|c\n', 'hits:-1|c|#a:b\n', 'temp:7|g\n'])
  assert.deepEqual(counts.metrics, [3, 2, 2, 0])
  assert.deepEqual(counts.contexts, [2, 1, 0, 0])
  assert.deepEqual(m.drain().lines, [], 'a drain forgets what it sent')
})

test('a histogram becomes gauges min, max, avg, median, p95 and counts sum, total, count', () => {
  const m = new MetricsAggregator(lineSuffix(['s:x'], undefined))
  for (let i = 1; i <= 100; i++) m.histogram('h', i, 'k:v')
  const lines = m.drain().lines
  const byName = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')), l]))
  assert.deepEqual([...byName.keys()], ['h.min', 'h.max', 'h.sum', 'h.total', 'h.avg', 'h.count', 'h.median', 'h.95percentile'])
  assert.equal(byName.get('h.min'), 'h.min:1|g|#s:x,k:v\n')
  assert.equal(byName.get('h.max'), 'h.max:100|g|#s:x,k:v\n')
  assert.equal(byName.get('h.sum'), 'h.sum:5050|c|#s:x,k:v\n')
  assert.equal(byName.get('h.total'), 'h.total:5050|c|#s:x,k:v\n')
  assert.equal(byName.get('h.avg'), 'h.avg:50.5|g|#s:x,k:v\n')
  assert.equal(byName.get('h.count'), 'h.count:100|c|#s:x,k:v\n')
  const median = Number(/:([^|]+)\|/.exec(byName.get('h.median') ?? '')?.[1])
  const p95 = Number(/:([^|]+)\|/.exec(byName.get('h.95percentile') ?? '')?.[1])
  assert.ok(Math.abs(median - 50.5) <= 1, `median ${median}`)
  assert.ok(Math.abs(p95 - 95) <= 1.5, `p95 ${p95}`)
})

test('histogram quantiles hold for negative values and stay within min and max', () => {
  const h = new MetricHistogram()
  for (const v of [-10, -5, 0, 5, 10]) h.record(v)
  assert.equal(h.count, 5)
  assert.equal(h.avg, 0)
  assert.ok(Math.abs(h.percentile(0) + 10) < 0.1, String(h.percentile(0)))
  assert.ok(Math.abs(h.percentile(0.25) + 5) < 0.1, String(h.percentile(0.25)))
  assert.equal(h.percentile(0.5), 0)
  assert.ok(Math.abs(h.percentile(1) - 10) < 0.1, String(h.percentile(1)))
  const one = new MetricHistogram()
  one.record(7)
  assert.equal(one.percentile(0.5), 7)
  assert.equal(new MetricHistogram().percentile(0.5), 0)
})

test('contexts are bounded: the last one fits, the first past the limit is dropped and counted', () => {
  const m = new MetricsAggregator(lineSuffix([], undefined), { maxContexts: 3, maxDistributionValues: 2 })
  m.count('a', 1)
  m.gauge('b', 1)
  m.histogram('c', 1)
  m.count('a', 1) // an existing context still takes values
  m.count('d', 1)
  m.gauge('b', 1, 'new:tag')
  m.distribution('x', 1)
  m.distribution('x', 2)
  m.distribution('x', 3)
  m.gauge('nan', Number.NaN)
  assert.equal(m.dropped, 4)
  const lines = m.drain().lines
  assert.ok(lines.includes('a:2|c\n'))
  assert.equal(lines.filter((l) => l.startsWith('x:')).length, 2)
  m.count('d', 1)
  assert.deepEqual(m.drain().lines, ['d:1|c\n'], 'the limit is per flush')
})

test('config: options over DD_RUNTIME_METRICS_* and DD_DOGSTATSD_*, the host defaulting to the agent host', () => {
  const warnings: string[] = []
  const warn = (m: string): void => void warnings.push(m)
  const base = resolveMetricsConfig({}, {}, warn, true)
  assert.deepEqual(base, {
    runtimeMetrics: false,
    eventLoop: true,
    gc: true,
    runtimeIdTag: true,
    flushIntervalMs: 10_000,
    dogstatsdHost: '127.0.0.1',
    dogstatsdPort: 8125,
    serviceInferred: true
  })
  const env = { DD_RUNTIME_METRICS_ENABLED: 'true', DD_AGENT_HOST: 'agent', DD_TRACE_AGENT_URL: 'http://other:1', DD_DOGSTATSD_PORT: '9125', DD_SERVICE: 's' }
  const fromEnv = resolveMetricsConfig({}, env, warn, false)
  assert.equal(fromEnv.runtimeMetrics, true)
  assert.equal(fromEnv.dogstatsdHost, 'agent', 'the agent host setting, not the host of DD_TRACE_AGENT_URL')
  assert.equal(fromEnv.dogstatsdPort, 9125)
  assert.equal(resolveMetricsConfig({}, { ...env, DD_DOGSTATSD_HOST: 'statsd' }, warn, false).dogstatsdHost, 'statsd')
  assert.equal(resolveMetricsConfig({ runtimeMetrics: false }, env, warn, false).runtimeMetrics, false)
  const detailed = resolveMetricsConfig({ runtimeMetrics: { enabled: true, gc: false, runtimeId: false }, dogstatsd: { hostname: 'h', port: 1 } }, {}, warn, true)
  assert.deepEqual([detailed.runtimeMetrics, detailed.gc, detailed.eventLoop, detailed.runtimeIdTag, detailed.dogstatsdHost, detailed.dogstatsdPort], [true, false, true, false, 'h', 1])
  assert.deepEqual(warnings, [])
  resolveMetricsConfig({}, { DD_RUNTIME_METRICS_ENABLED: 'yes', DD_DOGSTATSD_PORT: '70000' }, warn, true)
  assert.equal(warnings.length, 2)
  assert.throws(() => resolveMetricsConfig({ dogstatsd: { port: 0 } }, {}, warn, true), TypeError)
  assert.throws(() => resolveMetricsConfig({ runtimeMetrics: 'yes' as unknown as boolean }, {}, warn, true), TypeError)
})

test('config: the service counts as inferred only when no option or variable names it (the svc.auto process tag)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dd-metrics-config-'))
  const inferred = (options: { service?: string }, env: Record<string, string>): boolean => resolveConfig(options, env, () => {}, dir).metrics.serviceInferred
  assert.equal(inferred({}, {}), true)
  assert.equal(inferred({ service: 's' }, {}), false)
  assert.equal(inferred({}, { DD_SERVICE: 's' }), false)
  assert.equal(inferred({}, { OTEL_SERVICE_NAME: 's' }), false)
  assert.equal(inferred({}, { DD_TAGS: 'team:a,service:x' }), false)
  assert.equal(inferred({}, { OTEL_RESOURCE_ATTRIBUTES: 'service.name=x' }), false)
  const withPackage = mkdtempSync(join(tmpdir(), 'dd-metrics-config-'))
  writeFileSync(join(withPackage, 'package.json'), JSON.stringify({ name: 'from-package' }))
  const config = resolveConfig({}, {}, () => {}, withPackage)
  assert.deepEqual([config.service, config.metrics.serviceInferred], ['from-package', true])
})

test('global tags: DD_TAGS first, then service, env, version, runtime-id; values sanitized', () => {
  const identity = { service: 'my svc', env: 'prod', version: '1.0', tags: { team: 'a b', service: 'old' }, runtimeId: 'abc-123' }
  assert.deepEqual(globalMetricTags(identity, true), ['team:a_b', 'service:my_svc', 'env:prod', 'version:1.0', 'runtime-id:abc-123'])
  assert.deepEqual(globalMetricTags({ ...identity, env: undefined, version: undefined, tags: {} }, false), ['service:my_svc'])
})

test('process tags as dd-trace writes them', () => {
  const tags = processTags({ entrypoint: '/srv/app/bin/Server.mjs', cwd: '/srv/My App', service: 'svc', serviceInferred: true })
  assert.deepEqual(tags, ['entrypoint.basedir:bin', 'entrypoint.name:server', 'entrypoint.type:script', 'entrypoint.workdir:my_app', 'svc.auto:svc'])
  assert.deepEqual(processTags({ entrypoint: undefined, cwd: '/', service: 's', serviceInferred: false }), ['entrypoint.type:script', 'svc.user:true'])
  assert.equal(sanitizeProcessTagValue('A  b@@c'), 'a_b_c')
})
