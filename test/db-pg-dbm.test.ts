// The Database Monitoring comment reaches PostgreSQL: with DBM in full mode, the server sees each query
// with the comment that names the service and carries the query span's traceparent.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { instrumentPg } from '@datadog-apm/core'
import { startPostgres, type DatabaseServer } from './support/servers/index.js'
import { assertChildOf, spansNamed, startTracedApp, type TracedApp } from './support/traced-app.js'

let server: DatabaseServer
let traced: TracedApp
let pool: pg.Pool

before(async () => {
  instrumentPg(pg)
  server = await startPostgres()
  pool = new pg.Pool({ host: server.host, port: server.port, user: server.user, database: server.database })
  pool.on('error', () => {})
  traced = await startTracedApp(
    (app) => {
      // current_query() answers the text the server received, comment included.
      app.get('/seen', async () => (await pool.query<{ q: string }>('SELECT current_query() AS q')).rows[0]?.q)
      app.get('/named', async () => (await pool.query<{ q: string }>({ name: 'seen', text: 'SELECT current_query() AS q' })).rows[0]?.q)
    },
    { version: '3.1.4', integrations: { pg: { dbmPropagationMode: 'full' } } }
  )
})

after(async () => {
  await traced?.close()
  await pool?.end()
  await server?.stop()
})

test('full mode: the server receives the service keys and the traceparent of the query span', async () => {
  const { body, spans, root } = await traced.request('/seen', 2)
  const [span] = spansNamed(spans, 'pg.query')
  assert.ok(span)
  assertChildOf(span, root)
  const traceId = (span.meta['_dd.p.tid'] ?? root.meta['_dd.p.tid'] ?? '') + span.trace_id.toString(16).padStart(16, '0')
  const spanId = span.span_id.toString(16).padStart(16, '0')
  assert.equal(
    body,
    `/*dddb='postgres',dddbs='shop-postgres',dde='test',ddh='127.0.0.1',ddps='shop',ddpv='3.1.4',traceparent='00-${traceId}-${spanId}-01'*/ SELECT current_query() AS q`
  )
  assert.equal(span.meta['_dd.dbm_trace_injected'], 'true')
  assert.equal(span.resource.includes('dddb'), false, 'the resource has no comment')
})

test('a named prepared statement gets the service keys only', async () => {
  const { body } = await traced.request('/named', 2)
  assert.equal(body, "/*dddb='postgres',dddbs='shop-postgres',dde='test',ddh='127.0.0.1',ddps='shop',ddpv='3.1.4'*/ SELECT current_query() AS q")
})
