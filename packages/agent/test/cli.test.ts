import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createSocket } from 'node:dgram'
import { createInterface } from 'node:readline'
import { describe, it, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { CliUsageError, DEFAULT_CLI_PORT, parseCliArgs } from '../src/cli/cli.js'
import { start } from './http-helpers.js'

const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url))

void describe('parseCliArgs', () => {
  void it('defaults to 127.0.0.1:8126 and the store defaults', () => {
    const options = parseCliArgs([])
    assert.deepEqual(options, { help: false, version: false, host: '127.0.0.1', port: DEFAULT_CLI_PORT, socketPath: undefined, maxTraces: 10_000, maxSpans: 250_000, dogstatsdPort: 8125, info: {}, faults: [] })
  })

  void it('reads every flag', () => {
    const options = parseCliArgs([
      '--port', '0', '--host', '::1', '--socket', '/tmp/a.sock', '--max-traces', '5', '--max-spans=7', '-h', '--dogstatsd-port', '0',
      '--client-drop-p0s', '--no-info', '--endpoints', '/v0.4/traces, /info', '--fault', 'status=503,times=2', '--fault', 'delay=100'
    ])
    assert.deepEqual(options, {
      help: true, version: false, host: '::1', port: 0, socketPath: '/tmp/a.sock', maxTraces: 5, maxSpans: 7, dogstatsdPort: 0,
      info: { clientDropP0s: true, enabled: false, endpoints: ['/v0.4/traces', '/info'] },
      faults: [{ fault: { kind: 'status', status: 503 }, options: { times: 2 } }, { fault: { kind: 'delay', ms: 100 }, options: {} }]
    })
  })

  void it('takes ports up to 65535 and refuses the first past it and anything not a number', () => {
    assert.equal(parseCliArgs(['--port', '65535']).port, 65535)
    for (const bad of ['65536', '-1', '80x', '', '1e3']) assert.throws(() => parseCliArgs(['--port', bad]), CliUsageError, bad)
  })

  void it('takes a max of 1 and refuses 0', () => {
    assert.equal(parseCliArgs(['--max-traces', '1']).maxTraces, 1)
    assert.equal(parseCliArgs(['--max-spans', '1']).maxSpans, 1)
    assert.throws(() => parseCliArgs(['--max-traces', '0']), /--max-traces must be an integer from 1/)
    assert.throws(() => parseCliArgs(['--max-spans', '0']), /--max-spans must be an integer from 1/)
  })

  void it('refuses unknown flags, positionals and empty values', () => {
    assert.throws(() => parseCliArgs(['--prot', '1']), CliUsageError)
    assert.throws(() => parseCliArgs(['serve']), CliUsageError)
    assert.throws(() => parseCliArgs(['--port']), CliUsageError)
    assert.throws(() => parseCliArgs(['--host', '']), /--host must not be empty/)
    assert.throws(() => parseCliArgs(['--fault', 'explode']), /--fault explode: unknown fault/)
    assert.throws(() => parseCliArgs(['--fault', 'status=600']), /--fault status=600: status must be/)
    assert.throws(() => parseCliArgs(['--endpoints', 'v0.4/traces']), /--endpoints takes paths/)
  })

  void it('reads the agent variables, flags first; a bad port variable warns and keeps the default', () => {
    const env = { DD_APM_RECEIVER_PORT: '9126', DD_APM_RECEIVER_SOCKET: '/tmp/x.sock' }
    assert.deepEqual([parseCliArgs([], env).port, parseCliArgs([], env).socketPath], [9126, '/tmp/x.sock'])
    assert.equal(parseCliArgs(['--port', '1'], env).port, 1)
    const warnings: string[] = []
    const io = { out: (): void => {}, err: (line: string): void => void warnings.push(line) }
    assert.equal(parseCliArgs([], { DD_APM_RECEIVER_PORT: 'eighty' }, io).port, DEFAULT_CLI_PORT)
    assert.deepEqual(warnings, ['datadog-apm-agent: DD_APM_RECEIVER_PORT must be an integer from 0 to 65535, got "eighty"; using 8126'])
  })

  void it('DogStatsD: --dogstatsd-port over DD_DOGSTATSD_PORT over 8125; --no-dogstatsd turns UDP off', () => {
    assert.equal(parseCliArgs([], { DD_DOGSTATSD_PORT: '9125' }).dogstatsdPort, 9125)
    assert.equal(parseCliArgs(['--dogstatsd-port', '65535'], { DD_DOGSTATSD_PORT: '9125' }).dogstatsdPort, 65535)
    assert.throws(() => parseCliArgs(['--dogstatsd-port', '65536']), /--dogstatsd-port must be an integer from 0 to 65535/)
    assert.equal(parseCliArgs(['--no-dogstatsd']).dogstatsdPort, false)
    assert.throws(() => parseCliArgs(['--no-dogstatsd', '--dogstatsd-port', '1']), /contradict/)
    const warnings: string[] = []
    const io = { out: (): void => {}, err: (line: string): void => void warnings.push(line) }
    assert.equal(parseCliArgs([], { DD_DOGSTATSD_PORT: 'x' }, io).dogstatsdPort, 8125)
    assert.equal(warnings.length, 1)
  })
})

interface Bin {
  readonly child: ChildProcess
  readonly lines: string[]
  readonly stderr: () => string
  /** The first stdout line that matches; rejects once the process has closed its output, or at the deadline. */
  readonly line: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>
  /**
   * The exit code once the process exited and its output ended (so `lines` and `stderr` are whole),
   * within a deadline of a few seconds: tsx compiles the bin first.
   */
  readonly exitCode: (timeoutMs?: number) => Promise<number | null>
}

/** Runs the bin; a process still running when the test ends is killed then. */
function runBin(t: TestContext, args: string[]): Bin {
  const child = spawn(process.execPath, ['--import', 'tsx', bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DD_APM_RECEIVER_PORT: '', DD_APM_RECEIVER_SOCKET: '' } })
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
  })
  const lines: string[] = []
  let stderr = ''
  let closed = false
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const stdout = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  stdout.on('line', (line) => lines.push(line))
  // 'close' comes after the process exited and its output ended: no line can follow it.
  const ended = new Promise<number | null>((resolve) => child.once('close', (code: number | null) => resolve(code)))
  void ended.then(() => (closed = true))
  const line = (pattern: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const settle = (fn: () => void): void => {
        clearTimeout(timer)
        stdout.off('line', check)
        child.off('close', onClose)
        fn()
      }
      const check = (): void => {
        for (const text of lines) {
          const match = pattern.exec(text)
          if (match !== null) return settle(() => resolve(match))
        }
      }
      const onClose = (): void => settle(() => reject(new Error(`ended without a line matching ${pattern}:\n${lines.join('\n')}\n${stderr}`)))
      const timer = setTimeout(() => settle(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${lines.join('\n')}`))), timeoutMs)
      stdout.on('line', check)
      child.once('close', onClose)
      check()
      if (closed) onClose()
    })
  const exitCode = async (timeoutMs = 10_000): Promise<number | null> => {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms:\n${lines.join('\n')}\n${stderr}`)), timeoutMs)
    })
    try {
      return await Promise.race([ended, deadline])
    } finally {
      clearTimeout(timer)
    }
  }
  return { child, lines, stderr: () => stderr, line, exitCode }
}

void describe('datadog-apm-agent', () => {
  void it('serves the agent API and the page until SIGTERM, then exits 0', async (t) => {
    const { child, lines, line, exitCode } = runBin(t, ['--port', '0', '--max-traces', '50', '--client-drop-p0s', '--fault', 'status=503,times=1'])
    const [, url] = await line(/page\s+(http:\/\/127\.0\.0\.1:\d+)\//)
    const status = (await (await fetch(`${url}/api/status`)).json()) as { maxTraces: number }
    assert.equal(status.maxTraces, 50)
    const info = (await (await fetch(`${url}/info`)).json()) as { client_drop_p0s: boolean }
    assert.equal(info.client_drop_p0s, true)
    const traces = (): Promise<Response> => fetch(`${url}/v0.4/traces`, { method: 'PUT', body: new Uint8Array([0x90]), headers: { 'content-type': 'application/msgpack' } })
    assert.equal((await traces()).status, 503, 'the fault, once')
    assert.equal((await traces()).status, 200)
    child.kill('SIGTERM')
    assert.equal(await exitCode(), 0)
    assert.ok(lines.includes('datadog-apm local intake stopped'))
  })

  void it('takes a free DogStatsD port when the one asked for is taken, says so, and receives metrics on it', async (t) => {
    const taken = createSocket('udp4')
    taken.bind(0, '127.0.0.1')
    await once(taken, 'listening')
    t.after(() => taken.close())
    const { child, lines, stderr, line, exitCode } = runBin(t, ['--port', '0', '--dogstatsd-port', String(taken.address().port)])
    const url = (await line(/page\s+(http:\/\/127\.0\.0\.1:\d+)\//))[1]
    const port = Number(/metrics udp:\/\/127\.0\.0\.1:(\d+)/.exec(lines.join('\n'))?.[1])
    assert.ok(port > 0 && port !== taken.address().port, lines.join('\n'))
    const sender = createSocket('udp4')
    t.after(() => sender.close())
    sender.send('cli.check:1|c|#service:cli', port, '127.0.0.1')
    const until = Date.now() + 5000
    let names: string[] = []
    while (!names.includes('cli.check') && Date.now() < until) {
      names = ((await (await fetch(`${url}/api/metrics`)).json()) as { names: Array<{ name: string }> }).names.map((n) => n.name)
      if (!names.includes('cli.check')) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.deepEqual(names, ['cli.check'])
    // stderr is a pipe of its own: it is whole only once the process has ended.
    child.kill('SIGTERM')
    assert.equal(await exitCode(), 0)
    assert.match(stderr(), new RegExp(`DogStatsD port ${taken.address().port} is in use; listening on ${port} instead`))
  })

  void it('exits 1 with a message when the port is taken', async (t) => {
    const agent = await start(t)
    const { stderr, exitCode } = runBin(t, ['--port', String(agent.port)])
    assert.equal(await exitCode(), 1)
    assert.match(stderr(), /cannot listen on 127\.0\.0\.1:\d+: the address is in use/)
  })

  void it('prints the usage for --help (exit 0) and for a bad flag (exit 2)', async (t) => {
    const help = runBin(t, ['--help'])
    assert.equal(await help.exitCode(), 0)
    assert.ok(help.lines.some((l) => l.startsWith('Usage: datadog-apm-agent')))
    const bad = runBin(t, ['--max-traces', 'lots'])
    assert.equal(await bad.exitCode(), 2)
    assert.match(bad.stderr(), /--max-traces must be an integer[\s\S]*Usage:/)
  })
})
