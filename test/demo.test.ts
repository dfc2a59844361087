import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { startAgent } from '@datadog-apm/agent'

// The README's demo, as the test command runs it: `node examples/demo.mjs --once`.

const root = fileURLToPath(new URL('..', import.meta.url))

/**
 * Runs the demo to its end: the exit code once the process exited and its output ended ('close', so the
 * output is whole). A demo still running at the deadline is killed and the run fails. The deadline is
 * past the 60 s the demo gives its services to start (the api starts its database first, which on a
 * loaded machine takes most of that), so only a demo that is stuck reaches it.
 */
async function runDemo(args: string[], env: Record<string, string | undefined>, timeoutMs = 90_000): Promise<{ code: number | null; output: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env }
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete childEnv[key]
  const child = spawn(process.execPath, ['examples/demo.mjs', ...args], { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const closed = once(child, 'close') as Promise<[number | null]>
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  try {
    const [code] = await closed
    if (child.signalCode === 'SIGKILL') throw new Error(`the demo was still running after ${timeoutMs} ms:\n${output}`)
    return { code, output }
  } finally {
    clearTimeout(timer)
  }
}

test('demo --once: every request arrives as one whole trace across web and api; exit 0', async () => {
  const { code, output } = await runDemo(['--once'], { DD_TRACE_AGENT_URL: undefined })
  assert.equal(code, 0, output)
  assert.match(output, /^page {4}http:\/\/127\.0\.0\.1:\d+\/ /m, 'names the page URL')
  assert.match(output, /services: api, api-postgres, web$/m, "names both services and the api's database")
  assert.match(output, /^web {5}http:\/\/127\.0\.0\.1:\d+ +\(Express 5/m)
  assert.match(output, /^api {5}http:\/\/127\.0\.0\.1:\d+ +\(Fastify 5/m)
  assert.match(output, /^ {2}web {6}POST \/shop\/orders +2 +2 /m, 'the failing route, with its errors')
  assert.match(output, /^metrics: \d+ series from 2 processes: api \([0-9a-f]{8}, \d+ metrics\), web \([0-9a-f]{8}, \d+ metrics\)/m, 'runtime metrics of both')
  assert.match(output, /demo: OK/)
  // Each service logs JSON lines that carry the trace ids of the request they belong to.
  assert.match(output, /^web +│ \{"level":"info".*"message":"product viewed".*"dd":\{"trace_id":"[0-9a-f]{32}","span_id":"\d+"/m)
  assert.match(output, /^api +│ \{"level":30.*"dd":\{"trace_id":"[0-9a-f]{32}","span_id":"\d+".*"msg":"stock read"/m)
})

test('demo --once with DD_TRACE_AGENT_URL: no intake of its own; the agent there gets both services', async (t) => {
  const agent = await startAgent()
  t.after(() => agent.close())
  const { code, output } = await runDemo(['--once'], { DD_TRACE_AGENT_URL: agent.url })
  assert.equal(code, 0, output)
  assert.match(output, /no local intake started/)
  assert.doesNotMatch(output, /^page /m)
  assert.match(output, /^web: sent \d+ traces/m)
  // api-postgres: the api's inventory queries (pg spans of schema v0).
  assert.deepEqual([...new Set(agent.spans().map((s) => s.service))].sort(), ['api', 'api-postgres', 'web'])
  assert.deepEqual(agent.violations(), [])
})

test('demo --once with an agent that is not there: exit 1, saying the export failed', async () => {
  // A port that was free a moment ago: nothing listens there.
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  const { code, output } = await runDemo(['--once'], { DD_TRACE_AGENT_URL: `http://127.0.0.1:${port}` })
  assert.equal(code, 1, output)
  assert.match(output, /demo: FAILED/)
  assert.match(output, /- web: the last export failed: .*ECONNREFUSED/)
  assert.match(output, /- api sent no traces/)
})

test('demo: a bad flag is a usage error', async () => {
  const { code, output } = await runDemo(['--port', 'many'], {})
  assert.equal(code, 2)
  assert.match(output, /--port must be a port number/)
})
