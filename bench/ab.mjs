// Paired A/B of two server variants: each pair runs A and B back to back (order alternating), and the
// answer is the median of the per-pair differences in server CPU per request. On shared machines whose
// speed drifts by tens of percent between runs, this resolves ~1-2 µs where medians of separate runs
// (bench/http.mjs) do not.
// Usage: node bench/ab.mjs FRAMEWORK VARIANT_A VARIANT_B [--pairs N] [--seconds S] [--node PATH]
// Variants are bench/http/server.cjs's (untraced, als-only, ours-noexport, ours, dd-trace, otel, disabled);
// BENCH_SERVER=path runs an experimental server taking the same arguments (for variants of your own).
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { measure, median, option as optionOf, requireWrk, startSink } from './http/driver.mjs'

const args = process.argv.slice(2)
const option = (name, fallback) => optionOf(args, name, fallback)
const [framework, a, b] = args
if (framework === undefined || a === undefined || b === undefined || a.startsWith('--') || b.startsWith('--')) {
  console.error('usage: node bench/ab.mjs FRAMEWORK VARIANT_A VARIANT_B [--pairs N] [--seconds S] [--node PATH]')
  process.exit(2)
}
const pairs = Number(option('--pairs', 8))
const seconds = Number(option('--seconds', 4))
const node = resolve(option('--node', process.execPath))
requireWrk('bench/ab.mjs')

const sink = await startSink()
const run = async (variant) => (await measure(node, framework, variant, sink.url, seconds)).cpuUsPerRequest

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
  sink.child.kill('SIGTERM')
}
const worse = diffs.filter((d) => d > 0).length
console.log(
  `${framework}, Node ${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()}: ${b} − ${a} = ${median(diffs).toFixed(2)} µs/req (median of ${pairs} pairs; ${b} higher in ${worse}); medians ${a} ${median(cpuA).toFixed(1)}, ${b} ${median(cpuB).toFixed(1)}`
)
