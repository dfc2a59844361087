// The demo: an Express "web" service calling a Fastify "api" service, both traced, sending to the local
// intake (or to the agent at DD_TRACE_AGENT_URL), a short load, and a report of what arrived.
//
//   node examples/demo.mjs            run, report, keep running with the page open until Ctrl-C
//   node examples/demo.mjs --once     run, check, exit: 0 when every expected trace arrived whole
//   node examples/demo.mjs --port 0   the intake on any free port (default 8126, or a free one if taken)
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { startAgent } from '@datadog-apm/agent'
import { checkAnswers, checkHealth, checkMetrics, checkTraces, fetchFromIntake, fetchMetrics } from './demo/check.mjs'
import { REQUESTS, runLoad } from './demo/load.mjs'
import { startService } from './demo/services.mjs'
import { formatMs, paint } from './demo/style.mjs'

const DEFAULT_PORT = 8126
const SETTLE_TIMEOUT_MS = 10_000

const print = (line = '') => process.stdout.write(`${line}\n`)

function options() {
  try {
    const { values } = parseArgs({ options: { once: { type: 'boolean' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } } })
    const port = values.port === undefined ? undefined : /^\d+$/.test(values.port) && Number(values.port) <= 65535 ? Number(values.port) : NaN
    if (Number.isNaN(port)) throw new Error(`--port must be a port number, got ${JSON.stringify(values.port)}`)
    return { once: values.once === true, port, help: values.help === true }
  } catch (error) {
    process.stderr.write(`demo: ${error.message}\nusage: node examples/demo.mjs [--once] [--port <n>]\n`)
    process.exit(2)
  }
}

async function startIntake(port) {
  if (port !== undefined) return startAgent({ port })
  try {
    return await startAgent({ port: DEFAULT_PORT })
  } catch (error) {
    if (error.code !== 'EADDRINUSE') throw error
    const agent = await startAgent({ port: 0 })
    print(paint('yellow', `port ${DEFAULT_PORT} is taken (a Datadog Agent already running?); the local intake listens on ${agent.port} instead`))
    return agent
  }
}

function serviceEnv(name, agentUrl, intake, extra) {
  return {
    ...process.env,
    DD_SERVICE: name,
    DD_ENV: process.env.DD_ENV ?? 'demo',
    DD_VERSION: process.env.DD_VERSION ?? '1.0.0',
    DD_TRACE_AGENT_URL: agentUrl,
    // Sooner than the 2 s default, so the page fills while you watch; the services flush on exit anyway.
    DD_TRACE_FLUSH_INTERVAL: process.env.DD_TRACE_FLUSH_INTERVAL ?? '500',
    DD_TRACE_STARTUP_LOGS: 'false',
    DD_RUNTIME_METRICS_ENABLED: process.env.DD_RUNTIME_METRICS_ENABLED ?? 'true',
    // With the local intake: runtime metrics every 2 s rather than 10, so the charts move while you
    // watch, and its own DogStatsD port for the UDP fallback. A real agent gets dd-trace's defaults.
    ...(intake === undefined ? {} : { DD_RUNTIME_METRICS_FLUSH_INTERVAL: process.env.DD_RUNTIME_METRICS_FLUSH_INTERVAL ?? '2000', DD_DOGSTATSD_PORT: String(intake.dogstatsdPort) }),
    PORT: '0',
    ...extra
  }
}

function printMetrics(metrics) {
  const processes = metrics.processes.map((p) => `${p.service} (${p.runtimeId.slice(0, 8)}, ${p.names.length} metrics)`)
  print(`metrics: ${metrics.counts.series} series from ${processes.length} processes: ${processes.join(', ')}; on the page's Metrics tab`)
}

function printSummary(traces, summary) {
  const spans = traces.reduce((n, t) => n + t.spanCount, 0)
  const services = [...new Set(traces.flatMap((t) => t.services))].sort()
  const errors = traces.filter((t) => t.error).length
  print()
  print(paint('bold', `what arrived: ${traces.length} traces, ${spans} spans, ${errors} traces with errors; services: ${services.join(', ')}`))
  print(paint('dim', '  service  resource                     requests  errors       p50       p95'))
  // The services' entry spans; the client spans of the fetch are in the page's summary.
  for (const row of summary.filter((r) => r.name === 'express.request' || r.name === 'fastify.request')) {
    print(`  ${row.service.padEnd(7)}  ${row.resource.padEnd(28)} ${String(row.requests).padStart(8)}  ${String(row.errors).padStart(6)}  ${formatMs(row.p50Ns).padStart(8)}  ${formatMs(row.p95Ns).padStart(8)}`)
  }
}

async function settle(intakeUrl, results) {
  // Traces arrive at each service's flush interval; wait until they are whole, or give up and report.
  const deadline = Date.now() + SETTLE_TIMEOUT_MS
  for (;;) {
    const seen = await fetchFromIntake(intakeUrl)
    const problems = checkTraces(results, seen.traces, seen.violations)
    if (problems.length === 0 || Date.now() > deadline) return { ...seen, problems }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

async function main() {
  const { once, port, help } = options()
  if (help) {
    print('usage: node examples/demo.mjs [--once] [--port <n>]')
    return 0
  }
  const started = Date.now()
  const externalUrl = process.env.DD_TRACE_AGENT_URL || undefined
  const intake = externalUrl === undefined ? await startIntake(port) : undefined
  const agentUrl = externalUrl ?? intake.url
  const pageUrl = intake === undefined ? undefined : `${intake.url}/`

  print(paint('bold', 'datadog-apm demo'))
  print(intake === undefined
    ? `agent   ${agentUrl} (DD_TRACE_AGENT_URL; no local intake started)`
    : `intake  ${agentUrl}  (the local intake; its page: ${pageUrl})`)

  const services = []
  const stopAll = async () => Promise.all(services.splice(0).map(async (s) => ({ name: s.name, ...(await s.stop()) })))
  let stopping
  // Ctrl-C ends the demo, which is the way to end it: one goodbye line and exit status 0. The status
  // alone is not enough under `pnpm demo`: pnpm reports "Command failed" (exit 130) whenever it received
  // the terminal's SIGINT itself, whatever its child's status. So on a terminal the demo reads Ctrl-C as
  // a key (raw mode: no signal reaches the process group) and stops on its own; elsewhere the signal does.
  const stop = () => {
    stopping ??= (async () => {
      process.stdout.write(paint('dim', '\nstopping the services and the intake...'))
      await stopAll()
      await intake?.close()
      print(paint('dim', ' done. Bye.'))
      if (process.stdin.isTTY) process.stdin.setRawMode(false)
      process.exit(0)
    })()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  // The terminal went away (its window closed): stop the same way, though nothing can be shown any more.
  process.on('SIGHUP', () => {
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})
    stop()
  })
  if (!once && process.stdin.isTTY) {
    process.stdin.setRawMode(true)
    process.stdin.on('data', (key) => {
      // Ctrl-C, Ctrl-D or q.
      if (key.includes(0x03) || key.includes(0x04) || key.includes(0x71)) stop()
    })
  }

  try {
    const examples = fileURLToPath(new URL('./services/', import.meta.url))
    const api = await startService({ name: 'api', script: `${examples}api.mjs`, env: serviceEnv('api', agentUrl, intake), color: 'magenta', print })
    services.push(api)
    const web = await startService({ name: 'web', script: `${examples}web.mjs`, env: serviceEnv('web', agentUrl, intake, { API_URL: api.url }), color: 'cyan', print })
    services.push(web)
    print(`web     ${web.url}  (Express 5, service "web": try ${web.url}/shop/products/1)`)
    print(`api     ${api.url}  (Fastify 5, service "api")`)
    print()
    print(paint('bold', `load: ${REQUESTS.length} requests to web (products, a slow checkout, failing orders, 404s)`))
    const results = await runLoad(web.url)
    const problems = checkAnswers(results)

    if (once) {
      // Stopping flushes: after this, everything the services traced has been sent.
      const stopped = await stopAll()
      problems.push(...checkHealth(stopped))
      if (intake !== undefined) {
        const seen = await fetchFromIntake(intake.url)
        printSummary(seen.traces, seen.summary)
        problems.push(...checkTraces(results, seen.traces, seen.violations))
        const metrics = await fetchMetrics(intake.url)
        printMetrics(metrics)
        problems.push(...checkMetrics(results, metrics))
        await intake.close()
      } else {
        for (const { name, health } of stopped) {
          if (health) print(`${name}: sent ${health.tracesSent} traces (${health.spansSent} spans) to ${agentUrl}`)
        }
      }
      print()
      if (pageUrl !== undefined) print(`page    ${pageUrl} (closed now: run without --once to keep it open)`)
      return report(problems, started, intake === undefined)
    }

    if (intake !== undefined) {
      const seen = await settle(intake.url, results)
      printSummary(seen.traces, seen.summary)
      problems.push(...seen.problems)
      report(problems, started, false)
      print()
      print(paint('bold', `open ${pageUrl} to see the traces, their waterfalls and the summary`))
      print(`metrics: runtime metrics of web and api every 2 s, and web's shop.product.views counter: the Metrics tab`)
    } else {
      report(problems, started, true)
      print()
      print(`the traces went to the agent at ${agentUrl}: see them in Datadog APM`)
    }
    print(paint('dim', `the services keep running (web ${web.url}); Ctrl-C (or q) stops them and the intake`))
    await new Promise(() => {})
  } catch (error) {
    print(paint('red', `demo: FAILED: ${error.message}`))
    await stopAll()
    await intake?.close()
    return 1
  }
}

function report(problems, started, external) {
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  if (problems.length === 0) {
    print(paint('green', external
      ? `demo: OK: both services sent every trace to the agent without an error (${seconds} s)`
      : `demo: OK: every request became one whole trace across web and api, errors marked, no violations (${seconds} s)`))
    return 0
  }
  print(paint('red', `demo: FAILED (${problems.length} problems, ${seconds} s):`))
  for (const problem of problems) print(paint('red', `  - ${problem}`))
  return 1
}

// Exit at once: a keep-alive socket or a child's pipe must not hold the result back.
process.exit(await main())
