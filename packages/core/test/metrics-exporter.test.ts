import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startAgent } from '@datadog-apm/agent'
import { SocketTransport } from '../src/agent-client/socket-transport.js'
import { Diagnostics } from '../src/base/diagnostics.js'
import { HealthCounters } from '../src/export/health.js'
import { EXPORTER_METRIC_PREFIX, type ExporterCounters } from '../src/metrics/exporter-metrics.js'
import { resolveMetricsConfig } from '../src/config/metrics-config.js'
import { TracerMetrics } from '../src/metrics/tracer-metrics.js'
import { createTracer } from '../src/tracer/tracer.js'
import { proxyServer } from './support/dogstatsd-servers.js'

const zero: ExporterCounters = { ...new HealthCounters().snapshot(), queuedSpans: 0 }

test("the exporter's counters go out as counts of what moved since the last flush, under dd-trace's prefix", async (t) => {
  const proxy = await proxyServer(t)
  const transport = new SocketTransport(proxy.url)
  let counters: ExporterCounters = zero
  const metrics = new TracerMetrics({
    config: { ...resolveMetricsConfig({ runtimeMetrics: { enabled: true, flushIntervalMs: 3_600_000 } }, {}, () => {}, true) },
    identity: { service: 'svc', env: undefined, version: undefined, tags: {}, runtimeId: 'rid' },
    transport,
    diagnostics: new Diagnostics(false),
    entityId: null,
    exporterCounters: () => counters
  })
  t.after(async () => {
    await metrics.shutdown()
    await transport.close()
  })
  // A line without the tags every runtime metric carries (global and process tags): `name:value|type|#own,tags`.
  const own = (line: string): string => {
    const [head, tags = ''] = line.split('|#')
    const kept = tags.split(',').filter((tag) => !/^(service|runtime-id|entrypoint\.[a-z]+|package\.json\.name|svc\.(auto|user)):/.test(tag))
    return `${head}|#${kept.join(',')}`
  }
  const exporterLines = (from = 0): string[] => proxy.lines().slice(from).filter((l) => l.startsWith(EXPORTER_METRIC_PREFIX)).map(own)

  counters = { ...zero, requests: 3, responses: 2, responsesByStatus: { '200': 2 }, errors: 1, errorsByName: { TransportError: 1 }, errorsByCode: { ECONNREFUSED: 1 }, tracesSent: 5, spansSent: 12, bytesSent: 900, payloadsSent: 2, droppedByReason: { queue_full: 1 }, spansDroppedByReason: { queue_full: 3 }, retries: 1, payloadsMaybeDelivered: 1, tracesMaybeDelivered: 1, queuedSpans: 4 }
  await metrics.flush()
  assert.deepEqual(exporterLines().sort(), [
    'datadog.tracer.node.exporter.agent.bytes.sent:900|c|#',
    'datadog.tracer.node.exporter.agent.errors.by.code:1|c|#code:ECONNREFUSED',
    'datadog.tracer.node.exporter.agent.errors.by.name:1|c|#name:TransportError',
    'datadog.tracer.node.exporter.agent.errors:1|c|#',
    'datadog.tracer.node.exporter.agent.payloads.maybe_delivered:1|c|#',
    'datadog.tracer.node.exporter.agent.payloads.sent:2|c|#',
    'datadog.tracer.node.exporter.agent.queue.spans:4|g|#',
    'datadog.tracer.node.exporter.agent.requests:3|c|#',
    'datadog.tracer.node.exporter.agent.responses.by.status:2|c|#status:200',
    'datadog.tracer.node.exporter.agent.responses:2|c|#',
    'datadog.tracer.node.exporter.agent.retries:1|c|#',
    'datadog.tracer.node.exporter.agent.spans.dropped.by.reason:3|c|#reason:queue_full',
    'datadog.tracer.node.exporter.agent.spans.sent:12|c|#',
    'datadog.tracer.node.exporter.agent.traces.dropped.by.reason:1|c|#reason:queue_full',
    'datadog.tracer.node.exporter.agent.traces.maybe_delivered:1|c|#',
    'datadog.tracer.node.exporter.agent.traces.sent:5|c|#'
  ])
  const first = proxy.lines().length
  counters = { ...counters, requests: 4, responses: 3, responsesByStatus: { '200': 2, '503': 1 }, queuedSpans: 0 }
  await metrics.flush()
  assert.deepEqual(exporterLines(first).sort(), [
    'datadog.tracer.node.exporter.agent.queue.spans:0|g|#',
    'datadog.tracer.node.exporter.agent.requests:1|c|#',
    'datadog.tracer.node.exporter.agent.responses.by.status:1|c|#status:503',
    'datadog.tracer.node.exporter.agent.responses:1|c|#'
  ], 'only what moved, by how much')
  // Before the proxy closes (after-hooks run in order): shutdown sends what is left.
  await metrics.shutdown()
})

test("with runtime metrics on, the exporter's own counters reach the agent as tracer.health() counts them: requests, answers by status, errors, retries", async (t) => {
  const agent = await startAgent({ dogstatsdPort: false })
  t.after(() => agent.close())
  // The trace payload is refused once (503), then taken and left unanswered (written whole: maybe
  // delivered), then accepted: three requests, two answers, one error, two retries.
  agent.faults.add({ kind: 'status', status: 503 }, { times: 1 })
  agent.faults.add({ kind: 'hangup' }, { times: 1 })
  const tracer = createTracer({
    service: 'svc',
    url: agent.url,
    agentDiscovery: false,
    flushOnExit: false,
    retryMaxDelayMs: 20,
    runtimeMetrics: { enabled: true, flushIntervalMs: 3_600_000 },
    diagnostics: { write() {} }
  })
  t.after(() => tracer.shutdown())
  tracer.trace('op', () => {})
  await tracer.flush()
  const health = tracer.health()!
  assert.deepEqual(
    [health.requests, health.responses, health.responsesByStatus, health.errors, health.retries, health.tracesSent, health.payloadsMaybeDelivered],
    [3, 2, { 200: 1, 503: 1 }, 1, 2, 1, 1]
  )
  assert.deepEqual([Object.values(health.errorsByName), Object.values(health.errorsByCode)], [[1], [1]])
  // Sent with the next metrics flush, through the exporter's agent client, to the intake's proxy.
  await tracer.dogstatsd.flush()
  await agent.waitForMetric(`${EXPORTER_METRIC_PREFIX}requests`)
  const own = (tags: readonly string[]): string => tags.filter((tag) => /^(status|name|code|reason):/.test(tag)).join(',')
  const received = Object.fromEntries(
    agent.metrics({ prefix: EXPORTER_METRIC_PREFIX }).map((s) => [`${s.name.slice(EXPORTER_METRIC_PREFIX.length)}|${s.type}|${own(s.tags)}`, s.points.reduce((sum, p) => sum + p[1], 0)])
  )
  assert.deepEqual(received, {
    'requests|count|': 3,
    'responses|count|': 2,
    'responses.by.status|count|status:200': 1,
    'responses.by.status|count|status:503': 1,
    'errors|count|': 1,
    [`errors.by.name|count|name:${Object.keys(health.errorsByName)[0]}`]: 1,
    [`errors.by.code|count|code:${Object.keys(health.errorsByCode)[0]}`]: 1,
    'traces.sent|count|': 1,
    'spans.sent|count|': 1,
    'bytes.sent|count|': health.bytesSent,
    'payloads.sent|count|': 1,
    'retries|count|': 2,
    'payloads.maybe_delivered|count|': 1,
    'queue.spans|gauge|': 0
  })
})
