import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decode } from '@msgpack/msgpack'
import { StatsConcentrator, type FlushedBucket, type StatsGroup } from '../src/stats/concentrator.js'
import { TRACER_BLOCKED_VALUE, Trilean, grpcStatusCode, quantizePeerValue } from '../src/stats/stats-key.js'
import { CoreTracer, type SpanOptions } from '../src/tracer/tracer.js'
import { SpanCollector } from './support/span-collector.js'
import type { CoreSpan } from '../src/model/span.js'
import { V04Encoder } from '../src/wire/encode-v04.js'
import { truncateUtf8 } from '../src/wire/normalize.js'
import { obfuscateSql } from '../src/wire/obfuscate-sql.js'

// Epoch ms on a bucket boundary (10 s buckets), far enough from now to be obviously synthetic.
const T0 = 1_800_000_000_000

function setup(options: { now?: number; maxGroupsPerBucket?: number } = {}): { tracer: CoreTracer; memory: SpanCollector; stats: StatsConcentrator; clock: { now: number } } {
  const memory = new SpanCollector()
  const tracer = new CoreTracer({ service: 'web', exporter: memory, flushOnExit: false })
  const clock = { now: options.now ?? T0 }
  const stats = new StatsConcentrator({ service: 'web', now: () => clock.now, maxGroupsPerBucket: options.maxGroupsPerBucket })
  return { tracer, memory, stats, clock }
}

/** A span from `startMs` to `endMs` (epoch ms): durations are then exact. */
function timed(tracer: CoreTracer, name: string, startMs: number, endMs: number, options: SpanOptions = {}): CoreSpan {
  const span = tracer.startSpan(name, { childOf: null, ...options, startTime: startMs })
  span.finish(endMs)
  return span
}

function groups(buckets: readonly FlushedBucket[]): StatsGroup[] {
  return buckets.flatMap((b) => b.groups)
}

function only(buckets: readonly FlushedBucket[]): StatsGroup {
  const all = groups(buckets)
  assert.equal(all.length, 1, `one group, got ${all.map((g) => `${g.key.name}/${g.key.resource}`).join(', ')}`)
  return all[0]
}

test('which spans count: top-level (root, remote parent, another service), measured, and client/server/producer/consumer kinds', () => {
  const { tracer, memory, stats } = setup()
  const root = tracer.startSpan('root', { childOf: null, startTime: T0 + 1 })
  const internal = tracer.startSpan('internal', { childOf: root, startTime: T0 + 2 })
  internal.finish(T0 + 3)
  const measured = tracer.startSpan('measured', { childOf: root, startTime: T0 + 2, tags: { '_dd.measured': 1 } })
  measured.finish(T0 + 3)
  const client = tracer.startSpan('client', { childOf: root, startTime: T0 + 2, tags: { 'span.kind': 'CLIENT' } })
  client.finish(T0 + 3)
  const internalKind = tracer.startSpan('internal.kind', { childOf: root, startTime: T0 + 2, tags: { 'span.kind': 'internal' } })
  internalKind.finish(T0 + 3)
  const otherService = tracer.startSpan('db', { childOf: root, service: 'postgres', startTime: T0 + 2 })
  otherService.finish(T0 + 3)
  const partial = tracer.startSpan('partial', { childOf: root, startTime: T0 + 2, tags: { '_dd.measured': 1, '_dd.partial_version': 2 } })
  partial.finish(T0 + 3)
  root.finish(T0 + 4)
  const remote = tracer.startSpan('remote', { childOf: { traceId: 5n, traceIdHigh: '', spanId: 6n }, startTime: T0 + 1 })
  remote.finish(T0 + 2)
  for (const chunk of memory.chunks()) stats.addChunk(chunk)
  const counted = groups(stats.flush(true)).map((g) => g.key.name).sort()
  assert.deepEqual(counted, ['client', 'db', 'measured', 'remote', 'root'])
  assert.equal(stats.spansSeen, 8)
  assert.equal(stats.spansCounted, 5)
})

test('hits, errors, top-level hits and the duration sum are exact; ok and error latencies go to their own sketch', () => {
  const { tracer, memory, stats } = setup()
  let durationNs = 0
  for (let i = 0; i < 50; i++) {
    const span = tracer.startSpan('web.request', { childOf: null, resource: 'GET /users/:id', startTime: T0 + 100 })
    if (i % 5 === 0) span.setTag('error', true)
    span.finish(T0 + 100 + i + 1)
    durationNs += (i + 1) * 1e6
  }
  // Measured, not top-level: a hit but no top-level hit.
  const root = tracer.startSpan('web.request', { childOf: null, resource: 'GET /other', startTime: T0 + 100 })
  const child = tracer.startSpan('web.request', { childOf: root, resource: 'GET /users/:id', startTime: T0 + 101, tags: { '_dd.measured': 1 } })
  child.finish(T0 + 102)
  root.finish(T0 + 103)
  for (const chunk of memory.chunks()) stats.addChunk(chunk)
  const all = groups(stats.flush(true))
  const users = all.filter((g) => g.key.resource === 'GET /users/:id')
  // The measured child differs by IsTraceRoot (false) from the roots (true): two groups.
  const roots = users.find((g) => g.key.isTraceRoot === Trilean.true)!
  const measured = users.find((g) => g.key.isTraceRoot === Trilean.false)!
  assert.equal(roots.hits, 50)
  assert.equal(roots.errors, 10)
  assert.equal(roots.topLevelHits, 50)
  assert.equal(roots.durationNs, durationNs)
  assert.equal(roots.okSummary.count, 40)
  assert.equal(roots.errorSummary.count, 10)
  assert.equal(measured.hits, 1)
  assert.equal(measured.topLevelHits, 0)
  assert.equal(measured.durationNs, 1e6)
})

test('key fields: service and name normalized, status code, method, endpoint, kind, synthetics, gRPC, trace root', () => {
  const { tracer, memory, stats } = setup()
  const span = tracer.startSpan('Web Request!', {
    childOf: { traceId: 9n, traceIdHigh: '', spanId: 8n, origin: 'synthetics-browser' },
    service: 'My Service',
    type: 'web',
    startTime: T0 + 1,
    tags: {
      'http.status_code': '404',
      'http.method': 'POST',
      'http.route': '/users/:id',
      'span.kind': 'server',
      'rpc.grpc.status_code': 'StatusCode.unavailable',
      '_dd.svc_src': 'opt.service',
      'db.type': 'postgres'
    }
  })
  span.finish(T0 + 2)
  for (const chunk of memory.chunks()) stats.addChunk(chunk)
  const { key } = only(stats.flush(true))
  assert.equal(key.service, 'my_service')
  assert.equal(key.name, 'Web_Request')
  assert.equal(key.resource, 'Web Request!', 'the resource as the encoder writes it (startSpan defaulted it to the raw name)')
  assert.equal(key.type, 'web')
  assert.equal(key.httpStatusCode, 404)
  assert.equal(key.httpMethod, 'POST')
  assert.equal(key.httpEndpoint, '/users/:id')
  assert.equal(key.spanKind, 'server')
  assert.equal(key.synthetics, true)
  assert.equal(key.grpcStatusCode, '14')
  assert.equal(key.isTraceRoot, Trilean.false)
  assert.equal(key.serviceSource, 'opt.service')
  assert.equal(key.dbType, 'postgres')
})

test('http.endpoint wins over http.route; an invalid status code is 0', () => {
  const { tracer, memory, stats } = setup()
  timed(tracer, 'a', T0 + 1, T0 + 2, { tags: { 'http.route': '/r', 'http.endpoint': '/e', 'http.status_code': '999' } })
  for (const chunk of memory.chunks()) stats.addChunk(chunk)
  const { key } = only(stats.flush(true))
  assert.equal(key.httpEndpoint, '/e')
  assert.equal(key.httpStatusCode, 0)
})

test('gRPC status: numbers, names, the StatusCode. prefix, metrics; meta first; unknown is empty', () => {
  assert.equal(grpcStatusCode({ 'grpc.code': '3' }, {}), '3')
  assert.equal(grpcStatusCode({ 'rpc.grpc.status_code': 'permission_denied' }, { 'rpc.grpc.status_code': 2 }), '7')
  assert.equal(grpcStatusCode({}, { 'grpc.status.code': 16 }), '16')
  assert.equal(grpcStatusCode({ 'grpc.code': 'DeadlineExceeded' }, {}), '4')
  assert.equal(grpcStatusCode({ 'grpc.code': 'bogus' }, {}), '')
  assert.equal(grpcStatusCode({ 'grpc.code': '256' }, {}), '')
  assert.equal(grpcStatusCode({}, { 'grpc.code': 1.5 }), '')
})

test('peer tags: the agent keys on client/producer/consumer spans, IPs quantized; _dd.base_service on internal spans of another service', () => {
  const { tracer, memory, stats } = setup()
  stats.reader.peerTagKeys = ['peer.service', 'out.host', 'db.instance']
  timed(tracer, 'client', T0 + 1, T0 + 2, { tags: { 'span.kind': 'client', 'out.host': '10.1.2.3', 'peer.service': 'billing', 'db.instance': '' } })
  timed(tracer, 'server', T0 + 1, T0 + 2, { tags: { 'span.kind': 'server', 'out.host': 'x' } })
  timed(tracer, 'other', T0 + 1, T0 + 2, { service: 'worker' })
  for (const chunk of memory.chunks()) stats.addChunk(chunk)
  const byName = new Map(groups(stats.flush(true)).map((g) => [g.key.name, g.key.peerTags]))
  assert.deepEqual(byName.get('client'), ['peer.service:billing', 'out.host:blocked-ip-address'])
  assert.deepEqual(byName.get('server'), [])
  assert.deepEqual(byName.get('other'), ['_dd.base_service:web'])
  assert.equal(quantizePeerValue('db.example.com'), 'db.example.com')
  assert.equal(quantizePeerValue('[2001:db8::1]:5432'), 'blocked-ip-address')
  assert.equal(quantizePeerValue('10.0.0.1:6379'), 'blocked-ip-address')
})

test('obfuscation for stats: SQL obfuscated and Redis quantized only when on', () => {
  const { tracer, memory, stats } = setup()
  timed(tracer, 'pg.query', T0 + 1, T0 + 2, { type: 'sql', resource: "SELECT * FROM users WHERE id = 42 AND name = 'bob'" })
  timed(tracer, 'redis.command', T0 + 1, T0 + 2, { type: 'redis', resource: 'SET session:1 secret' })
  for (const chunk of memory.chunks()) stats.addChunk(chunk)
  const raw = new Map(groups(stats.flush(true)).map((g) => [g.key.name, g.key.resource]))
  assert.equal(raw.get('pg.query'), "SELECT * FROM users WHERE id = 42 AND name = 'bob'")
  assert.equal(raw.get('redis.command'), 'SET session:1 secret')
  stats.reader.obfuscate = true
  for (const chunk of memory.chunks()) stats.addChunk(chunk)
  const obfuscated = new Map(groups(stats.flush(true)).map((g) => [g.key.name, g.key.resource]))
  assert.equal(obfuscated.get('pg.query'), 'SELECT * FROM users WHERE id = ? AND name = ?')
  assert.equal(obfuscated.get('redis.command'), 'SET')
})

test('a SQL span goes out as written; its stats key is what the agent makes of that text: obfuscated, then cut', () => {
  const { tracer, memory, stats } = setup()
  const statement = "SELECT * FROM users WHERE id = 42 AND name = 'bob'"
  // Past the 5000-byte resource limit: cut first, it would end inside a literal and not parse.
  const bulk = `INSERT INTO t (a, b) VALUES ${Array.from({ length: 600 }, (_, i) => `(${i}, 'v${i}')`).join(', ')}`
  const long = `SELECT ${Array.from({ length: 1500 }, (_, i) => `c${i}`).join(', ')} FROM t WHERE id = 42`
  timed(tracer, 'pg.query', T0 + 1, T0 + 2, { type: 'sql', resource: statement })
  timed(tracer, 'mysql.query', T0 + 1, T0 + 2, { type: 'sql', resource: bulk })
  timed(tracer, 'cassandra.query', T0 + 1, T0 + 2, { type: 'cassandra', resource: long })
  const encoder = new V04Encoder({ service: 'web', globalMeta: {}, processId: 1 }, 1 << 22)
  encoder.begin()
  for (const chunk of memory.chunks()) assert.ok(encoder.append(chunk))
  const sent = new Map((decode(encoder.finish()) as { name: string; resource: string }[][]).flat().map((s) => [s.name, s.resource]))
  assert.deepEqual([...sent.values()], [statement, bulk, long], 'the spans carry the statements as written')
  stats.reader.obfuscate = true
  for (const chunk of memory.chunks()) stats.addChunk(chunk)
  const keys = new Map(groups(stats.flush(true)).map((g) => [g.key.name, g.key.resource]))
  assert.equal(keys.get('pg.query'), 'SELECT * FROM users WHERE id = ? AND name = ?')
  assert.equal(keys.get('mysql.query'), 'INSERT INTO t ( a, b ) VALUES ( ? )')
  // The agent obfuscates the resource it receives, then cuts it at 5000 bytes.
  for (const [name, resource] of sent) assert.equal(keys.get(name), truncateUtf8(obfuscateSql(resource), 5000), name)
  assert.equal(keys.get('cassandra.query')?.length, 5000)
})

test('buckets by end time: the last ms of a bucket and the first of the next fall apart', () => {
  const { tracer, memory, stats, clock } = setup()
  timed(tracer, 'a', T0 + 5_000, T0 + 9_999)
  timed(tracer, 'a', T0 + 5_000, T0 + 10_000)
  timed(tracer, 'a', T0 + 10_000, T0 + 19_999)
  for (const chunk of memory.chunks()) stats.addChunk(chunk)
  clock.now = T0 + 25_000
  const buckets = stats.flush(true)
  assert.deepEqual(
    buckets.map((b) => [b.startMs - T0, b.durationMs, b.groups[0]?.hits]),
    [
      [0, 10_000, 1],
      [10_000, 10_000, 2]
    ]
  )
})

test('a regular flush keeps the current and the previous bucket; late spans land in the oldest open one; force takes all', () => {
  const { tracer, memory, stats, clock } = setup()
  timed(tracer, 'a', T0 + 1_000, T0 + 2_000) // bucket 0
  timed(tracer, 'a', T0 + 11_000, T0 + 12_000) // bucket 10 s
  for (const chunk of memory.chunks()) stats.addChunk(chunk)
  memory.reset()
  clock.now = T0 + 19_999
  assert.deepEqual(stats.flush(false), [], 'at 19.999 s both buckets are still open')
  clock.now = T0 + 20_000
  const first = stats.flush(false)
  assert.deepEqual(first.map((b) => b.startMs - T0), [0], 'at 20 s the bucket [0, 10 s) is done')
  // A span that ended at 3 s but reaches the concentrator only now counts in the oldest open bucket (10 s).
  timed(tracer, 'late', T0 + 2_000, T0 + 3_000)
  for (const chunk of memory.chunks()) stats.addChunk(chunk)
  clock.now = T0 + 21_000
  const rest = stats.flush(true)
  assert.deepEqual(rest.map((b) => [b.startMs - T0, b.groups.map((g) => g.key.name).sort().join()]), [[10_000, 'a,late']])
  assert.deepEqual(stats.flush(true), [])
})

test('cardinality: the last group accepted, then the overflow group (tracer_blocked_value) for new keys', () => {
  const { tracer, memory, stats } = setup({ maxGroupsPerBucket: 3 })
  for (let i = 0; i < 5; i++) timed(tracer, 'op', T0 + 1, T0 + 2, { resource: `r${i}` })
  timed(tracer, 'op', T0 + 1, T0 + 2, { resource: 'r0' })
  for (const chunk of memory.chunks()) stats.addChunk(chunk)
  const [bucket] = stats.flush(true)
  const byResource = new Map(bucket.groups.map((g) => [g.key.resource, g]))
  assert.equal(byResource.get('r0')?.hits, 2, 'a known key still counts after the limit')
  assert.ok(byResource.has('r2'), 'the third key is the last accepted')
  assert.ok(!byResource.has('r3'), 'the fourth key is the first refused')
  const overflow = byResource.get(TRACER_BLOCKED_VALUE)
  assert.equal(overflow?.hits, 2)
  assert.equal(overflow.key.service, TRACER_BLOCKED_VALUE)
  assert.equal(overflow.key.isTraceRoot, Trilean.notSet)
  assert.equal(bucket.overflowSpans, 2)
  assert.equal(bucket.groups.length, 4)
})

test('cardinality: past 1024 resources in a bucket the resource is blocked, service and name kept', () => {
  const { tracer, memory, stats } = setup({ maxGroupsPerBucket: 5000 })
  for (let i = 0; i < 1026; i++) timed(tracer, 'op', T0 + 1, T0 + 2, { resource: `r${i}` })
  for (const chunk of memory.chunks()) stats.addChunk(chunk)
  const [bucket] = stats.flush(true)
  const blocked = bucket.groups.filter((g) => g.key.resource === TRACER_BLOCKED_VALUE)
  assert.equal(bucket.groups.length, 1025)
  assert.ok(bucket.groups.some((g) => g.key.resource === 'r1023'), 'the 1024th resource is the last accepted')
  assert.equal(blocked.length, 1)
  assert.equal(blocked[0].hits, 2)
  assert.equal(blocked[0].key.service, 'web')
  assert.equal(blocked[0].key.name, 'op')
})

test('spans with nonsense times still count (in the oldest open bucket, duration 0)', () => {
  const { tracer, memory, stats } = setup()
  const span = tracer.startSpan('odd', { childOf: null })
  span.finish()
  ;(span as { duration: number }).duration = Number.NaN
  for (const chunk of memory.chunks()) stats.addChunk(chunk)
  const g = only(stats.flush(true))
  assert.equal(g.hits, 1)
  assert.equal(g.durationNs, 0)
})
