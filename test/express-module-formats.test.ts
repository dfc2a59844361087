// The same Express app run four ways: CommonJS require(), ESM import, TypeScript through tsx, and an
// esbuild bundle that carries Express and our packages inside it. Each must produce the same spans, with
// no loader flag and no import order to respect.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'
import { startAgent, type Agent, type ReceivedSpan } from '@datadog-apm/agent'
import { bundleApp } from './support/bundle.js'
import { startFixture } from './support/fixture-process.js'

const testDir = fileURLToPath(new URL('.', import.meta.url))
const fixtures = join(testDir, 'fixtures', 'express')

/** What must be equal between the four runs, one line per span, sorted. */
function shape(spans: readonly ReceivedSpan[]): string[] {
  const byId = new Map(spans.map((s) => [s.span_id, s]))
  return spans
    .map((s) => {
      const parent = s.parent_id === 0n ? '-' : (byId.get(s.parent_id)?.name ?? 'elsewhere')
      const m = s.meta
      return [s.name, s.resource, s.type, m.component, m['http.route'], m['http.status_code'], s.error, m['error.type'], m['error.message'], parent].map((v) => v ?? '').join(' | ')
    })
    .sort()
}

const EXPECTED = [
  'express.request | GET | web | express |  | 404 | 0 |  |  | -',
  'express.request | GET /api/:version/users/:id | web | express | /api/:version/users/:id | 200 | 0 |  |  | -',
  'express.request | GET /boom | web | express | /boom | 500 | 1 | Error | boom | -',
  'express.request | GET /files/*splat | web | express | /files/*splat | 200 | 0 |  |  | -',
  'load.user | load.user |  |  |  |  | 0 |  |  | express.request'
].sort()

interface Run {
  readonly args: readonly string[]
  readonly cwd: string
}

let bundleDir: string

async function runFixture(agent: Agent, format: string, run: Run): Promise<ReceivedSpan[]> {
  const service = `formats-${format}`
  const app = await startFixture(run.args, run.cwd, { DD_TRACE_AGENT_URL: agent.url, DD_SERVICE: service, FIXTURE_FORMAT: format, DD_TRACE_STARTUP_LOGS: 'false', NODE_OPTIONS: '' })
  try {
    const statuses: number[] = []
    for (const path of ['/api/v2/users/42', '/files/a/b.txt', '/boom', '/health', '/missing']) {
      const res = await fetch(app.base + path)
      await res.arrayBuffer()
      statuses.push(res.status)
    }
    assert.deepEqual(statuses, [200, 200, 500, 200, 404], format)
  } finally {
    // SIGTERM: the tracer flushes what it holds, then the process ends as the signal says.
    await app.stop()
  }
  const traces = await agent.waitForTraces(4, { filter: (t) => t.spans.some((s) => s.service === service), timeoutMs: 5000 })
  const spans = traces.flatMap((t) => t.spans)
  for (const span of spans) assert.equal(span.service, service)
  const format_ = spans.find((s) => s.meta['fixture.format'] !== undefined)?.meta['fixture.format']
  assert.equal(format_, format, `${format}: rootSpan(req) reached the request span\n${app.stderr()}`)
  return spans
}

describe('one Express app, four module formats', () => {
  let agent: Agent
  before(async () => {
    agent = await startAgent()
    bundleDir = mkdtempSync(join(tmpdir(), 'dd-express-bundle-'))
  })
  after(async () => {
    await agent.close()
    rmSync(bundleDir, { recursive: true, force: true })
  })

  test('CommonJS: require() of the ESM packages', async () => {
    const spans = await runFixture(agent, 'cjs', { args: [join(fixtures, 'app.cjs')], cwd: testDir })
    assert.deepEqual(shape(spans), EXPECTED)
    assert.deepEqual(agent.violations(), [])
  })

  test('ESM: import', async () => {
    const spans = await runFixture(agent, 'esm', { args: [join(fixtures, 'app.mjs')], cwd: testDir })
    assert.deepEqual(shape(spans), EXPECTED)
  })

  test('TypeScript through tsx', async () => {
    const spans = await runFixture(agent, 'tsx', { args: ['--import', 'tsx', join(fixtures, 'app.ts')], cwd: testDir })
    assert.deepEqual(shape(spans), EXPECTED)
  })

  test('an esbuild bundle with Express and our packages inside', async () => {
    const outfile = join(bundleDir, 'app.mjs')
    const inputs = await bundleApp(join(fixtures, 'app.mjs'), outfile)
    assert.ok(inputs.some((p) => /express\/lib\/express\.js$/.test(p)), 'Express is in the bundle')
    assert.ok(inputs.some((p) => /packages\/express\/dist\/middleware\.js$/.test(p)), '@datadog-apm/express is in the bundle')
    assert.ok(inputs.some((p) => /packages\/core\/dist\/tracer\/tracer\.js$/.test(p)), '@datadog-apm/core is in the bundle')
    // Run from the temp dir, where no node_modules can be found: everything comes from the bundle.
    const spans = await runFixture(agent, 'bundle', { args: [outfile], cwd: bundleDir })
    assert.deepEqual(shape(spans), EXPECTED)
    assert.deepEqual(agent.violations(), [])
  })
})
