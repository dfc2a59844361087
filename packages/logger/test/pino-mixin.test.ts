import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'node:test'
import { logIds, type Span } from '@datadog-apm/core'
import pino from 'pino'
import { pinoMixin } from '../src/index.js'
import { capture, close, ddOf, get, listen, makeTracer } from './helpers.js'

const tracer = makeTracer()

function pinoWithMixin(options: pino.LoggerOptions = {}) {
  const out = capture()
  const log = pino({ level: 'trace', mixin: pinoMixin({ tracer }), ...options }, out.stream)
  return { out, log }
}

test('pino: a record inside a span carries dd with the span\'s ids, service, env and version', () => {
  const { out, log } = pinoWithMixin()
  const span = tracer.trace('op', (s) => {
    log.info({ a: 1 }, 'in span')
    return s
  })
  const [record] = out.records()
  const ids = logIds(span)
  assert.deepEqual(ddOf(record), { trace_id: ids.traceId, span_id: ids.spanId, service: 'svc', env: 'test', version: '1.2.3' })
  assert.equal(record?.msg, 'in span')
  assert.equal(record?.a, 1)
})

test('pino: outside any span, service, env and version alone; a continued 64-bit trace in decimal', () => {
  const { out, log } = pinoWithMixin()
  log.info('idle')
  const continued = tracer.startSpan('continued', { childOf: { traceId: 123n, traceIdHigh: '', spanId: 456n } })
  tracer.withSpan(continued, () => log.info('continued'))
  const [idle, inSpan] = out.records()
  assert.deepEqual(ddOf(idle), { service: 'svc', env: 'test', version: '1.2.3' })
  assert.equal(ddOf(inSpan)?.trace_id, '123')
})

test('pino: the logged object is never mutated (a frozen one works) and errors keep pino\'s serializer', () => {
  const { out, log } = pinoWithMixin()
  const fields = Object.freeze({ user: 'u1' })
  const err = new Error('boom')
  tracer.trace('op', () => {
    log.info(fields, 'frozen')
    log.error(err, 'failed')
  })
  assert.deepEqual(Object.keys(fields), ['user'])
  assert.equal(Object.hasOwn(err, 'dd'), false)
  const [r1, r2] = out.records()
  assert.ok(ddOf(r1)?.trace_id)
  assert.ok(ddOf(r2)?.trace_id)
  assert.equal((r2?.err as { message: string }).message, 'boom')
})

test('pino: a dd the user logs, binds in a child or sets in base is kept, and written once', () => {
  const { out, log } = pinoWithMixin()
  const based = pinoWithMixin({ base: { dd: 'from base' } })
  tracer.trace('op', () => {
    log.info({ dd: { mine: true } }, 'call')
    log.child({ dd: 'bound' }).info('child')
    log.child({ other: 1 }).info('child without dd')
    based.log.info('base')
  })
  const lines = [...out.lines(), ...based.out.lines()]
  for (const line of lines) assert.equal(line.split('"dd":').length, 2, line)
  const [call, child, plainChild, base] = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  assert.deepEqual(call?.dd, { mine: true })
  assert.equal(child?.dd, 'bound')
  assert.ok(ddOf(plainChild)?.trace_id)
  assert.equal(base?.dd, 'from base')
})

test('pino: logInjection off adds nothing', () => {
  const off = makeTracer({ logInjection: false })
  const out = capture()
  const log = pino({ mixin: pinoMixin({ tracer: off }) }, out.stream)
  log.info('idle')
  off.trace('op', () => log.info('in span'))
  for (const line of out.lines()) assert.equal(line.includes('"dd"'), false)
})

test('pino: per-request child loggers in a real server; 30 concurrent requests never mix ids', async () => {
  const { out, log } = pinoWithMixin()
  const server = createServer((req, res) => {
    void tracer.trace('web.request', async (span: Span) => {
      const reqLog = log.child({ path: req.url })
      reqLog.info('start')
      await sleep(Math.floor(Math.random() * 8))
      reqLog.info('end')
      res.end(JSON.stringify(logIds(span)))
    })
  })
  const port = await listen(server)
  try {
    const bodies = await Promise.all(Array.from({ length: 30 }, (_, i) => get(port, `/p${i}`)))
    const records = out.records()
    assert.equal(records.length, 60)
    bodies.forEach((body, i) => {
      const ids = JSON.parse(body) as { traceId: string; spanId: string }
      for (const record of records.filter((r) => r.path === `/p${i}`)) {
        assert.equal(ddOf(record)?.trace_id, ids.traceId)
        assert.equal(ddOf(record)?.span_id, ids.spanId)
      }
    })
  } finally {
    await close(server)
  }
})

test('pino: the options Fastify passes to pino type-check and work (`Fastify({ logger: { mixin: pinoMixin() } })`)', () => {
  // Fastify hands its `logger` options object to pino unchanged; this is that object.
  const fastifyLoggerOptions: pino.LoggerOptions = { level: 'info', mixin: pinoMixin({ tracer }) }
  const out = capture()
  const log = pino(fastifyLoggerOptions, out.stream)
  tracer.trace('op', () => log.child({ reqId: 'req-1' }).info('incoming request'))
  assert.ok(ddOf(out.records()[0])?.trace_id)
})

test('pino: a mixin that fails costs the record its dd, never the record', () => {
  const out = capture()
  const log = pino({ mixin: pinoMixin({ tracer }) }, out.stream)
  const hostileBindings = {
    bindings(): never {
      throw new Error('bindings')
    }
  }
  const mixin = pinoMixin({ tracer })
  assert.deepEqual(mixin({}, 30, hostileBindings), {})
  log.info('still written')
  assert.equal(out.records()[0]?.msg, 'still written')
  assert.throws(() => pinoMixin({ tracer: {} as never }), /option tracer of pinoMixin/)
})
