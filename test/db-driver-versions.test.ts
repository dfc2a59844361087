// The oldest driver versions traced (the latest are tested in db-mysql2, db-redis and db-pg): mysql2
// 3.20, ioredis 5.11 and @redis/client 5.12, the first to publish their tracing channels, and pg 8.0.
// Each runs a query in a traced route; its span is the request's child with the driver's tags.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { after, before, test } from 'node:test'
import { Redis as Redis5 } from 'ioredis-5'
import mysql from 'mysql2-3-20'
import type { Pool as MysqlPool, RowDataPacket } from 'mysql2-3-20'
import { createClient } from 'redis-client-5'
import { instrumentPg, type PgModule } from '@datadog-apm/core'
import { startMariadb, startPostgres, startRedis, type DatabaseServer } from './support/servers/index.js'
import { assertChildOf, spansNamed, startTracedApp, type TracedApp } from './support/traced-app.js'

// pg 8.0 ships no types; this is the little of it used here.
interface OldPg extends PgModule {
  Client: { prototype: object } & (new (config: object) => OldPgClient)
}
interface OldPgClient {
  connect(): Promise<void>
  query(text: string): Promise<{ rows: unknown[] }>
  end(): Promise<void>
  on(event: 'error', listener: () => void): void
}
const pg = createRequire(import.meta.url)('pg-8-0') as OldPg

let servers: DatabaseServer[] = []
let traced: TracedApp
let mysqlPool: MysqlPool
let io: Redis5
let node: ReturnType<typeof createClient>
let pgClient: OldPgClient

before(async () => {
  const [mariadb, redis, postgres] = await Promise.all([startMariadb(), startRedis(), startPostgres()])
  servers = [mariadb, redis, postgres]
  mysqlPool = mysql.createPool({ host: mariadb.host, port: mariadb.port, user: mariadb.user, password: mariadb.password, database: mariadb.database })
  io = new Redis5({ host: redis.host, port: redis.port, lazyConnect: true })
  await io.connect()
  node = createClient({ socket: { host: redis.host, port: redis.port } })
  node.on('error', () => {})
  await node.connect()
  instrumentPg(pg)
  // One client, not a pool: pg 8.0's Pool.end() resolves before its connections have closed, so the
  // server's shutdown reached a connection still open and failed the file (CI, stop 27). Client.end()
  // resolves once the connection has ended.
  pgClient = new pg.Client({ host: postgres.host, port: postgres.port, user: postgres.user, database: postgres.database })
  pgClient.on('error', () => {})
  await pgClient.connect()
  traced = await startTracedApp((app) => {
    app.get('/mysql2', async () => {
      const [rows] = await mysqlPool.promise().query<RowDataPacket[]>('SELECT 1 AS one')
      return rows
    })
    app.get('/ioredis', async () => ({ value: await io.get('missing') }))
    app.get('/node-redis', async () => ({ value: await node.get('missing') }))
    app.get('/pg', async () => (await pgClient.query('SELECT 1 AS one')).rows)
  })
})

after(async () => {
  await traced?.close()
  io?.disconnect()
  await node?.quit()
  await Promise.all([mysqlPool?.promise().end(), pgClient?.end()])
  await Promise.all(servers.map((server) => server.stop()))
})

for (const [route, name, component] of [
  ['/mysql2', 'mysql.query', 'mysql2'],
  ['/ioredis', 'redis.command', 'ioredis'],
  ['/node-redis', 'redis.command', 'redis'],
  ['/pg', 'pg.query', 'pg']
] as const) {
  test(`${component} at its oldest traced version: a ${name} span, child of the request`, async () => {
    const { status, spans, root } = await traced.request(route, 2)
    assert.equal(status, 200)
    const [span] = spansNamed(spans, name)
    assert.ok(span, spans.map((s) => s.name).join(', '))
    assertChildOf(span, root)
    assert.equal(span.meta.component, component)
    assert.equal(span.meta['span.kind'], 'client')
    assert.equal(span.meta['out.host'], '127.0.0.1')
    assert.equal(span.error, 0)
  })
}
