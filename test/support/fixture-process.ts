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
  /** SIGTERM (the tracer flushes on it), then waits for the exit. */
  stop(): Promise<void>
}

/**
 * Starts `node args...` in `cwd` with `env` added to this process's environment, and resolves once it
 * printed its port; rejects, with its stderr, if it exits first.
 */
export async function startFixture<Line extends { port?: unknown }>(args: readonly string[], cwd: string, env: Record<string, string>): Promise<FixtureProcess<Line>> {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const errors: string[] = []
  const lines: Line[] = []
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => errors.push(chunk))
  let listening!: (port: number) => void
  const port = new Promise<number>((resolve) => (listening = resolve))
  createInterface({ input: child.stdout }).on('line', (text) => {
    const line = JSON.parse(text) as Line
    lines.push(line)
    if (typeof line.port === 'number') listening(line.port)
  })
  const exited = once(child, 'exit')
  const early = exited.then(([code]) => {
    throw new Error(`node ${args.join(' ')} exited with ${String(code)} before listening:\n${errors.join('')}`)
  })
  early.catch(() => {})
  const ready = await Promise.race([port, early])
  return {
    child,
    base: `http://127.0.0.1:${ready}`,
    lines,
    stderr: () => errors.join(''),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      await exited
    }
  }
}
