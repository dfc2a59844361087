// Paired A/B of two server variants: each pair runs A and B back to back (order alternating), and the
// answer is the median of the per-pair differences in server CPU per request. On shared machines whose
// speed drifts by tens of percent between runs, this resolves ~1-2 µs where medians of separate runs
// (bench/http.mjs) do not.
// Usage: node bench/ab.mjs FRAMEWORK VARIANT_A VARIANT_B [--pairs N] [--seconds S] [--node PATH]
// Variants are bench/http/server.cjs's (untraced, als-only, ours-noexport, ours, dd-trace, otel, disabled);
// BENCH_SERVER=path runs an experimental server taking the same arguments (for variants of your own).
import { spawn, spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(name)
  return i === -1 ? fallback : args[i + 1]
}
const [framework, a, b] = args
if (framework === undefined || a === undefined || b === undefined || a.startsWith('--') || b.startsWith('--')) {
  console.error('usage: node bench/ab.mjs FRAMEWORK VARIANT_A VARIANT_B [--pairs N] [--seconds S] [--node PATH]')
  process.exit(2)
}
const pairs = Number(option('--pairs', 8))
const seconds = Number(option('--seconds', 4))
const node = resolve(option('--node', process.execPath))
if (spawnSync('wrk', ['--version']).error) {
  console.error('bench/ab.mjs needs wrk (Debian: apt-get install wrk)')
  process.exit(1)
}

/** Resolves with the first match of `pattern` in what `child` writes to stdout. */
function waitFor(child, pattern) {
  return new Promise((resolve, reject) => {
    let text = ''
    child.stdout.on('data', (d) => {
      text += d
      const m = pattern.exec(text)
      if (m) resolve(m)
    })
    child.once('exit', (code) => reject(new Error(`exited ${code} before printing ${pattern}`)))
  })
}

const median = (values) => {
  const sorted = [...values].sort((x, y) => x - y)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const sink = spawn('taskset', ['-c', '1', process.execPath, `${here}sink.mjs`, '0'], { stdio: ['ignore', 'pipe', 'ignore'] })
const sinkUrl = `http://127.0.0.1:${(await waitFor(sink, /"port":(\d+)/))[1]}`

async function run(variant) {
  const server = spawn('taskset', ['-c', '0', node, process.env.BENCH_SERVER ?? `${here}http/server.cjs`, framework, variant, sinkUrl], {
    cwd: here,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, DD_TRACE_STARTUP_LOGS: 'false', DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false', DD_REMOTE_CONFIGURATION_ENABLED: 'false' }
  })
  const usage = waitFor(server, /\{"cpuSeconds".*\}/)
  const url = `http://127.0.0.1:${(await waitFor(server, /ready (\d+)/))[1]}/users/42`
  spawnSync('taskset', ['-c', '1', 'wrk', '-t1', '-c32', '-d2s', url])
  server.kill('SIGUSR2')
  await sleep(50)
  const out = spawnSync('taskset', ['-c', '1', 'wrk', '-t1', '-c32', `-d${seconds}s`, url], { encoding: 'utf8' })
  const requests = Number(/(\d+) requests in/.exec(out.stdout)?.[1])
  server.kill('SIGTERM')
  const cpu = JSON.parse((await usage)[0]).cpuSeconds
  return (cpu * 1e6) / requests
}

const diffs = []
const cpuA = []
const cpuB = []
try {
  for (let i = 0; i < pairs; i++) {
    const result = {}
    for (const variant of i % 2 === 0 ? [a, b] : [b, a]) result[variant] = await run(variant)
    cpuA.push(result[a])
    cpuB.push(result[b])
    diffs.push(result[b] - result[a])
    console.log(`pair ${i + 1}: ${a} ${result[a].toFixed(1)}  ${b} ${result[b].toFixed(1)}  µs/req, difference ${(result[b] - result[a]).toFixed(1)}`)
  }
} finally {
  sink.kill('SIGTERM')
}
const worse = diffs.filter((d) => d > 0).length
console.log(
  `${framework}, Node ${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()}: ${b} − ${a} = ${median(diffs).toFixed(2)} µs/req (median of ${pairs} pairs; ${b} higher in ${worse}); medians ${a} ${median(cpuA).toFixed(1)}, ${b} ${median(cpuB).toFixed(1)}`
)
