import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import { describe, it, type TestContext } from 'node:test'
import type { Agent } from '../src/agent.js'
import { parseMetricLine } from '../src/metrics/dogstatsd-parser.js'
import { MAX_PROXY_BODY_BYTES } from '../src/metrics/dogstatsd-proxy.js'
import { MetricStore } from '../src/metrics/metric-store.js'
import { start } from './http-helpers.js'

interface Json { [key: string]: unknown }

async function udpSend(t: TestContext, port: number, ...datagrams: string[]): Promise<void> {
  const socket = createSocket('udp4')
  t.after(() => socket.close())
  for (const datagram of datagrams) {
    await new Promise<void>((resolve, reject) => socket.send(datagram, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())))
  }
}

function proxy(agent: Agent, body: string, method = 'POST'): Promise<Response> {
  return fetch(`${agent.url}/dogstatsd/v2/proxy`, { method, body: method === 'GET' ? undefined : body })
}

async function getJson(agent: Agent, path: string): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${agent.url}${path}`)
  return { status: response.status, body: (await response.json()) as Json }
}

void describe('parseMetricLine', () => {
  void it('reads every field of the protocol', () => {
    assert.deepEqual(parseMetricLine('page.views:3|c|@0.5|#route:/a,env:prod|c:ci-abc|T1700000000'), {
      ok: true,
      metric: { name: 'page.views', type: 'count', values: [3], sampleRate: 0.5, tags: ['route:/a', 'env:prod'], container: 'ci-abc', timestamp: 1700000000 }
    })
    const types = ['c', 'g', 'h', 'd', 'ms', 's'].map((t) => parseMetricLine(`m:1|${t}`))
    assert.deepEqual(types.map((r) => (r.ok === true ? r.metric.type : r.ok)), ['count', 'gauge', 'histogram', 'distribution', 'timing', 'set'])
    const multi = parseMetricLine('lat:1:2.5:-3e2|d')
    assert.deepEqual(multi.ok === true ? multi.metric.values : [], [1, 2.5, -300])
    assert.deepEqual(parseMetricLine('users:alice|s'), { ok: true, metric: { name: 'users', type: 'set', values: [1], sampleRate: 1, tags: [], container: undefined, timestamp: undefined } })
    assert.deepEqual(parseMetricLine('_e{5,4}:title|text'), { ok: 'skipped', kind: 'event' })
    assert.deepEqual(parseMetricLine('_sc|check|0'), { ok: 'skipped', kind: 'service-check' })
  })

  void it('refuses what the agent refuses, saying why', () => {
    const reasons = ['novalue', ':1|c', 'm:1', 'm:1|x', 'm:abc|g', 'm:1:2|c', 'm:1|c|@0', 'm:1|c|@1.5', 'm:1|c|Tsoon'].map((line) => {
      const r = parseMetricLine(line)
      return r.ok === false ? r.reason : `accepted ${line}`
    })
    assert.deepEqual(reasons, [
      'no name:value',
      'no name:value',
      'no |type',
      'unknown type "x"',
      'value "abc" is not a number',
      'several values in one count',
      'sample rate "@0" is not in (0, 1]',
      'sample rate "@1.5" is not in (0, 1]',
      'timestamp "Tsoon" is not epoch seconds'
    ])
    assert.equal(parseMetricLine('m:1|c|@1').ok, true, 'a rate of 1 is the last accepted')
  })
})

void describe('MetricStore', () => {
  void it('one series per name, type and tag set, whatever the tag order; counts scaled by their sample rate', () => {
    const store = new MetricStore()
    store.receive('a:1|c|#x:1,y:2\na:2|c|#y:2,x:1\na:4|c|@0.5|#x:1,y:2\na:5|g|#x:1,y:2\n', 'udp', 1000)
    const series = store.series()
    assert.equal(series.length, 2)
    assert.deepEqual(series.map((s) => [s.name, s.type, s.tags, s.points]), [
      ['a', 'count', ['x:1', 'y:2'], [[1000, 1], [1000, 2], [1000, 8]]],
      ['a', 'gauge', ['x:1', 'y:2'], [[1000, 5]]]
    ])
    assert.deepEqual(store.counts(), { packets: 1, httpRequests: 0, lines: 4, invalid: 0, skipped: 0, evicted: 0, series: 2 })
  })

  void it('keeps the last maxPoints points of a series, and the since filter keeps newer ones', () => {
    const store = new MetricStore(10, 3)
    for (let i = 1; i <= 5; i++) store.receive(`g:${i}|g`, 'udp', i * 1000)
    assert.deepEqual(store.series()[0].points, [[3000, 3], [4000, 4], [5000, 5]])
    assert.deepEqual(store.series({ since: 4000 })[0].points, [[5000, 5]])
    store.receive('g:6|g|T7', 'http', 99_000)
    assert.deepEqual(store.series()[0].points.at(-1), [7000, 6], 'the |T timestamp wins over the arrival time')
  })

  void it('past maxSeries the series updated longest ago is forgotten and counted', () => {
    const store = new MetricStore(3, 10)
    store.receive('a:1|g\nb:1|g\nc:1|g', 'udp')
    store.receive('a:2|g', 'udp') // a is now the most recent
    assert.equal(store.counts().evicted, 0, 'the last series that fits')
    store.receive('d:1|g', 'udp')
    assert.deepEqual(store.series().map((s) => s.name), ['a', 'c', 'd'])
    assert.equal(store.counts().evicted, 1)
  })

  void it('groups series by process (service and runtime id) and keeps the last refused lines', () => {
    const store = new MetricStore()
    store.receive('runtime.node.mem.rss:1|g|#service:web,env:prod,version:1,runtime-id:r1\nx:1|c|#service:web,runtime-id:r2\ny:1|c|#service:api\nbad line', 'http', 5000)
    assert.deepEqual(store.processes(), [
      { service: 'api', runtimeId: '', env: '', version: '', series: 1, lastSeen: 5000, runtime: false, names: ['y'] },
      { service: 'web', runtimeId: 'r1', env: 'prod', version: '1', series: 1, lastSeen: 5000, runtime: true, names: ['runtime.node.mem.rss'] },
      { service: 'web', runtimeId: 'r2', env: '', version: '', series: 1, lastSeen: 5000, runtime: false, names: ['x'] }
    ])
    assert.deepEqual(store.invalid(), [{ line: 'bad line', reason: 'no name:value', transport: 'http', receivedAt: 5000 }])
  })
})

void describe('the intake receives DogStatsD', () => {
  void it('on UDP, on a free port by default', async (t) => {
    const agent = await start(t)
    assert.ok(agent.dogstatsdPort !== undefined && agent.dogstatsdPort > 0)
    assert.equal(agent.dogstatsdNotice, undefined)
    await udpSend(t, agent.dogstatsdPort, 'hits:1|c|#service:svc,runtime-id:abc\nhits:2|c|#service:svc,runtime-id:abc', 'temp:21.5|g|#service:svc')
    const hits = await agent.waitForMetric('hits')
    assert.deepEqual([hits.type, hits.service, hits.runtimeId, hits.points.map((p) => p[1])], ['count', 'svc', 'abc', [1, 2]])
    assert.equal((await agent.waitForMetric('temp')).points[0][1], 21.5)
  })

  void it('takes a free UDP port when the one asked for is taken, and says so', async (t) => {
    const taken = createSocket('udp4')
    taken.bind(0, '127.0.0.1')
    await once(taken, 'listening')
    t.after(() => taken.close())
    const agent = await start(t, { dogstatsdPort: taken.address().port })
    assert.notEqual(agent.dogstatsdPort, taken.address().port)
    assert.equal(agent.dogstatsdNotice, `DogStatsD port ${taken.address().port} is in use; listening on ${agent.dogstatsdPort} instead`)
    await udpSend(t, agent.dogstatsdPort ?? 0, 'moved:1|g')
    await agent.waitForMetric('moved')
  })

  void it('dogstatsdPort: false listens on no UDP port; the proxy still works', async (t) => {
    const agent = await start(t, { dogstatsdPort: false })
    assert.equal(agent.dogstatsdPort, undefined)
    assert.equal((await proxy(agent, 'p:1|c')).status, 200)
    await agent.waitForMetric('p')
  })

  void it('on its proxy endpoint: an empty 200, each line kept; 405 for GET; 413 past the limit', async (t) => {
    const agent = await start(t)
    const answer = await proxy(agent, 'a:1|c|#service:s\nb:2|g|#service:s\n')
    assert.equal(answer.status, 200)
    assert.equal(await answer.text(), '')
    assert.deepEqual(agent.metrics().map((s) => s.name), ['a', 'b'])
    assert.equal((await proxy(agent, '', 'GET')).status, 405)
    assert.equal((await proxy(agent, 'x'.repeat(MAX_PROXY_BODY_BYTES + 1))).status, 413)
    assert.equal((await proxy(agent, `${'x'.repeat(MAX_PROXY_BODY_BYTES - 6)}:1|c\n`)).status, 200, 'the largest body accepted')
    assert.equal(agent.metrics().length, 2, 'a line longer than a datagram could be is refused, not kept')
  })

  void it('its /info lists the proxy and the UDP port; an intake whose /info leaves the proxy out answers 404 there', async (t) => {
    const agent = await start(t)
    const info = (await (await fetch(`${agent.url}/info`)).json()) as { endpoints: string[]; config: { statsd_port: number } }
    assert.ok(info.endpoints.includes('/dogstatsd/v2/proxy'))
    assert.equal(info.config.statsd_port, agent.dogstatsdPort)
    const old = await start(t, { info: { endpoints: ['/v0.4/traces', '/info'] } })
    assert.equal((await proxy(old, 'a:1|c')).status, 404)
    const none = await start(t, { info: { enabled: false } })
    assert.equal((await proxy(none, 'a:1|c')).status, 404)
  })

  void it('behind its query API: processes, names, series with since and limit; clear forgets them', async (t) => {
    const agent = await start(t)
    await proxy(agent, ['runtime.node.mem.rss:100|g|#service:web,runtime-id:r1', 'runtime.node.mem.rss:200|g|#service:web,runtime-id:r2', 'orders:3|c|#service:web,runtime-id:r1,region:eu', 'oops'].join('\n'))
    const overview = await getJson(agent, '/api/metrics')
    assert.equal(overview.status, 200)
    assert.deepEqual((overview.body.processes as Json[]).map((p) => [p.service, p.runtimeId, p.runtime]), [['web', 'r1', true], ['web', 'r2', true]])
    assert.deepEqual(overview.body.names, [{ name: 'orders', type: 'count', series: 1 }, { name: 'runtime.node.mem.rss', type: 'gauge', series: 2 }])
    assert.equal((overview.body.counts as Json).invalid, 1)
    assert.equal(((overview.body.invalid as Json[])[0]).line, 'oops')
    const r1 = await getJson(agent, '/api/metrics/series?service=web&runtimeId=r1&name=runtime.node.mem.rss&name=orders')
    assert.deepEqual((r1.body.series as Json[]).map((s) => [s.name, s.tags, (s.points as number[][]).map((p) => p[1])]), [
      ['orders', ['region:eu', 'runtime-id:r1', 'service:web'], [3]],
      ['runtime.node.mem.rss', ['runtime-id:r1', 'service:web'], [100]]
    ])
    const byPrefix = await getJson(agent, '/api/metrics/series?prefix=runtime.&limit=1')
    assert.deepEqual([byPrefix.body.total, (byPrefix.body.series as Json[]).length], [2, 1])
    const later = await getJson(agent, `/api/metrics/series?since=${Date.now() + 60_000}`)
    assert.ok((later.body.series as Json[]).every((s) => (s.points as unknown[]).length === 0))
    for (const bad of ['/api/metrics/series?since=soon', '/api/metrics/series?limit=0', '/api/metrics/series?limit=2001', '/api/metrics/series?colour=red', '/api/metrics?x=1']) {
      assert.equal((await getJson(agent, bad)).status, 400, bad)
    }
    assert.equal((await getJson(agent, '/api/metrics/series?limit=2000')).status, 200)
    assert.equal((await fetch(`${agent.url}/api/clear`, { method: 'POST' })).status, 200)
    assert.deepEqual(agent.metrics(), [])
  })

  void it('waitForMetric says what did arrive when it times out', async (t) => {
    const agent = await start(t)
    await proxy(agent, 'other:1|g\nbroken')
    await assert.rejects(agent.waitForMetric('missing', { timeoutMs: 50 }), /no missing within 50 ms; 0 UDP packets and 1 proxy requests, 2 lines \(1 invalid\)\.\nMetrics \(1\): other\n {2}invalid \(no name:value\): broken/)
  })
})
