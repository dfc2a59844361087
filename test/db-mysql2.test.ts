// mysql2 spans from the driver's own diagnostics channels, against MariaDB 10.11: a traced Fastify route
// queries, and the span tree that reached the local intake is checked.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import mysql from 'mysql2'
import type { Pool, RowDataPacket } from 'mysql2'
import { startMariadb, type DatabaseServer } from './support/servers/index.js'
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
let pool: Pool
let tinyPool: Pool
let refused: Pool

function query(on: Pool, sql: string, values?: unknown[]): Promise<RowDataPacket[]> {
  return new Promise((resolve, reject) => {
    on.query<RowDataPacket[]>(sql, values, (err, rows) => (err ? reject(err) : resolve(rows)))
  })
}

before(async () => {
  server = await startMariadb()
  const config = { host: server.host, port: server.port, user: server.user, password: server.password, database: server.database }
  pool = mysql.createPool({ ...config, connectionLimit: 4 })
  // One connection: the second of two concurrent requests waits for the first to release it.
  tinyPool = mysql.createPool({ ...config, connectionLimit: 1 })
  // A port nothing listens on: the server's, after a probe closed it, is too racy; 1 is never served.
  refused = mysql.createPool({ ...config, port: 1, connectionLimit: 1 })
  await query(pool, 'CREATE TABLE products (id INT PRIMARY KEY, name VARCHAR(40), stock INT)')
  await query(pool, "INSERT INTO products VALUES (1, 'kettle', 3), (2, 'teapot', 0)")

  traced = await startTracedApp((app, tracer) => {
    app.get('/products/:id', async (request) => {
      const rows = await query(pool, 'SELECT id, name FROM products WHERE id = ?', [Number((request.params as { id: string }).id)])
      return rows[0] ?? null
    })
    app.get('/prepared/:id', async (request) => {
      const [rows] = await pool.promise().execute<RowDataPacket[]>('SELECT name FROM products WHERE id = ?', [Number((request.params as { id: string }).id)])
      return rows[0] ?? null
    })
    app.get('/broken', async (_request, reply) => {
      try {
        await query(pool, 'SELECT nope FROM products')
        return 'unexpected'
      } catch (err) {
        return reply.code(500).send({ error: (err as Error).message })
      }
    })
    app.get('/order', async () => {
      const connection = await pool.promise().getConnection()
      try {
        await connection.beginTransaction()
        await connection.query('UPDATE products SET stock = stock - 1 WHERE id = 1')
        await connection.commit()
      } finally {
        connection.release()
      }
      return 'ordered'
    })
    // Callback style on a one-connection pool: the callback must run in its own request's context even
    // when the connection it waited for was released by another request.
    app.get('/slow/:n', (request, reply) => {
      const own = tracer.activeSpan()
      tinyPool.query('SELECT SLEEP(?) AS s', [Number((request.params as { n: string }).n) / 10], () => {
        void reply.send({ sameContext: tracer.activeSpan() === own })
      })
    })
    // Promise style on the same pool: after the await, the request's own span is active again.
    app.get('/await/:n', (request) =>
      spansAroundAwait(tracer, () => tinyPool.promise().query('SELECT SLEEP(?) AS s', [Number((request.params as { n: string }).n) / 10]), 'after.query')
    )
    app.get('/down', async (_request, reply) => {
      try {
        await query(refused, 'SELECT 1')
        return 'unexpected'
      } catch (err) {
        return reply.code(503).send({ code: (err as { code?: string }).code })
      }
    })
  })
})

after(async () => {
  await traced?.close()
  await Promise.all([pool?.promise().end(), tinyPool?.promise().end(), refused?.promise().end()])
  await server?.stop()
})

test('a query in a route: one mysql.query span, child of the request, with the tags dd-trace sends', async () => {
  const { status, body, spans, root } = await traced.request('/products/1', 3)
  assert.equal(status, 200)
  assert.deepEqual(body, { id: 1, name: 'kettle' })
  const [span] = spansNamed(spans, 'mysql.query')
  assert.ok(span)
  assertChildOf(span, root)
  assert.equal(span.service, 'shop-mysql')
  assert.equal(span.type, 'sql')
  // query() formats the values into the SQL on the client: the resource holds the literal, as dd-trace's.
  assertSqlResource(span, 'SELECT id, name FROM products WHERE id = 1')
  assert.equal(span.error, 0)
  assert.deepEqual(ownMeta(span), { ...commonTags('mysql2', 'mysql', 'mysql'), 'db.name': 'test' })
  assert.equal(span.metrics['network.destination.port'], server.port)
  assert.equal(span.metrics['_dd.measured'], 1)
  for (const never of ['db.statement', 'db.system', 'db.instance', 'db.row_count', 'peer.service']) assert.equal(span.meta[never], undefined, never)
  // The pool's acquire is a span of its own here (dd-trace puts a pool.query's wait on the query span).
  const [acquire] = spansNamed(spans, 'mysql2.pool.acquire')
  assert.ok(acquire)
  assertChildOf(acquire, root)
  assert.equal(typeof acquire.metrics['mysql2.pool.wait_time'], 'number')
})

test('execute() keeps the placeholders in the resource', async () => {
  const { body, spans, root } = await traced.request('/prepared/2', 3)
  assert.deepEqual(body, { name: 'teapot' })
  const [span] = spansNamed(spans, 'mysql.query')
  assert.ok(span)
  assertChildOf(span, root)
  assertSqlResource(span, 'SELECT name FROM products WHERE id = ?')
})

test('a failing query marks its span with the error and the app answers', async () => {
  const { status, spans, root } = await traced.request('/broken', 3)
  assert.equal(status, 500)
  const [span] = spansNamed(spans, 'mysql.query')
  assert.ok(span)
  assertChildOf(span, root)
  assert.equal(span.error, 1)
  assert.match(span.meta['error.message'] ?? '', /Unknown column 'nope'/)
  assert.equal(span.meta['error.type'], 'Error')
  assert.ok(span.meta['error.stack'])
})

test('a transaction on an explicitly acquired connection: acquire, then each statement', async () => {
  const { status, spans, root } = await traced.request('/order', 5)
  assert.equal(status, 200)
  const [acquire] = spansNamed(spans, 'mysql2.pool.acquire')
  assert.ok(acquire)
  assertChildOf(acquire, root)
  assert.equal(acquire.resource, 'mysql2.pool.acquire')
  const statements = spansNamed(spans, 'mysql.query')
  assert.equal(statements.length, 3)
  ;['START TRANSACTION', 'UPDATE products SET stock = stock - 1 WHERE id = 1', 'COMMIT'].forEach((sql, i) => assertSqlResource(statements[i], sql))
  for (const span of statements) assertChildOf(span, root)
})

test("two requests sharing one connection: each query is its own request's child, callbacks in their own context", async () => {
  const [first, second] = await Promise.all([traced.request('/slow/3', 3), traced.request('/slow/1', 3)])
  for (const { body, spans, root } of [first, second]) {
    assert.deepEqual(body, { sameContext: true })
    const [span] = spansNamed(spans, 'mysql.query')
    assert.ok(span)
    assertChildOf(span, root)
  }
})

test("after awaiting a query on a one-connection pool, each request's own span is active again", async () => {
  const responses = await Promise.all([traced.request('/await/3', 4), traced.request('/await/1', 4)])
  assertOwnSpanAroundAwait(responses, 'after.query')
  for (const { spans, root } of responses) {
    const [query] = spansNamed(spans, 'mysql.query')
    assert.ok(query)
    assertChildOf(query, root)
  }
  // The two queries ran one after the other on the one connection: it went from one request to the other.
  assertOneAfterOther(responses, 'mysql.query')
})

test('a connection refused: the app still answers, the acquire span says why', async () => {
  const { status, body, spans, root } = await traced.request('/down', 2)
  assert.equal(status, 503)
  assert.deepEqual(body, { code: 'ECONNREFUSED' })
  const failed = spans.filter((s) => s.error === 1 && s !== root)
  assert.ok(failed.length > 0, spans.map((s) => `${s.name} ${s.error}`).join(', '))
  for (const span of failed) {
    assert.equal(span.parent_id === root.span_id || spans.some((s) => s.span_id === span.parent_id), true)
    assert.match(span.meta['error.message'] ?? '', /ECONNREFUSED/)
  }
})
