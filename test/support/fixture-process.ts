// A fixture app run as a child process: it prints JSON lines on stdout, one of them `{"port": N}` once
// it listens. The module-format tests of Express and Fastify start their apps this way.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'

export interface FixtureProcess<Line> {
  readonly child: ChildProcess
  /** http://127.0.0.1:port */
  readonly base: string
  /** Every JSON line written to stdout so far, the port line included. */
  readonly lines: Line[]
  /** What the app wrote to stderr so far. */
  stderr(): string
  /**
   * Resolves once `done()` holds, checked now and on every later stdout line; rejects when the app has
   * closed its output first, or at the deadline.
   */
  linesUntil(done: () => boolean, what: string, timeoutMs?: number): Promise<void>
  /** SIGTERM (the tracer flushes on it), then waits for the exit; SIGKILL if it has not exited by the deadline. */
  stop(timeoutMs?: number): Promise<void>
}

/** `promise`, or a rejection naming `what` once `timeoutMs` passed without it settling. */
async function within<T>(promise: Promise<T>, timeoutMs: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`)), timeoutMs)
  })
  try {
    return await Promise.race([promise, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Starts `node args...` in `cwd` with `env` added to this process's environment, and resolves once it
 * printed its port; rejects, with its stderr, if it exits first or prints no port within `timeoutMs`
 * (the process is killed then).
 */
export async function startFixture<Line extends { port?: unknown }>(args: readonly string[], cwd: string, env: Record<string, string>, timeoutMs = 15_000): Promise<FixtureProcess<Line>> {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const errors: string[] = []
  const lines: Line[] = []
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => errors.push(chunk))
  let listening!: (port: number) => void
  const port = new Promise<number>((resolve) => (listening = resolve))
  const stdout = createInterface({ input: child.stdout })
  stdout.on('line', (text) => {
    const line = JSON.parse(text) as Line
    lines.push(line)
    if (typeof line.port === 'number') listening(line.port)
  })
  // 'close' comes after the exit and the end of the output: no line can follow it.
  let closed = false
  const ended = once(child, 'close').then(() => (closed = true))
  const exited = once(child, 'exit')
  const early = exited.then(([code]) => {
    throw new Error(`node ${args.join(' ')} exited with ${String(code)} before listening:\n${errors.join('')}`)
  })
  early.catch(() => {})

  async function stop(stopTimeoutMs = 10_000): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    try {
      await within(exited, stopTimeoutMs, () => `node ${args.join(' ')} to exit on SIGTERM`)
    } catch (error) {
      child.kill('SIGKILL')
      await exited
      throw error
    }
  }

  let ready: number
  try {
    ready = await within(Promise.race([port, early]), timeoutMs, () => `node ${args.join(' ')} to print its port:\n${errors.join('')}`)
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
    throw error
  }

  function linesUntil(done: () => boolean, what: string, untilTimeoutMs = 5000): Promise<void> {
    let check: () => void = () => {}
    const reached = new Promise<void>((resolve, reject) => {
      check = () => {
        if (done()) resolve()
        else if (closed) reject(new Error(`the app closed its output before ${what}`))
      }
      stdout.on('line', check)
      void ended.then(check)
      check()
    })
    return within(reached, untilTimeoutMs, () => what).finally(() => stdout.off('line', check))
  }

  return {
    child,
    base: `http://127.0.0.1:${ready}`,
    lines,
    stderr: () => errors.join(''),
    linesUntil,
    stop
  }
}
