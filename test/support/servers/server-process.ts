// One database server process for a test file: started on a free loopback port in a throwaway data
// directory, ready when it says so in its log, stopped (and its directory removed) by `stop()` or, if the
// test process exits first, by an exit hook.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createHash } from 'node:crypto'
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { ServerIdentity } from './system.js'

export interface ServerProcess {
  readonly port: number
  readonly dataDir: string
  /** Milliseconds from the first setup step to the ready line (installation not counted). */
  readonly startupMs: number
  /** Stops the server and removes its data directory; safe to call twice. */
  stop(this: void): Promise<void>
}

export interface ServerSpec {
  /** For messages: `postgres`. */
  readonly name: string
  /** Files written into the data directory before anything runs, by name. */
  readonly files?: Readonly<Record<string, string>>
  /**
   * Setup steps run (as the server's user) given a directory: initdb and the like. They run once per
   * machine into a template that each server's data directory is copied from.
   */
  readonly prepare?: (dataDir: string) => readonly (readonly string[])[]
  /** The server's command line for a port and data directory. */
  readonly command: (port: number, dataDir: string) => readonly string[]
  /** A line of the server's output that says it accepts connections. */
  readonly ready: RegExp
  /** A line that says the port was taken between our probe and the server's bind: start again on another. */
  readonly portTaken: RegExp
  /** The signal that stops the server quickly (its data is thrown away). */
  readonly stopSignal: NodeJS.Signals
}

const READY_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 10_000
const KEEP_OUTPUT = 8192

const running = new Set<{ child: ChildProcess; dataDir: string }>()
let exitHook = false

/** A test process that ends without stopping its servers (a failed hook, a timeout) still stops them. */
function installExitHook(): void {
  if (exitHook) return
  exitHook = true
  process.once('exit', () => {
    for (const server of running) {
      server.child.kill('SIGKILL')
      rmSync(server.dataDir, { recursive: true, force: true })
    }
  })
}

async function freePort(): Promise<number> {
  const probe = createServer()
  probe.listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const address = probe.address()
  probe.close()
  await once(probe, 'close')
  if (address === null || typeof address === 'string') throw new Error('no port from a probe server')
  return address.port
}

async function runStep(argv: readonly string[], identity: ServerIdentity | undefined, name: string): Promise<void> {
  const [command = '', ...args] = argv
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], uid: identity?.uid, gid: identity?.gid, cwd: '/', timeout: READY_TIMEOUT_MS })
  let output = ''
  const keep = (chunk: string): void => {
    output = (output + chunk).slice(-KEEP_OUTPUT)
  }
  child.stdout.setEncoding('utf8').on('data', keep)
  child.stderr.setEncoding('utf8').on('data', keep)
  const [code, signal] = (await Promise.race([once(child, 'exit'), once(child, 'error').then(([err]) => [String(err), null])])) as [number | string | null, string | null]
  if (code !== 0) throw new Error(`${name}: \`${argv.join(' ')}\` failed (${signal ?? String(code)}):\n${output}`)
}

interface Started {
  child: ChildProcess
  portTaken: boolean
}

function waitReady(child: ChildProcess, spec: ServerSpec, output: { text: string }): Promise<Started> {
  return new Promise((resolve, reject) => {
    let done = false
    const timer = setTimeout(() => settle(new Error(`${spec.name} did not say it was ready within ${READY_TIMEOUT_MS} ms:\n${output.text}`)), READY_TIMEOUT_MS)
    const settle = (result: Started | Error): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      if (result instanceof Error) reject(result)
      else resolve(result)
    }
    const onData = (chunk: string): void => {
      output.text = (output.text + chunk).slice(-KEEP_OUTPUT)
      if (spec.ready.test(output.text)) settle({ child, portTaken: false })
    }
    child.stdout?.setEncoding('utf8').on('data', onData)
    child.stderr?.setEncoding('utf8').on('data', onData)
    child.once('error', (err) => settle(new Error(`${spec.name} could not be started: ${err.message}`)))
    child.once('exit', (code, signal) => {
      if (spec.portTaken.test(output.text)) settle({ child, portTaken: true })
      else settle(new Error(`${spec.name} exited (${signal ?? String(code)}) before it was ready:\n${output.text}`))
    })
  })
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
  await exited
  clearTimeout(timer)
}

// Memory when the machine has /dev/shm: the servers' files are thrown away, and on a busy disk writing them
// was most of the start-up time. /tmp otherwise; not os.tmpdir(), which may sit where the servers' user
// cannot reach it, and unix socket paths (MariaDB's) are limited to about 100 bytes.
const BASE = existsSync('/dev/shm') ? '/dev/shm' : '/tmp'
// One folder of templates per user who runs the tests: root's templates belong to the servers' user.
const TEMPLATES = join(BASE, `datadog-apm-test-templates-${process.getuid?.() ?? 0}`)

/**
 * The data directory `prepare` makes, made once per machine and copied for each server: initdb and
 * mariadb-install-db take 1 to 3 s each, a copy about 0.1 s. The name holds a hash of the steps and of
 * the programs' dates, so a changed command or an upgraded package makes a new one. Two test files that
 * make it at once each build their own and the first rename wins.
 */
async function templateOf(spec: ServerSpec, prepare: (dir: string) => readonly (readonly string[])[], identity: ServerIdentity | undefined): Promise<string> {
  const hash = createHash('sha256').update(JSON.stringify(prepare('<dir>')))
  for (const step of prepare('<dir>')) hash.update(String(statSync(step[0] ?? '').mtimeMs))
  const template = join(TEMPLATES, `${spec.name}-${hash.digest('hex').slice(0, 16)}`)
  if (existsSync(template)) return template
  mkdirSync(TEMPLATES, { recursive: true, mode: 0o755 })
  const building = mkdtempSync(`${template}.building-`)
  try {
    chmodSync(building, 0o755)
    if (identity !== undefined) chownSync(building, identity.uid, identity.gid)
    for (const step of prepare(building)) await runStep(step, identity, spec.name)
    try {
      renameSync(building, template)
    } catch (err) {
      if (!existsSync(template)) throw err
    }
  } finally {
    rmSync(building, { recursive: true, force: true })
  }
  return template
}

/** Starts `spec` as `identity` (or as this process's user) and resolves once it accepts connections. */
export async function startServer(spec: ServerSpec, identity: ServerIdentity | undefined): Promise<ServerProcess> {
  installExitHook()
  const began = performance.now()
  const dataDir = mkdtempSync(join(BASE, `datadog-apm-${spec.name}-`))
  if (identity !== undefined) chownSync(dataDir, identity.uid, identity.gid)
  const entry = { child: undefined as unknown as ChildProcess, dataDir }
  try {
    for (const [name, text] of Object.entries(spec.files ?? {})) {
      writeFileSync(join(dataDir, name), text)
      if (identity !== undefined) chownSync(join(dataDir, name), identity.uid, identity.gid)
    }
    if (spec.prepare !== undefined) {
      const template = await templateOf(spec, spec.prepare, identity)
      await runStep(['cp', '-a', `${template}/.`, dataDir], identity, spec.name)
    }
    for (let attempt = 1; ; attempt++) {
      const port = await freePort()
      const [command = '', ...args] = spec.command(port, dataDir)
      const output = { text: '' }
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], uid: identity?.uid, gid: identity?.gid, cwd: '/' })
      entry.child = child
      running.add(entry)
      const started = await waitReady(child, spec, output).catch(async (err: unknown) => {
        await stopChild(child, 'SIGKILL')
        throw err
      })
      if (started.portTaken && attempt < 3) continue
      if (started.portTaken) throw new Error(`${spec.name} found its port taken three times:\n${output.text}`)
      const startupMs = performance.now() - began
      // The server keeps writing its log; nobody reads it any more.
      child.stdout?.resume()
      child.stderr?.resume()
      let stopping: Promise<void> | undefined
      return {
        port,
        dataDir,
        startupMs,
        stop: () =>
          (stopping ??= (async () => {
            await stopChild(child, spec.stopSignal)
            running.delete(entry)
            rmSync(dataDir, { recursive: true, force: true })
          })())
      }
    }
  } catch (err) {
    running.delete(entry)
    rmSync(dataDir, { recursive: true, force: true })
    throw err
  }
}
