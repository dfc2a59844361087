// What bench/http.mjs and bench/ab.mjs share: the sink, a benchmark server on CPU 0 and wrk on CPU 1.
import { spawn, spawnSync } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('..', import.meta.url))

/** `--name value` from the command line, or `fallback`. */
export function option(args, name, fallback) {
  const i = args.indexOf(name)
  return i === -1 ? fallback : args[i + 1]
}

/** Exits with a clear message when wrk is not installed. */
export function requireWrk(script) {
  if (spawnSync('wrk', ['--version']).error) {
    console.error(`${script} needs wrk (Debian: apt-get install wrk)`)
    process.exit(1)
  }
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export function lines(child) {
  let buffer = ''
  const waiters = []
  child.stdout.on('data', (d) => {
    buffer += d.toString()
    for (const w of [...waiters]) if (w.test(buffer)) w.resolve(buffer)
  })
  return (pattern) =>
    new Promise((resolve, reject) => {
      const w = { test: (b) => pattern.test(b), resolve: (b) => resolve(b.match(pattern)), reject }
      if (w.test(buffer)) w.resolve(buffer)
      else waiters.push(w)
      child.once('exit', (code) => reject(new Error(`exited ${code}`)))
    })
}

export async function startSink() {
  const child = spawn('taskset', ['-c', '1', process.execPath, `${here}sink.mjs`, '0'], { stdio: ['ignore', 'pipe', 'ignore'] })
  const match = await lines(child)(/\{"port":(\d+)\}/)
  return { child, url: `http://127.0.0.1:${match[1]}` }
}

export function parseWrk(text) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1])
  const requests = Number(/(\d+) requests in/.exec(text)?.[1])
  const unit = (v, u) => Number(v) * (u === 'us' ? 0.001 : u === 's' ? 1000 : 1)
  const p50 = /\s50%\s+([\d.]+)(us|ms|s)/.exec(text)
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(text)
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(text)
  return { rps, requests, p50: p50 ? unit(p50[1], p50[2]) : NaN, p99: p99 ? unit(p99[1], p99[2]) : NaN, errors: errors?.[0] }
}

export function wrk(url, secs) {
  const out = spawnSync('taskset', ['-c', '1', 'wrk', '-t1', '-c32', `-d${secs}s`, '--latency', url], { encoding: 'utf8' })
  return parseWrk(out.stdout)
}

/**
 * A benchmark server script on CPU 0 with its arguments, once it prints `ready <port>`: the process, its
 * stdout reader and the URL to load (`path`).
 */
export async function startScript(node, script, args, path) {
  const server = spawn('taskset', ['-c', '0', node, script, ...args], {
    cwd: here,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, DD_TRACE_STARTUP_LOGS: 'false', DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false', DD_REMOTE_CONFIGURATION_ENABLED: 'false' }
  })
  const read = lines(server)
  const [, port] = await read(/ready (\d+)/)
  return { server, read, url: `http://127.0.0.1:${port}${path}` }
}

/** The HTTP benchmark server (bench/http/server.cjs, or BENCH_SERVER) for one framework and variant. */
export function startServer(node, framework, variant, sinkUrl, path = '/users/42') {
  return startScript(node, process.env.BENCH_SERVER ?? `${here}http/server.cjs`, [framework, variant, sinkUrl], path)
}

/** One run: 2 s of wrk to warm up, then `seconds` measured (server CPU from the SIGUSR2 mark). */
export async function measure(node, framework, variant, sinkUrl, seconds) {
  const { server, read, url } = await startServer(node, framework, variant, sinkUrl)
  wrk(url, 2)
  server.kill('SIGUSR2')
  await sleep(50)
  const result = wrk(url, seconds)
  server.kill('SIGTERM')
  const [json] = await read(/\{"cpuSeconds".*\}/)
  const usage = JSON.parse(json)
  return { ...result, cpuUsPerRequest: (usage.cpuSeconds * 1e6) / result.requests, rssMb: usage.rssMb }
}

export const LOAD_WARMUP_S = 2

/**
 * Seconds of closed-loop load (wrk, 8 connections) before a fixed-rate run, so that the run measures warm
 * code. V8 optimizes a function after enough calls, not after enough time: at a few hundred requests a
 * second the 2 s warm-up at the run's own rate leaves it compiling through the measured window, and
 * that is what a low-rate run then reports (Fastify 5 on Node 24 at 200 req/s: untraced 302 µs a request
 * without this, 118 with it, medians of 3 runs).
 */
export const PREWARM_S = 3

/** `PREWARM_S` of wrk against `url` from CPU 1. */
export function prewarm(url) {
  spawnSync('taskset', ['-c', '1', 'wrk', '-t1', '-c8', `-d${PREWARM_S}s`, url], { stdio: 'ignore' })
}

/**
 * One run at a fixed rate (bench/load.mjs on CPU 1, open loop) after `prewarm` and a 2 s warm-up at that rate, against a
 * server from `startScript`, which it stops: load.mjs's latencies and counts, the server's CPU per answered
 * request and its event loop delay over the window.
 */
export async function loadAtRate({ server, read, url }, rate, seconds) {
  prewarm(url)
  const load = spawn('taskset', ['-c', '1', process.execPath, `${here}load.mjs`, url, String(rate), String(seconds), '--warmup', String(LOAD_WARMUP_S)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let text = ''
  load.stdout.on('data', (d) => (text += d))
  // Server CPU from the end of the warm-up (load.mjs connects for 200 ms first).
  const mark = setTimeout(() => server.kill('SIGUSR2'), LOAD_WARMUP_S * 1000 + 200)
  const code = await new Promise((resolve) => load.on('exit', resolve))
  clearTimeout(mark)
  server.kill('SIGTERM')
  const [json] = await read(/\{"cpuSeconds".*\}/)
  if (code !== 0) throw new Error(`load.mjs exited ${code}`)
  const result = JSON.parse(text.trim().split('\n').at(-1))
  const usage = JSON.parse(json)
  return { ...result, cpuUsPerRequest: result.measured > 0 ? (usage.cpuSeconds * 1e6) / result.measured : NaN, userUsPerRequest: result.measured > 0 ? (usage.userSeconds * 1e6) / result.measured : NaN, loopDelayP99Ms: usage.loopDelayP99Ms, loopDelayMaxMs: usage.loopDelayMaxMs }
}

/** `loadAtRate` against the HTTP benchmark server of one framework and variant. */
export async function measureAtRate(node, framework, variant, sinkUrl, rate, seconds, path = '/users/42') {
  return loadAtRate(await startServer(node, framework, variant, sinkUrl, path), rate, seconds)
}
