// pg spans through instrumentPg(pg), against PostgreSQL 15: traced Fastify routes query through a pool,
// a client, a transaction and drizzle-orm, and the span trees in the local intake are checked.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { drizzle } from 'drizzle-orm/node-postgres'
import { sql } from 'drizzle-orm'
import { instrumentPg } from '@datadog-apm/core'
import { startPostgres, type DatabaseServer } from './support/servers/index.js'
import {
  assertChildOf,
  assertOneAfterOther,
  assertOwnSpanAroundAwait,
  assertSqlResource,
  commonTags,
  ownMeta,
  spansAroundAwait,
  spansNamed,
  startTracedApp,
  type TracedApp
} from './support/traced-app.js'

let server: DatabaseServer
let traced: TracedApp
let pool: pg.Pool
let tinyPool: pg.Pool
let client: pg.Client
let refused: pg.Pool

before(async () => {
  assert.equal(instrumentPg(pg), pg)
  // A second call changes nothing: each query still makes one span.
  instrumentPg(pg)
  server = await startPostgres()
  const config = { host: server.host, port: server.port, user: server.user, database: server.database }
  pool = new pg.Pool({ ...config, max: 4 })
  // One connection: the second of two concurrent requests waits for the first to release it.
  tinyPool = new pg.Pool({ ...config, max: 1 })
  refused = new pg.Pool({ ...config, port: 1, max: 1 })
  // A client still open when the server stops at the end reports it; that is no failure of the test.
  for (const each of [pool, tinyPool, refused]) each.on('error', () => {})
  client = new pg.Client(config)
  client.on('error', () => {})
  await client.connect()
  await pool.query('CREATE TABLE products (id INT PRIMARY KEY, name TEXT, stock INT)')
  await pool.query("INSERT INTO products VALUES (1, 'kettle', 3), (2, 'teapot', 0)")
  const db = drizzle({ client: pool })

  traced = await startTracedApp((app, tracer) => {
    app.get('/products/:id', async (request) => {
      const { rows } = await pool.query('SELECT id, name FROM products WHERE id = $1', [Number((request.params as { id: string }).id)])
      return rows[0] ?? null
    })
    app.get('/broken', async (_request, reply) => {
      try {
        await pool.query('SELECT nope FROM products')
        return 'unexpected'
      } catch (err) {
        return reply.code(500).send({ error: (err as Error).message })
      }
    })
    app.get('/order', async () => {
      const connection = await pool.connect()
      try {
        await connection.query('BEGIN')
        await connection.query('UPDATE products SET stock = stock - 1 WHERE id = 1')
        await connection.query('COMMIT')
      } finally {
        connection.release()
      }
      return 'ordered'
    })
    // Callback style: pg calls back from the socket's data event, the pool from whichever request
    // released the one connection. Both must run in their own request's context.
    app.get('/client/:n', (request, reply) => {
      const own = tracer.activeSpan()
      client.query('SELECT pg_sleep($1)', [Number((request.params as { n: string }).n) / 10], () => {
        void reply.send({ sameContext: tracer.activeSpan() === own })
      })
    })
    app.get('/pool/:n', (request, reply) => {
      const own = tracer.activeSpan()
      tinyPool.query('SELECT pg_sleep($1)', [Number((request.params as { n: string }).n) / 10], () => {
        void reply.send({ sameContext: tracer.activeSpan() === own })
      })
    })
    // Promise style on the one-connection pool: the request that waited gets the connection when the
    // other releases it, and after the await its own span is active again.
    app.get('/await/:n', (request) =>
      spansAroundAwait(tracer, () => tinyPool.query('SELECT pg_sleep($1)', [Number((request.params as { n: string }).n) / 10]), 'after.query')
    )
    app.get('/drizzle', async () => {
      const result = await db.execute(sql`SELECT name FROM products WHERE stock > ${0}`)
      return result.rows
    })
    app.get('/down', async (_request, reply) => {
      try {
        const connection = await refused.connect()
        connection.release()
        return 'unexpected'
      } catch (err) {
        return reply.code(503).send({ code: (err as { code?: string }).code })
      }
    })
  })
})

after(async () => {
  await traced?.close()
  await Promise.all([pool?.end(), tinyPool?.end(), refused?.end(), client?.end()])
  await server?.stop()
})

test('a query in a route: one pg.query span, child of the request, with the tags dd-trace sends', async () => {
  const { status, body, spans, root } = await traced.request('/products/1', 2)
  assert.equal(status, 200)
  assert.deepEqual(body, { id: 1, name: 'kettle' })
  const queries = spansNamed(spans, 'pg.query')
  assert.equal(queries.length, 1, 'instrumentPg twice still makes one span')
  const [span] = queries
  assert.ok(span)
  assertChildOf(span, root)
  assert.equal(span.service, 'shop-postgres')
  assert.equal(span.type, 'sql')
  assertSqlResource(span, 'SELECT id, name FROM products WHERE id = $1')
  assert.equal(span.error, 0)
  assert.deepEqual(ownMeta(span), { ...commonTags('pg', 'postgres', 'pg'), 'db.name': 'postgres', 'db.user': 'postgres' })
  assert.equal(span.metrics['network.destination.port'], server.port)
  assert.equal(typeof span.metrics['db.pid'], 'number')
  // pool.query() makes no acquire span, as with dd-trace.
  assert.deepEqual(spansNamed(spans, 'pg.pool.acquire'), [])
})

test('a failing query marks its span with the error and the app answers', async () => {
  const { status, spans, root } = await traced.request('/broken', 2)
  assert.equal(status, 500)
  const [span] = spansNamed(spans, 'pg.query')
  assert.ok(span)
  assertChildOf(span, root)
  assert.equal(span.error, 1)
  assert.equal(span.meta['error.type'], 'error')
  assert.match(span.meta['error.message'] ?? '', /column "nope" does not exist/)
})

test('a transaction on pool.connect(): a pg.pool.acquire span with its wait, then each statement', async () => {
  const { status, spans, root } = await traced.request('/order', 5)
  assert.equal(status, 200)
  const [acquire] = spansNamed(spans, 'pg.pool.acquire')
  assert.ok(acquire)
  assertChildOf(acquire, root)
  assert.equal(acquire.resource, 'pg.pool.acquire')
  assert.equal(acquire.type, 'sql')
  assert.equal(acquire.meta['span.kind'], 'client')
  assert.equal(typeof acquire.metrics['db.pool.wait_time_ms'], 'number')
  const statements = spansNamed(spans, 'pg.query')
  assert.equal(statements.length, 3)
  ;['BEGIN', 'UPDATE products SET stock = stock - 1 WHERE id = 1', 'COMMIT'].forEach((text, i) => assertSqlResource(statements[i] ?? root, text))
  for (const span of statements) assertChildOf(span, root)
})

test("a shared client and a one-connection pool: each query is its own request's child, callbacks in their own context", async () => {
  for (const route of ['/client', '/pool']) {
    const [first, second] = await Promise.all([traced.request(`${route}/3`, 2), traced.request(`${route}/1`, 2)])
    for (const { body, spans, root } of [first, second]) {
      assert.deepEqual(body, { sameContext: true }, route)
      const [span] = spansNamed(spans, 'pg.query')
      assert.ok(span, route)
      assertChildOf(span, root)
    }
  }
})

test("after awaiting a query on a one-connection pool, each request's own span is active again", async () => {
  const responses = await Promise.all([traced.request('/await/3', 3), traced.request('/await/1', 3)])
  assertOwnSpanAroundAwait(responses, 'after.query')
  for (const { spans, root } of responses) {
    const [query] = spansNamed(spans, 'pg.query')
    assert.ok(query)
    assertChildOf(query, root)
  }
  // The two queries ran one after the other on the one connection: it went from one request to the other.
  assertOneAfterOther(responses, 'pg.query')
})

test('queries of drizzle-orm on the instrumented pool are traced', async () => {
  const { body, spans, root } = await traced.request('/drizzle', 2)
  assert.deepEqual(body, [{ name: 'kettle' }])
  const [span] = spansNamed(spans, 'pg.query')
  assert.ok(span)
  assertChildOf(span, root)
  assertSqlResource(span, 'SELECT name FROM products WHERE stock > $1')
})

test('a connection refused: the app still answers, the acquire span says why', async () => {
  const { status, body, spans, root } = await traced.request('/down', 2)
  assert.equal(status, 503)
  assert.deepEqual(body, { code: 'ECONNREFUSED' })
  const [acquire] = spansNamed(spans, 'pg.pool.acquire')
  assert.ok(acquire)
  assertChildOf(acquire, root)
  assert.equal(acquire.error, 1)
  assert.match(acquire.meta['error.message'] ?? '', /ECONNREFUSED/)
})
