import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { CliUsageError, DEFAULT_CLI_PORT, parseCliArgs } from '../src/cli.js'
import { start } from './http-helpers.js'

const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url))

void describe('parseCliArgs', () => {
  void it('defaults to 127.0.0.1:8126 and the store defaults', () => {
    const options = parseCliArgs([])
    assert.deepEqual(options, { help: false, version: false, host: '127.0.0.1', port: DEFAULT_CLI_PORT, socketPath: undefined, maxTraces: 10_000, maxSpans: 250_000, info: {}, faults: [] })
  })

  void it('reads every flag', () => {
    const options = parseCliArgs([
      '--port', '0', '--host', '::1', '--socket', '/tmp/a.sock', '--max-traces', '5', '--max-spans=7', '-h',
      '--client-drop-p0s', '--no-info', '--endpoints', '/v0.4/traces, /info', '--fault', 'status=503,times=2', '--fault', 'delay=100'
    ])
    assert.deepEqual(options, {
      help: true, version: false, host: '::1', port: 0, socketPath: '/tmp/a.sock', maxTraces: 5, maxSpans: 7,
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
})

function runBin(args: string[]): { child: ReturnType<typeof spawn>; lines: string[]; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DD_APM_RECEIVER_PORT: '', DD_APM_RECEIVER_SOCKET: '' } })
  const lines: string[] = []
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => lines.push(line))
  return { child, lines, stderr: () => stderr }
}

async function exitCode(child: ReturnType<typeof spawn>): Promise<number | null> {
  const [code] = (await once(child, 'exit')) as [number | null]
  return code
}

void describe('datadog-apm-agent', () => {
  void it('serves the agent API and the page until SIGTERM, then exits 0', async () => {
    const { child, lines } = runBin(['--port', '0', '--max-traces', '50', '--client-drop-p0s', '--fault', 'status=503,times=1'])
    const deadline = Date.now() + 10_000
    while (!lines.some((l) => l.includes('page'))) {
      if (Date.now() > deadline || child.exitCode !== null) assert.fail(`no page line: ${lines.join('\n')}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const url = /page\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(lines.join('\n'))?.[1]
    assert.ok(url, lines.join('\n'))
    const status = (await (await fetch(`${url}/api/status`)).json()) as { maxTraces: number }
    assert.equal(status.maxTraces, 50)
    const info = (await (await fetch(`${url}/info`)).json()) as { client_drop_p0s: boolean }
    assert.equal(info.client_drop_p0s, true)
    const traces = (): Promise<Response> => fetch(`${url}/v0.4/traces`, { method: 'PUT', body: new Uint8Array([0x90]), headers: { 'content-type': 'application/msgpack' } })
    assert.equal((await traces()).status, 503, 'the fault, once')
    assert.equal((await traces()).status, 200)
    child.kill('SIGTERM')
    assert.equal(await exitCode(child), 0)
    assert.ok(lines.includes('datadog-apm local intake stopped'))
  })

  void it('exits 1 with a message when the port is taken', async (t) => {
    const agent = await start(t)
    const { child, stderr } = runBin(['--port', String(agent.port)])
    assert.equal(await exitCode(child), 1)
    assert.match(stderr(), /cannot listen on 127\.0\.0\.1:\d+: the address is in use/)
  })

  void it('prints the usage for --help (exit 0) and for a bad flag (exit 2)', async () => {
    const help = runBin(['--help'])
    assert.equal(await exitCode(help.child), 0)
    assert.ok(help.lines.some((l) => l.startsWith('Usage: datadog-apm-agent')))
    const bad = runBin(['--max-traces', 'lots'])
    assert.equal(await exitCode(bad.child), 2)
    assert.match(bad.stderr(), /--max-traces must be an integer[\s\S]*Usage:/)
  })
})
