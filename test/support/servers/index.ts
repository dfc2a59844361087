// PostgreSQL 15, MariaDB 10.11 and Redis 7 from Debian's packages, one of each per test file that asks:
// `const pg = await startPostgres()` in a `before` hook, `await pg.stop()` in `after`. Each runs on a free
// 127.0.0.1 port with a throwaway data directory and settings that trade durability for start-up time.
import { startServer, type ServerProcess } from './server-process.js'
import { ensurePackage, serverIdentity, type ServerPackage } from './system.js'

export interface DatabaseServer {
  readonly host: '127.0.0.1'
  readonly port: number
  /** Empty for Redis. */
  readonly user: string
  /** Empty when the user has none (PostgreSQL trusts loopback here) and for Redis. */
  readonly password: string
  /** A database the user owns (empty for Redis). */
  readonly database: string
  /** The throwaway directory that holds its data. */
  readonly dataDir: string
  /** Milliseconds from creating the data directory to the server's ready line. */
  readonly startupMs: number
  /** Stops the server and removes its data; safe to call twice. */
  stop(this: void): Promise<void>
}

const PG_BIN = '/usr/lib/postgresql/15/bin'
export const POSTGRES: ServerPackage = {
  title: 'PostgreSQL 15',
  programs: [`${PG_BIN}/initdb`, `${PG_BIN}/postgres`],
  packages: ['postgresql-15']
}
export const MARIADB: ServerPackage = {
  title: 'MariaDB 10.11',
  programs: ['/usr/bin/mariadb-install-db', '/usr/sbin/mariadbd'],
  packages: ['mariadb-server-core', 'mariadb-client-core']
}
export const REDIS: ServerPackage = {
  title: 'Redis 7',
  programs: ['/usr/bin/redis-server'],
  packages: ['redis-server']
}

const PORT_TAKEN = /Address already in use/

async function start(pkg: ServerPackage, spec: Parameters<typeof startServer>[0]): Promise<ServerProcess> {
  await ensurePackage(pkg)
  return startServer(spec, await serverIdentity())
}

/** PostgreSQL 15 with user `postgres` trusted on loopback and its database `postgres`. */
export async function startPostgres(): Promise<DatabaseServer> {
  const server = await start(POSTGRES, {
    name: 'postgres',
    prepare: (dir) => [[`${PG_BIN}/initdb`, '-D', `${dir}/data`, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']],
    command: (port, dir) => [
      `${PG_BIN}/postgres`,
      '-D', `${dir}/data`,
      '-h', '127.0.0.1',
      '-p', String(port),
      '-k', '',
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      '-c', 'shared_buffers=16MB',
      '-c', 'max_connections=40'
    ],
    ready: /database system is ready to accept connections/,
    portTaken: PORT_TAKEN,
    // Fast shutdown: open connections are closed instead of waited for.
    stopSignal: 'SIGINT'
  })
  return { host: '127.0.0.1', port: server.port, user: 'postgres', password: '', database: 'postgres', dataDir: server.dataDir, startupMs: server.startupMs, stop: server.stop }
}

/** MariaDB 10.11 with user `test` (password `test`) owning database `test`. */
export async function startMariadb(): Promise<DatabaseServer> {
  const server = await start(MARIADB, {
    name: 'mariadb',
    files: {
      'init.sql': "CREATE USER 'test'@'%' IDENTIFIED BY 'test';\nCREATE DATABASE test;\nGRANT ALL PRIVILEGES ON *.* TO 'test'@'%';\n"
    },
    prepare: (dir) => [
      ['/usr/bin/mariadb-install-db', '--no-defaults', `--datadir=${dir}/data`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve', '--innodb-log-file-size=8M', '--innodb-buffer-pool-size=32M']
    ],
    command: (port, dir) => [
      '/usr/sbin/mariadbd',
      '--no-defaults',
      `--datadir=${dir}/data`,
      `--socket=${dir}/mariadb.sock`,
      `--pid-file=${dir}/mariadb.pid`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--skip-name-resolve',
      '--skip-log-bin',
      `--init-file=${dir}/init.sql`,
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=8M',
      '--innodb-flush-log-at-trx-commit=0',
      '--innodb-doublewrite=0',
      '--innodb-use-native-aio=0',
      '--performance-schema=0'
    ],
    ready: /ready for connections/,
    portTaken: PORT_TAKEN,
    stopSignal: 'SIGTERM'
  })
  return { host: '127.0.0.1', port: server.port, user: 'test', password: 'test', database: 'test', dataDir: server.dataDir, startupMs: server.startupMs, stop: server.stop }
}

/** Redis 7 with no persistence. */
export async function startRedis(): Promise<DatabaseServer> {
  const server = await start(REDIS, {
    name: 'redis',
    command: (port, dir) => [
      '/usr/bin/redis-server',
      '--bind', '127.0.0.1',
      '--port', String(port),
      '--dir', dir,
      '--save', '',
      '--appendonly', 'no',
      '--protected-mode', 'no',
      '--daemonize', 'no'
    ],
    ready: /Ready to accept connections/,
    portTaken: PORT_TAKEN,
    stopSignal: 'SIGTERM'
  })
  return { host: '127.0.0.1', port: server.port, user: '', password: '', database: '', dataDir: server.dataDir, startupMs: server.startupMs, stop: server.stop }
}
