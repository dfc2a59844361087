// dd-trace and datadog-apm in one process: the real dd-trace (5 on every Node, 6 on Node 22+, which it
// needs), preloaded or initialized in code, beside an Express app traced by datadog-apm. Each request is
// then traced twice; the tracer says so once, naming what to remove. Loaded but never initialized,
// dd-trace traces nothing, and nothing is said.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'
import { startAgent, type Agent } from '@datadog-apm/agent'
import { startFixture, type FixtureProcess } from './support/fixture-process.js'

const fixtures = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'dd-trace')
const NODE_MAJOR = Number(process.versions.node.split('.')[0])
const WARNING = /^datadog-apm: dd-trace (\d+\.\d+\.\d+) is initialized in this process too: every request is traced twice/m

let agent: Agent

before(async () => {
  agent = await startAgent()
})

after(async () => {
  await agent.close()
})

async function run(args: readonly string[], service: string, env: Record<string, string> = {}): Promise<FixtureProcess<{ port?: number }>> {
  return startFixture(['--no-warnings', ...args, 'app.cjs'], fixtures, {
    AGENT_URL: agent.url,
    DD_TRACE_AGENT_URL: agent.url,
    DD_SERVICE: service,
    DD_TRACE_FLUSH_INTERVAL: '0',
    DD_TRACE_STARTUP_LOGS: 'false',
    DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false',
    DD_REMOTE_CONFIGURATION_ENABLED: 'false',
    NODE_OPTIONS: '',
    ...env
  }, 30_000)
}

async function requests(app: FixtureProcess<unknown>, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${app.base}/hello`)
    assert.equal(await res.text(), 'hello')
  }
}

function warnings(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.includes('is initialized in this process too'))
}

const versions = [
  { pkg: 'dd-trace', major: 5, minNode: 18 },
  { pkg: 'dd-trace6', major: 6, minNode: 22 }
]

for (const { pkg, major, minNode } of versions) {
  describe(`dd-trace ${major}`, { skip: NODE_MAJOR < minNode ? `dd-trace ${major} needs Node ${minNode}+` : false }, () => {
    test('preloaded with -r: one warning naming dd-trace, its version and the flag to remove; each request arrives twice', async () => {
      const service = `twice-preload-${major}`
      const app = await run(['-r', `${pkg}/init`], service)
      try {
        await requests(app, 3)
      } finally {
        await app.stop()
      }
      const lines = warnings(app.stderr())
      assert.equal(lines.length, 1, app.stderr())
      const match = WARNING.exec(lines[0] ?? '')
      assert.ok(match, lines[0])
      assert.equal(Number(match[1]?.split('.')[0]), major)
      assert.ok(lines[0]?.includes(`remove -r ${pkg}/init from the command line (or NODE_OPTIONS)`), lines[0])
      // What the warning is about: two tracers, each sending a trace of every request.
      const traces = await agent.waitForTraces(6, { filter: (t) => t.spans.some((s) => s.service === service && s.resource === 'GET /hello'), timeoutMs: 10_000 })
      const byTracer = new Map<string, number>()
      for (const trace of traces) {
        const version = trace.headers['datadog-meta-tracer-version'] ?? '?'
        byTracer.set(version, (byTracer.get(version) ?? 0) + 1)
      }
      assert.deepEqual([...byTracer.values()], [3, 3], JSON.stringify([...byTracer]))
      assert.ok(byTracer.has(match[1] ?? ''), `dd-trace's own traces are among them: ${JSON.stringify([...byTracer])}`)
    })

    test('initialized in the code after the tracer was made: the warning comes with the first trace', async () => {
      const app = await run([], `twice-late-${major}`, { DD_TRACE_INIT_LATE: pkg })
      try {
        assert.deepEqual(warnings(app.stderr()), [])
        await requests(app, 2)
        await app.stop()
        const lines = warnings(app.stderr())
        assert.equal(lines.length, 1, app.stderr())
        assert.ok(lines[0]?.includes("or the require('dd-trace').init() / import 'dd-trace/init' in the code"), lines[0])
      } finally {
        await app.stop()
      }
    })

    test('loaded and never initialized: nothing is traced twice, nothing is said', async () => {
      const app = await run([], `twice-loaded-${major}`, { DD_TRACE_LOAD_ONLY: pkg })
      try {
        await requests(app, 2)
      } finally {
        await app.stop()
      }
      assert.deepEqual(warnings(app.stderr()), [])
      assert.equal(app.stderr(), '')
    })
  })
}
