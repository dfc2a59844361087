// What the database servers need from the machine: their Debian packages, and an unprivileged user to run
// them as when the tests run as root (PostgreSQL and MariaDB refuse to run their server as root).
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, openSync, closeSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A server's programs and the Debian packages that bring them. */
export interface ServerPackage {
  /** As people call it: `PostgreSQL 15`. */
  readonly title: string
  /** Programs that must exist (absolute paths). */
  readonly programs: readonly string[]
  /** What `apt-get install` is given; the smallest packages that bring the programs. */
  readonly packages: readonly string[]
}

/** The user the servers run as when the tests run as root. */
export const SERVER_USER = 'datadog-apm-test'

// Two test files may start at once on a fresh machine: apt-get and useradd run under one lock (flock(1),
// from util-linux, which Debian always has), and the check for the programs is repeated inside it.
const LOCK = join(tmpdir(), 'datadog-apm-test-setup.lock')
const INSTALL_TIMEOUT_MS = 15 * 60_000

const isRoot = (): boolean => process.getuid?.() === 0

function missing(pkg: ServerPackage): string[] {
  return pkg.programs.filter((program) => !existsSync(program))
}

async function underLock(script: string, logName: string): Promise<{ code: number | null; log: string }> {
  const logDir = join(tmpdir(), 'datadog-apm-test-logs')
  mkdirSync(logDir, { recursive: true })
  const log = join(logDir, logName)
  const fd = openSync(log, 'w')
  try {
    const child = spawn('flock', [LOCK, 'sh', '-ec', script], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: INSTALL_TIMEOUT_MS
    })
    const [code] = (await once(child, 'exit')) as [number | null]
    return { code, log }
  } finally {
    closeSync(fd)
  }
}

/**
 * Makes sure the server's programs exist: installs its Debian packages with apt-get when they are missing
 * and the tests run as root; otherwise throws, saying what to install.
 */
export async function ensurePackage(pkg: ServerPackage): Promise<void> {
  const absent = missing(pkg)
  if (absent.length === 0) return
  const command = `apt-get update && apt-get install -y --no-install-recommends ${pkg.packages.join(' ')}`
  const what = `The database tests need ${pkg.title} (${absent.join(', ')} is missing): run \`${command}\` as root.`
  if (!isRoot()) throw new Error(`${what} Not installing it: the tests do not run as root.`)
  const tests = pkg.programs.map((program) => `[ -x ${program} ]`).join(' && ')
  const apt = '-q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o DPkg::Lock::Timeout=600'
  const script = `if ${tests}; then exit 0; fi; apt-get ${apt} update; apt-get ${apt} install -y --no-install-recommends ${pkg.packages.join(' ')}`
  const { code, log } = await underLock(script, `install-${pkg.packages[0] ?? 'server'}.log`)
  if (code !== 0 || missing(pkg).length > 0) {
    throw new Error(`${what} Installing it with apt-get failed (exit ${String(code)}); see ${log}`)
  }
}

/** The uid and gid to run servers as: undefined when the tests do not run as root (the servers run as us). */
export interface ServerIdentity {
  readonly uid: number
  readonly gid: number
}

function lookup(name: string): ServerIdentity | undefined {
  const result = spawnSync('getent', ['passwd', name], { encoding: 'utf8' })
  if (result.status !== 0) return undefined
  const fields = result.stdout.trim().split(':')
  const uid = Number(fields[2])
  const gid = Number(fields[3])
  return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined
}

let identity: Promise<ServerIdentity | undefined> | undefined

/** Creates the unprivileged server user once per machine when the tests run as root. */
export function serverIdentity(): Promise<ServerIdentity | undefined> {
  identity ??= (async () => {
    if (!isRoot()) return undefined
    const found = lookup(SERVER_USER)
    if (found !== undefined) return found
    const script = `getent passwd ${SERVER_USER} >/dev/null || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ${SERVER_USER}`
    const { code, log } = await underLock(script, 'useradd.log')
    const created = lookup(SERVER_USER)
    if (created === undefined) throw new Error(`could not create the user ${SERVER_USER} to run the database servers as (exit ${String(code)}); see ${log}`)
    return created
  })()
  return identity
}
