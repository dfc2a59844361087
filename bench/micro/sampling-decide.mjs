// ns per sampling decision: CoreTracer#decideSampling on a trace's local root, the trace's decision
// reset before each call. Run: taskset -c 0 node bench/micro/sampling-decide.mjs [n]
import { randomFillSync } from 'node:crypto'
import { CoreTracer } from '@datadog-apm/core'

const N = Number(process.argv[2] ?? 500_000)
const dropAll = { export() {}, flush: () => Promise.resolve(), shutdown: () => Promise.resolve() }
const FIVE_RULES = [
  { service: 'billing', sampleRate: 1 },
  { name: 'grpc.*', sampleRate: 0.5 },
  { resource: 'GET /health*', sampleRate: 0 },
  { tags: { 'http.status_code': '5??' }, sampleRate: 1 },
  { service: 'web-*', name: 'express.request', resource: 'POST /checkout', sampleRate: 1 }
]
const scenarios = {
  'no rules (default rate)': {},
  '5 rules, none matches (then the agent rate)': { samplingRules: FIVE_RULES },
  '5 rules, the 5th matches (+ limiter)': { samplingRules: FIVE_RULES, match: true },
  'DD_TRACE_SAMPLE_RATE only (1 rule + limiter)': { sampleRate: 0.5, rateLimit: -1 }
}

const ids = new BigUint64Array(1024)
randomFillSync(ids)
let sink = 0
for (const [label, scenario] of Object.entries(scenarios)) {
  const tracer = new CoreTracer({ service: scenario.match ? 'web-shop' : 'shop', env: 'prod', exporter: dropAll, flushOnExit: false, ...scenario, match: undefined })
  const roots = []
  for (let i = 0; i < 1024; i++) {
    const root = tracer.startSpan('express.request', {
      childOf: { traceId: ids[i] === 0n ? 1n : ids[i], traceIdHigh: '', spanId: 1n },
      resource: scenario.match ? 'POST /checkout' : 'GET /users/:id',
      tags: { 'http.status_code': '200', 'http.method': 'GET' }
    })
    roots.push(root)
  }
  const round = (n) => {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) {
      const root = roots[i & 1023]
      const trace = root.trace
      trace.samplingPriority = undefined
      trace.decisionMaker = undefined
      tracer.decideSampling(trace, root)
      sink += trace.samplingPriority
    }
    return Number(process.hrtime.bigint() - t0) / n
  }
  round(N / 5)
  const samples = []
  for (let i = 0; i < 7; i++) samples.push(round(N))
  samples.sort((a, b) => a - b)
  process.stdout.write(`${label.padEnd(48)} ${samples[3].toFixed(1)} ns/decision (min ${samples[0].toFixed(1)}, max ${samples[6].toFixed(1)})\n`)
}
// A baseline in the same run: the loop with the reset and a call that returns at once (priority set).
{
  const tracer = new CoreTracer({ service: 'shop', exporter: dropAll, flushOnExit: false })
  const root = tracer.startSpan('x')
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < N; i++) {
    root.trace.samplingPriority = 1
    tracer.decideSampling(root.trace, root)
  }
  process.stdout.write(`${'baseline (already decided: returns at once)'.padEnd(48)} ${(Number(process.hrtime.bigint() - t0) / N).toFixed(1)} ns\n`)
}
if (sink === 0.5) console.log(sink)
