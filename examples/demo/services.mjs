// Starts one example service as a child process, shows its output with a prefix, and reads the two
// lines the demo needs from it: the one saying where it listens, and the health line it prints when it
// stops.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { paint } from './style.mjs'

// The api starts its PGlite database first: seconds of CPU the first time on a busy 2-core machine.
const READY_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 10_000

export async function startService({ name, script, env, color, print }) {
  const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const prefix = paint(color, `${name.padEnd(4)}│`)
  const stderrTail = []
  let health
  let resolveReady
  let rejectReady
  const ready = new Promise((resolve, reject) => {
    resolveReady = resolve
    rejectReady = reject
  })
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))

  createInterface({ input: child.stdout }).on('line', (line) => {
    const record = parseJson(line)
    if (record?.demo === 'health') {
      health = record.health
      return
    }
    print(`${prefix} ${paint('dim', line)}`)
    const message = record?.message ?? record?.msg
    if (typeof record?.port === 'number' && typeof message === 'string' && message.endsWith('listening')) {
      resolveReady(`http://127.0.0.1:${record.port}`)
    }
  })
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderrTail.push(line)
    if (stderrTail.length > 20) stderrTail.shift()
    print(`${prefix} ${paint('yellow', line)}`)
  })

  const timer = setTimeout(() => rejectReady(new Error(`${name} did not start listening within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS)
  exited.then(({ code, signal }) => rejectReady(new Error(`${name} exited (${signal ?? `code ${code}`}) before listening${stderrTail.length > 0 ? `:\n${stderrTail.join('\n')}` : ''}`)))
  try {
    const url = await ready
    return {
      name,
      url,
      /** Asks the service to stop (it flushes its traces first); resolves with its health line, if any. */
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
        const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
        const exit = await exited
        clearTimeout(killer)
        return { health, exit }
      }
    }
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  } finally {
    clearTimeout(timer)
  }
}

function parseJson(line) {
  if (!line.startsWith('{')) return undefined
  try {
    return JSON.parse(line)
  } catch {
    return undefined
  }
}
