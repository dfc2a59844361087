import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { startAgent } from '@datadog-apm/agent'
import { resolveConfig } from '../src/config/config.js'
import { createTracer } from '../src/tracer/tracer.js'
import { InMemoryExporter } from '../src/testing.js'

const MARKER = 'datadog-apm: DATADOG TRACER CONFIGURATION - '

function sink() {
  const lines: string[] = []
  return { lines, diagnostics: { write: (line: string) => void lines.push(line) } }
}

/** Waits until `lines` holds the startup line, and returns its JSON. */
async function startupJson(lines: readonly string[], timeoutMs = 5000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const line = lines.find((l) => l.startsWith(MARKER))
    if (line !== undefined) {
      assert.ok(line.endsWith('}\n') && !line.slice(0, -1).includes('\n'), 'one line')
      return JSON.parse(line.slice(MARKER.length)) as Record<string, unknown>
    }
    if (Date.now() > deadline) assert.fail(`no startup line within ${timeoutMs} ms: ${JSON.stringify(lines)}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

test('DD_TRACE_STARTUP_LOGS: on by default as in dd-trace 6, off for a tracer with its own exporter; the option wins', () => {
  const warn = () => {}
  assert.equal(resolveConfig({}, {}, warn).startupLogs, true)
  assert.equal(resolveConfig({}, {}, warn, process.cwd(), { startupLogs: false }).startupLogs, false)
  assert.equal(resolveConfig({}, { DD_TRACE_STARTUP_LOGS: 'false' }, warn).startupLogs, false)
  assert.equal(resolveConfig({}, { DD_TRACE_STARTUP_LOGS: 'true' }, warn, process.cwd(), { startupLogs: false }).startupLogs, true)
  assert.equal(resolveConfig({ startupLogs: true }, { DD_TRACE_STARTUP_LOGS: 'false' }, warn).startupLogs, true)
  const warnings: string[] = []
  assert.equal(resolveConfig({}, { DD_TRACE_STARTUP_LOGS: 'yes' }, (m) => warnings.push(m)).startupLogs, true)
  assert.deepEqual(warnings, ['DD_TRACE_STARTUP_LOGS="yes" is not true or false; using true'])
})

test('the line: the resolved configuration and the agent reached, once, without holding the first trace back', async (t) => {
  const agent = await startAgent()
  t.after(() => agent.close())
  const out = sink()
  const tracer = createTracer({
    url: agent.url,
    service: 'checkout',
    env: 'prod',
    version: '2.1.0',
    tags: { team: 'payments' },
    sampleRate: 0.5,
    samplingRules: [{ service: /^check/, sampleRate: 0.25 }],
    runtimeMetrics: false,
    integrations: { mysql2: false },
    propagation: { style: ['tracecontext', 'datadog'] },
    startupLogs: true,
    flushOnExit: false,
    diagnostics: out.diagnostics
  })
  t.after(() => tracer.shutdown())
  const json = await startupJson(out.lines)
  assert.equal(json.service, 'checkout')
  assert.equal(json.env, 'prod')
  assert.equal(json.dd_version, '2.1.0')
  assert.equal(json.lang, 'nodejs')
  assert.equal(json.enabled, true)
  assert.equal(json.agent_url, agent.url + '/')
  assert.equal(json.agent_reachable, true)
  assert.equal(typeof json.agent_version, 'string')
  assert.equal(json.agent_error, undefined)
  assert.equal(json.sample_rate, 0.5)
  assert.deepEqual(json.sampling_rules, [{ service: '/^check/', sampleRate: 0.25 }])
  assert.deepEqual(json.tags, { team: 'payments' })
  assert.equal(json.runtime_metrics_enabled, false)
  assert.deepEqual(json.integrations_enabled, ['http', 'ioredis', 'redis', 'pg'])
  assert.deepEqual(json.propagation_style_inject, ['tracecontext', 'datadog'])
  assert.deepEqual(json.propagation_style_extract, ['tracecontext', 'datadog'])
  assert.equal(json.log_injection_enabled, true)
  // The /info it asked serves the exporter too, and the trace goes out as usual.
  assert.equal(tracer.health()?.discovery, 'known')
  tracer.trace('op', () => {})
  await tracer.flush()
  await agent.waitForTraces(1, { timeoutMs: 5000 })
  assert.equal(out.lines.filter((l) => l.startsWith(MARKER)).length, 1)
})

test('an agent that is down: the line says so, with the error', async (t) => {
  const closed = createServer()
  closed.listen(0, '127.0.0.1')
  await once(closed, 'listening')
  const port = (closed.address() as AddressInfo).port
  closed.close()
  await once(closed, 'close')
  const out = sink()
  const tracer = createTracer({ url: `http://user:secret@127.0.0.1:${port}`, startupLogs: true, flushOnExit: false, diagnostics: out.diagnostics })
  t.after(() => tracer.shutdown())
  const json = await startupJson(out.lines)
  assert.equal(json.agent_reachable, false)
  assert.equal(json.agent_error, 'ECONNREFUSED')
  assert.equal(json.agent_url, `http://127.0.0.1:${port}/`, 'credentials of the URL are not printed')
})

test('with its own exporter or tracing off, the line comes at once and says the agent was not asked; a throwing sink breaks nothing', () => {
  const out = sink()
  createTracer({ exporter: new InMemoryExporter(), flushOnExit: false, diagnostics: out.diagnostics })
  assert.deepEqual(out.lines, [], 'off by default with an exporter of its own')
  createTracer({ exporter: new InMemoryExporter(), startupLogs: true, flushOnExit: false, diagnostics: out.diagnostics })
  createTracer({ enabled: false, startupLogs: true, diagnostics: out.diagnostics })
  assert.equal(out.lines.length, 2)
  assert.match(out.lines[0] ?? '', /"agent_not_asked":"the tracer was given its own exporter"/)
  assert.match(out.lines[1] ?? '', /"enabled":false,.*"agent_not_asked":"tracing is disabled"/)
  const throwing = { write: () => { throw new Error('sink down') } }
  assert.doesNotThrow(() => createTracer({ exporter: new InMemoryExporter(), startupLogs: true, flushOnExit: false, diagnostics: throwing }))
})

test('an agent that never answers /info does not keep a finished app alive', async (t) => {
  // Accepts, reads, never answers: the /info request stays open until the tracer's timeout (2 s).
  const asked: Socket[] = []
  const silent = createServer((socket) => {
    socket.on('data', (bytes) => {
      if (bytes.toString('latin1').startsWith('GET /info ')) asked.push(socket)
    })
  })
  silent.listen(0, '127.0.0.1')
  await once(silent, 'listening')
  t.after(() => {
    for (const socket of asked) socket.destroy()
    silent.close()
  })
  const core = fileURLToPath(new URL('../dist/index.js', import.meta.url))
  // The app stays alive until its stdin ends, then has nothing left to do.
  const script = `
    const { createTracer } = await import(${JSON.stringify(core)})
    createTracer({ url: ${JSON.stringify(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`)}, startupLogs: true, flushOnExit: false })
    process.stdin.resume()
    process.stdin.on('end', () => process.stdin.pause())`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } })
  const exited = once(child, 'exit')
  const deadline = Date.now() + 10_000
  while (asked.length === 0) {
    if (Date.now() > deadline || child.exitCode !== null) assert.fail('the child did not ask /info')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  const released = Date.now()
  child.stdin.end()
  const [code] = (await exited) as [number | null]
  const heldMs = Date.now() - released
  assert.equal(code, 0)
  // Held by the request, it would wait for the 2 s timeout.
  assert.ok(heldMs < 1000, `the app exited ${heldMs} ms after it had nothing left to do`)
})
