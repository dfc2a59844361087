// One correlated log line (inside an active span) of @datadog-apm/logger against plain pino, in one
// process: interleaved rounds, median ns per line, ratio ours / pino. Also pino with our pinoMixin, and
// a run where two requests' spans alternate line by line (the per-span id cache misses every time).
//
//   cd /work/main && npx tsc -b packages/logger && node bench/logger-line.mjs [--rounds 15] [--lines 20000]
//
// Both loggers write to the same kind of destination: a no-op stream (formatting cost alone) and
// pino.destination('/dev/null', sync) (formatting plus one write(2) per line, pino's fastest real sink).
import { createTracer } from '@datadog-apm/core'
import { InMemoryExporter } from '@datadog-apm/core/testing'
import { createLogger, pinoMixin } from '@datadog-apm/logger'
import pino from 'pino'

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const ROUNDS = arg('rounds', 15)
const LINES = arg('lines', 20_000)

const tracer = createTracer({ service: 'bench', env: 'prod', version: '1.0.0', exporter: new InMemoryExporter(), flushOnExit: false })

function loggers(makeStream) {
  return {
    ours: createLogger({ name: 'bench', level: 'info', tracer, stream: makeStream() }),
    pino: pino({ name: 'bench', level: 'info' }, makeStream()),
    'pino+pinoMixin': pino({ name: 'bench', level: 'info', mixin: pinoMixin({ tracer }) }, makeStream())
  }
}

const destinations = {
  'no-op stream': () => ({ write() {} }),
  '/dev/null (sync sonic-boom)': () => pino.destination({ dest: '/dev/null', sync: true })
}

const shapes = {
  'message only': (log) => log.info('request handled'),
  'message + 3 fields': (log) => log.info({ userId: 42, route: '/users/:id', durationMs: 12.5 }, 'request handled')
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[sorted.length >> 1]
}

// Runs every candidate once per round, in an order rotated each round, so drift (GC, CPU frequency)
// spreads over all of them; the first round is warm-up and not counted.
function measure(candidates, run) {
  const names = Object.keys(candidates)
  const samples = Object.fromEntries(names.map((name) => [name, []]))
  for (let round = 0; round <= ROUNDS; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length]
      const log = candidates[name]
      const start = process.hrtime.bigint()
      run(log)
      const ns = Number(process.hrtime.bigint() - start) / LINES
      if (round > 0) samples[name].push(ns)
    }
  }
  return Object.fromEntries(names.map((name) => [name, median(samples[name])]))
}

function report(title, result) {
  const base = result.pino
  console.log(`\n${title}`)
  for (const [name, ns] of Object.entries(result)) {
    console.log(`  ${name.padEnd(16)} ${ns.toFixed(0).padStart(6)} ns/line   ${(ns / base).toFixed(2)}x pino`)
  }
}

console.log(`node ${process.version}, ${ROUNDS} rounds x ${LINES} lines, median per round`)
for (const [destination, makeStream] of Object.entries(destinations)) {
  const candidates = loggers(makeStream)
  for (const [shape, line] of Object.entries(shapes)) {
    const result = tracer.trace('bench.request', () =>
      measure(candidates, (log) => {
        for (let i = 0; i < LINES; i++) line(log)
      })
    )
    report(`${shape}, one active span, ${destination}`, result)
  }
}

// Two requests interleaved: every line comes from another span than the one before. The withSpan cost
// is in every candidate's time, plain pino's included.
{
  const candidates = loggers(destinations['no-op stream'])
  const a = tracer.startSpan('request.a')
  const b = tracer.startSpan('request.b')
  const line = shapes['message only']
  const result = measure(candidates, (log) => {
    for (let i = 0; i < LINES; i += 2) {
      tracer.withSpan(a, () => line(log))
      tracer.withSpan(b, () => line(log))
    }
  })
  report('message only, two spans alternating line by line, no-op stream', result)
}
