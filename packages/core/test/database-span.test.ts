import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import type { TracerOptions } from '../src/tracer/options.js'
import { DATABASE_KINDS, DatabaseTracing } from '../src/integrations/database-span.js'
import { rawCommand } from '../src/integrations/redis-command.js'
import { InMemoryExporter } from '../src/testing.js'
import { CoreTracer } from '../src/tracer/tracer.js'

function tracerFor(t: TestContext, options: TracerOptions = {}): CoreTracer {
  const tracer = new CoreTracer({ service: 'Shop', exporter: new InMemoryExporter(), flushOnExit: false, integrations: { mysql2: false, ioredis: false, redis: false }, ...options })
  t.after(() => tracer.shutdown())
  return tracer
}

test('schema v0: dd-trace names and services, the service source and the base service', (t) => {
  const tracer = tracerFor(t)
  const pg = new DatabaseTracing(tracer, DATABASE_KINDS.pg, {}).start('SELECT 1', 'db.internal', 5432, 'orders')
  assert.ok(pg)
  assert.equal(pg.name, 'pg.query')
  assert.equal(pg.service, 'Shop-postgres')
  assert.equal(pg.type, 'sql')
  assert.equal(pg.resource, 'SELECT 1')
  assert.deepEqual(pg.meta, {
    'span.kind': 'client',
    component: 'pg',
    '_dd.integration': 'pg',
    'db.type': 'postgres',
    '_dd.base_service': 'shop',
    '_dd.svc_src': 'pg',
    'db.name': 'orders',
    'out.host': 'db.internal'
  })
  assert.deepEqual(pg.metrics, { '_dd.measured': 1, 'network.destination.port': 5432 })
  const redis = new DatabaseTracing(tracer, DATABASE_KINDS.ioredis, {}).start('get', 'cache', 6379, undefined)
  assert.equal(redis?.name, 'redis.command')
  assert.equal(redis?.service, 'Shop-redis')
  assert.equal(redis?.meta['_dd.svc_src'], 'redis')
  assert.equal(new DatabaseTracing(tracer, DATABASE_KINDS.mysql2, {}).start('SELECT 1', 'h', 3306, 'd')?.meta['_dd.svc_src'], 'mysql')
})

test('schema v1: the tracer service, no service tags, peer.service from the database or the host', (t) => {
  const tracer = tracerFor(t, { spanAttributeSchema: 'v1' })
  const pg = new DatabaseTracing(tracer, DATABASE_KINDS.pg, {})
  assert.equal(pg.acquireName, 'postgresql.pool.acquire')
  const span = pg.start('SELECT 1', 'db.internal', 5432, 'orders')
  assert.ok(span)
  assert.equal(span.name, 'postgresql.query')
  assert.equal(span.service, 'Shop')
  assert.equal(span.meta['_dd.base_service'], undefined)
  assert.equal(span.meta['_dd.svc_src'], undefined)
  assert.equal(span.meta['peer.service'], 'orders')
  assert.equal(span.meta['_dd.peer.service.source'], 'db.name')
  const redis = new DatabaseTracing(tracer, DATABASE_KINDS.redis, {}).start('GET', 'cache.internal', 6379, undefined)
  assert.equal(redis?.meta['peer.service'], 'cache.internal')
  assert.equal(redis?.meta['_dd.peer.service.source'], 'out.host')
})

test('the service of a parent span with another service is not inherited', (t) => {
  const tracer = tracerFor(t, { spanAttributeSchema: 'v1' })
  const span = tracer.trace('web.request', { service: 'frontend' }, () => new DatabaseTracing(tracer, DATABASE_KINDS.pg, {}).start('SELECT 1', 'h', 1, 'd'))
  assert.equal(span?.service, 'Shop')
})

test('a service option wins in both schemas and is its own source; the peer mapping renames', (t) => {
  const tracer = tracerFor(t, { peerServiceDefaults: true, peerServiceMapping: { orders: 'orders-db' } })
  const span = new DatabaseTracing(tracer, DATABASE_KINDS.pg, { service: 'pg-main' }).start('SELECT 1', 'h', 5432, 'orders')
  assert.equal(span?.service, 'pg-main')
  assert.equal(span?.meta['_dd.svc_src'], 'opt.plugin')
  assert.equal(span?.meta['peer.service'], 'orders-db')
  assert.equal(span?.meta['_dd.peer.service.remapped_from'], 'orders')
})

test('DD_TRACE_REMOVE_INTEGRATION_SERVICE_NAMES_ENABLED keeps v0 names with the tracer service', (t) => {
  process.env.DD_TRACE_REMOVE_INTEGRATION_SERVICE_NAMES_ENABLED = 'true'
  t.after(() => delete process.env.DD_TRACE_REMOVE_INTEGRATION_SERVICE_NAMES_ENABLED)
  const tracer = tracerFor(t)
  const span = new DatabaseTracing(tracer, DATABASE_KINDS.pg, {}).start('SELECT 1', 'h', 5432, 'orders')
  assert.equal(span?.name, 'pg.query')
  assert.equal(span?.service, 'Shop')
  assert.equal(span?.meta['_dd.svc_src'], undefined)
})

test('no span while the tracer is off or shut down', async (t) => {
  const off = tracerFor(t, { enabled: false })
  assert.equal(new DatabaseTracing(off, DATABASE_KINDS.pg, {}).start('SELECT 1', 'h', 1, 'd'), undefined)
  const tracer = tracerFor(t)
  const tracing = new DatabaseTracing(tracer, DATABASE_KINDS.pg, {})
  await tracer.shutdown()
  assert.equal(tracing.start('SELECT 1', 'h', 1, 'd'), undefined)
})

test("redis.raw_command by dd-trace's rules", () => {
  assert.equal(rawCommand('set', ['key', '?'], 0), 'SET key ?')
  assert.equal(rawCommand('GET', ['GET', 'key'], 1), 'GET key')
  assert.equal(rawCommand('auth', ['user', 'secret'], 0), 'AUTH')
  assert.equal(rawCommand('expire', ['k', 10, Buffer.from('x'), { a: 1 }], 0), 'EXPIRE k 10 ? ?')
  const long = 'x'.repeat(101)
  assert.equal(rawCommand('get', ['x'.repeat(100)], 0), 'GET ' + 'x'.repeat(100), 'the last length kept')
  assert.equal(rawCommand('get', [long], 0), 'GET ' + 'x'.repeat(97) + '...', 'the first length cut')
  const many = rawCommand('mget', Array.from({ length: 20 }, () => 'y'.repeat(100)), 0)
  assert.equal(many.length, 1000)
  assert.ok(many.endsWith('...'))
  const nine = Array.from({ length: 9 }, () => 'z'.repeat(100))
  const exactly = rawCommand('mget', [...nine, 'z'.repeat(86)], 0)
  assert.equal(exactly.length, 1000)
  assert.ok(exactly.endsWith('z'), 'a command of 1000 characters is kept whole')
  const over = rawCommand('mget', [...nine, 'z'.repeat(87)], 0)
  assert.equal(over, exactly.slice(0, 997) + '...', 'one more is cut')
  assert.equal(rawCommand('get', undefined, 0), 'GET')
})
