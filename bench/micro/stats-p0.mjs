// Client-side stats and P0 dropping: CPU and bytes per trace at a 10% keep rate, with and without.
// Driver: `node bench/micro/stats-p0.mjs [--reps 5] [--traces 20000]` starts a sink that answers /info
// with client_drop_p0s (bench/sink.mjs --client-drop-p0s) and runs every variant in a fresh process
// pinned to CPU 0 (taskset), variants interleaved, and prints medians:
//   off   stats off (the default): every trace is encoded and sent, the agent drops 90% of them;
//   drop  statsComputation: stats over every trace, rejected traces never encoded nor sent.
// Each trace is a web request: a server root with the usual tags, a SQL child of another service and a
// plain child. sampleRate 0.1 with rateLimit -1 keeps 10% (rule sampling, no limiter in the way).
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(name)
  return i === -1 ? fallback : args[i + 1]
}
const here = fileURLToPath(new URL('.', import.meta.url))

if (args[0] === '--variant') {
  await measure(args[1], args[2], Number(args[3]))
} else {
  await drive(Number(option('--reps', 5)), Number(option('--traces', 20000)))
}

async function measure(variant, sinkUrl, traces) {
  const { createTracer } = await import('@datadog-apm/core')
  const tracer = createTracer({
    service: 'bench',
    env: 'bench',
    url: sinkUrl,
    flushIntervalMs: 3_600_000,
    maxQueueSpans: 10_000_000,
    flushOnExit: false,
    sampleRate: 0.1,
    rateLimit: -1,
    statsComputation: variant === 'drop'
  })
  async function round() {
    let requestPathNs = 0n
    for (let t = 0; t < traces; ) {
      const batchStart = process.hrtime.bigint()
      for (const end = Math.min(traces, t + 100); t < end; t++) {
        const root = tracer.startSpan('express.request', { childOf: null, resource: `GET /users/:id`, type: 'web' })
        root.setTag('http.method', 'GET')
        root.setTag('http.route', '/users/:id')
        root.setTag('http.url', `http://localhost:3000/users/${t}`)
        root.setTag('span.kind', 'server')
        const db = tracer.startSpan('pg.query', { childOf: root, service: 'postgres', type: 'sql', resource: 'SELECT * FROM users WHERE id = $1' })
        db.setTag('span.kind', 'client')
        db.finish()
        tracer.startSpan('render', { childOf: root }).finish()
        root.setTag('http.status_code', t % 50 === 0 ? '500' : '200')
        if (t % 50 === 0) root.setTag('error', true)
        root.finish()
      }
      requestPathNs += process.hrtime.bigint() - batchStart
      await new Promise((resolve) => setImmediate(resolve))
    }
    return requestPathNs
  }
  // Warm-up (also lets discovery read /info), then the measured round.
  await round()
  await tracer.flush()
  const before = tracer.health()
  const cpu0 = process.cpuUsage()
  const requestPathNs = await round()
  await tracer.flush()
  const cpu = process.cpuUsage(cpu0)
  const after = tracer.health()
  const statsBytes = (after.stats?.bytesSent ?? 0) - (before.stats?.bytesSent ?? 0)
  process.stdout.write(
    `${JSON.stringify({
      variant,
      node: process.version,
      traces,
      requestPathNsPerTrace: Number(requestPathNs) / traces,
      totalCpuNsPerTrace: ((cpu.user + cpu.system) * 1000) / traces,
      traceBytesPerTrace: (after.bytesSent - before.bytesSent) / traces,
      statsBytesPerTrace: statsBytes / traces,
      tracesSent: after.tracesSent - before.tracesSent,
      protocol: after.protocolVersion,
      dropP0s: after.stats?.dropP0s ?? false
    })}\n`
  )
  await tracer.shutdown()
  process.exit(0)
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

async function drive(reps, traces) {
  const sink = spawn(process.execPath, [`${here}../sink.mjs`, '0', '--client-drop-p0s'], { stdio: ['ignore', 'pipe', 'ignore'] })
  const [line] = await new Promise((resolve) => sink.stdout.once('data', (d) => resolve(d.toString().split('\n'))))
  const url = `http://127.0.0.1:${JSON.parse(line).port}`
  const pin = spawnSync('taskset', ['--version']).status === 0
  const results = { off: [], drop: [] }
  for (let r = 0; r < reps; r++) {
    for (const variant of r % 2 === 0 ? ['off', 'drop'] : ['drop', 'off']) {
      const argv = [`${here}stats-p0.mjs`, '--variant', variant, url, String(traces)]
      const out = spawnSync(pin ? 'taskset' : process.execPath, pin ? ['-c', '0', process.execPath, ...argv] : argv, { cwd: `${here}..`, encoding: 'utf8' })
      if (out.status !== 0) throw new Error(`${variant} failed: ${out.stderr}`)
      results[variant].push(JSON.parse(out.stdout.trim().split('\n').at(-1)))
    }
  }
  sink.kill('SIGTERM')
  const m = (variant, key) => median(results[variant].map((x) => x[key]))
  console.log(`# client stats + P0 dropping at a 10% keep rate — ${process.version}, ${reps} reps, ${traces} traces of 3 spans per process`)
  console.log('| variant | request path ns/trace | total CPU ns/trace | trace bytes/trace | stats bytes/trace | traces sent | protocol |')
  console.log('|---|---:|---:|---:|---:|---:|---|')
  for (const variant of ['off', 'drop']) {
    const first = results[variant][0]
    console.log(
      `| ${variant} | ${m(variant, 'requestPathNsPerTrace').toFixed(0)} | ${m(variant, 'totalCpuNsPerTrace').toFixed(0)} | ${m(variant, 'traceBytesPerTrace').toFixed(1)} | ${m(variant, 'statsBytesPerTrace').toFixed(2)} | ${m(variant, 'tracesSent')} | v${first.protocol}${first.dropP0s ? ', P0 dropped' : ''} |`
    )
  }
  const ratio = m('drop', 'totalCpuNsPerTrace') / m('off', 'totalCpuNsPerTrace')
  const bytes = (m('drop', 'traceBytesPerTrace') + m('drop', 'statsBytesPerTrace')) / m('off', 'traceBytesPerTrace')
  console.log(`\ndrop/off: total CPU ${ratio.toFixed(2)}×, bytes sent ${bytes.toFixed(2)}×`)
}
