// The demo: starts the local intake (or uses DD_TRACE_AGENT_URL), runs the example services against
// it, and prints what arrived. `--once` exits after the run: 0 when every expected trace arrived whole.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { startAgent } from '@datadog-apm/agent'

const once_ = process.argv.includes('--once')
const here = fileURLToPath(new URL('.', import.meta.url))
const JOBS = 10

async function startIntake() {
  if (process.env.DD_TRACE_AGENT_URL) return { url: process.env.DD_TRACE_AGENT_URL, agent: undefined }
  let agent
  try {
    agent = await startAgent({ port: 8126 })
  } catch {
    agent = await startAgent({ port: 0 })
    console.log(`port 8126 is taken; the intake listens on ${agent.url} instead`)
  }
  return { url: agent.url, agent }
}

function run(script, args, env) {
  const child = spawn(process.execPath, [`${here}/services/${script}`, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] })
  return once(child, 'exit').then(([code]) => code)
}

const { url, agent } = await startIntake()
console.log(`datadog-apm demo: sending traces to ${url}`)
const code = await run('worker.mjs', [String(JOBS)], { DD_TRACE_AGENT_URL: url })

let ok = code === 0
if (agent) {
  const traces = agent.traces()
  const spans = traces.flatMap((t) => t.spans)
  const errors = spans.filter((s) => s.error === 1)
  const byResource = new Map()
  for (const s of spans.filter((s) => s.parent_id === 0n)) {
    const entry = byResource.get(s.resource) ?? { count: 0, totalMs: 0 }
    entry.count++
    entry.totalMs += Number(s.duration) / 1e6
    byResource.set(s.resource, entry)
  }
  console.log(`\nreceived ${traces.length} traces, ${spans.length} spans, ${errors.length} errors, services: ${[...new Set(spans.map((s) => s.service))].join(', ')}`)
  for (const [resource, { count, totalMs }] of byResource) console.log(`  ${resource.padEnd(24)} ${String(count).padStart(4)}  avg ${(totalMs / count).toFixed(1)} ms`)
  const violations = agent.violations()
  if (violations.length > 0) console.log(`validation: ${violations.length} violations, first: ${violations[0].rule}: ${violations[0].message}`)
  const whole = traces.length === JOBS && traces.every((t) => t.spans.length === 3) && errors.length === 2
  ok = ok && whole && violations.length === 0
  if (!whole) console.log(`expected ${JOBS} traces of 3 spans with 2 errors`)
}

if (once_ || !agent) {
  if (agent) await agent.close()
  console.log(ok ? '\ndemo: OK' : '\ndemo: FAILED')
  process.exit(ok ? 0 : 1)
}
console.log(`\nthe intake keeps running on ${url}; Ctrl-C to stop`)
process.on('SIGINT', () => agent.close().then(() => process.exit(0)))
