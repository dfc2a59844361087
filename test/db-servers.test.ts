// The database servers the integration tests run against: each starts on a free loopback port, answers its
// driver, runs as an unprivileged user when the tests run as root, and leaves nothing behind when stopped.
import assert from 'node:assert/strict'
import { readFileSync, existsSync } from 'node:fs'
import { connect } from 'node:net'
import { after, before, test } from 'node:test'
import pg from 'pg'
import mysql from 'mysql2/promise'
import { Redis } from 'ioredis'
import { SERVER_USER } from './support/servers/system.js'
import { startMariadb, startPostgres, startRedis, type DatabaseServer } from './support/servers/index.js'

let postgres: DatabaseServer
let mariadb: DatabaseServer
let redis: DatabaseServer

before(async () => {
  const began = performance.now()
  ;[postgres, mariadb, redis] = await Promise.all([startPostgres(), startMariadb(), startRedis()])
  // Reported with the run so a slow start shows in CI logs.
  process.stdout.write(
    `# servers up in ${Math.round(performance.now() - began)} ms (postgres ${Math.round(postgres.startupMs)}, mariadb ${Math.round(mariadb.startupMs)}, redis ${Math.round(redis.startupMs)})\n`
  )
}, { timeout: 20 * 60_000 })

after(async () => {
  await Promise.all([postgres?.stop(), mariadb?.stop(), redis?.stop()])
})

/** The user a listening server process runs as, from /proc: its uid, and whether it is root. */
function ownerOf(port: number): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  const row = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find((fields) => fields[1]?.endsWith(`:${hexPort}`) === true && fields[3] === '0A')
  return row === undefined ? undefined : Number(row[7])
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', () => resolve(true))
  })
}

test('PostgreSQL 15 answers pg on its port', async () => {
  const client = new pg.Client({ host: postgres.host, port: postgres.port, user: postgres.user, database: postgres.database })
  await client.connect()
  try {
    const { rows } = await client.query<{ version: string }>('SELECT version()')
    assert.match(rows[0]?.version ?? '', /^PostgreSQL 15\./)
  } finally {
    await client.end()
  }
})

test('MariaDB 10.11 answers mysql2 as its test user', async () => {
  const connection = await mysql.createConnection({ host: mariadb.host, port: mariadb.port, user: mariadb.user, password: mariadb.password, database: mariadb.database })
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT VERSION() AS version, DATABASE() AS db')
    assert.match(String(rows[0]?.version), /^10\.11\./)
    assert.equal(rows[0]?.db, 'test')
  } finally {
    await connection.end()
  }
})

test('Redis 7 answers ioredis', async () => {
  const client = new Redis({ host: redis.host, port: redis.port, lazyConnect: true, maxRetriesPerRequest: 0 })
  await client.connect()
  try {
    assert.match(await client.info('server'), /redis_version:7\./)
  } finally {
    client.disconnect()
  }
})

test('as root, the servers run as the unprivileged test user', { skip: process.getuid?.() !== 0 && 'the tests do not run as root' }, () => {
  const uid = Number(readFileSync('/etc/passwd', 'utf8').split('\n').find((line) => line.startsWith(`${SERVER_USER}:`))?.split(':')[2])
  assert.ok(Number.isInteger(uid) && uid > 0)
  for (const server of [postgres, mariadb, redis]) assert.equal(ownerOf(server.port), uid, `the server on ${server.port}`)
})

test('stop() closes the port and removes the data directory, and may be called again', async () => {
  const extra = await startRedis()
  assert.equal(await refused(extra.port), false)
  await extra.stop()
  await extra.stop()
  assert.equal(await refused(extra.port), true)
  assert.equal(existsSync(extra.dataDir), false)
})
