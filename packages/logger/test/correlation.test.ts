import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'node:test'
import { logIds, type Span, type Tracer } from '@datadog-apm/core'
import { createLogger } from '../src/index.js'
import { capture, close, ddOf, get, listen, makeTracer } from './helpers.js'

const HEX_128 = /^[0-9a-f]{32}$/
const DECIMAL = /^[1-9][0-9]*$/

test('inside real requests every line carries its own request\'s ids; 40 concurrent requests never mix', async () => {
  const tracer = makeTracer()
  const out = capture()
  const log = createLogger({ name: 'http', tracer, stream: out.stream })
  const server = createServer((req, res) => {
    void tracer.trace('web.request', async (span) => {
      const reqLog = log.child({ path: req.url })
      reqLog.info('start')
      // Random waits interleave the requests' continuations.
      await sleep(Math.floor(Math.random() * 10))
      reqLog.info('after a timer')
      await new Promise<void>((resolve) => setImmediate(resolve))
      reqLog.warn({ step: 3 }, 'after setImmediate')
      res.end(JSON.stringify(logIds(span)))
    })
  })
  const port = await listen(server)
  try {
    const bodies = await Promise.all(Array.from({ length: 40 }, (_, i) => get(port, `/r${i}`)))
    log.info('outside any request')
    const records = out.records()
    assert.equal(records.length, 40 * 3 + 1)
    const traceIds = new Set<string>()
    bodies.forEach((body, i) => {
      const ids = JSON.parse(body) as { traceId: string; spanId: string }
      const lines = records.filter((r) => r.path === `/r${i}`)
      assert.equal(lines.length, 3)
      for (const line of lines) {
        assert.deepEqual(ddOf(line), { trace_id: ids.traceId, span_id: ids.spanId, service: 'svc', env: 'test', version: '1.2.3' })
      }
      assert.match(ids.traceId, HEX_128, 'a trace started here is 128-bit')
      traceIds.add(ids.traceId)
    })
    assert.equal(traceIds.size, 40)
    assert.deepEqual(ddOf(records.at(-1)), { service: 'svc', env: 'test', version: '1.2.3' })
  } finally {
    await close(server)
  }
})

test('outside any span: service, env and version alone', () => {
  const out = capture()
  createLogger({ tracer: makeTracer(), stream: out.stream }).info('idle')
  assert.deepEqual(ddOf(out.records()[0]), { service: 'svc', env: 'test', version: '1.2.3' })
})

test('no dd at all when there is neither a span nor service, env or version', () => {
  const real = makeTracer()
  const bare = { config: { ...real.config, service: '', env: undefined, version: undefined } } as unknown as Tracer
  const out = capture()
  createLogger({ tracer: bare, stream: out.stream }).info('plain')
  assert.equal(out.lines()[0].includes('"dd"'), false)
})

test('env and version are left out of dd when the tracer has none', () => {
  const out = capture()
  // Whether DD_ENV or a package.json version exist where the tests run does not matter: the expected
  // keys are read from the config.
  const tracer = makeTracer({ env: undefined, version: undefined })
  const bare = { config: { ...tracer.config, env: undefined, version: undefined } } as unknown as Tracer
  const log = createLogger({ tracer: bare, stream: out.stream })
  log.info('idle')
  tracer.trace('op', () => log.info('in span'))
  const [idle, inSpan] = out.records()
  assert.deepEqual(ddOf(idle), { service: 'svc' })
  const expected = ['trace_id', 'span_id', 'service']
  if (tracer.config.env !== undefined) expected.push('env')
  if (tracer.config.version !== undefined) expected.push('version')
  assert.deepEqual(Object.keys(ddOf(inSpan)!), expected, 'in a span, the span\'s tracer config applies')
})

test('a 64-bit continued trace logs the decimal trace id; a local 128-bit trace 32 lowercase hex digits', () => {
  const tracer = makeTracer()
  const out = capture()
  const log = createLogger({ tracer, stream: out.stream })
  const continued = tracer.startSpan('continued', { childOf: { traceId: 123n, traceIdHigh: '', spanId: 456n } })
  tracer.withSpan(continued, () => log.info('64'))
  const local = tracer.startSpan('local', { childOf: null })
  tracer.withSpan(local, () => log.info('128'))
  const upstream128 = tracer.startSpan('continued128', { childOf: { traceId: 0xabcn, traceIdHigh: '65a1b2c300000000', spanId: 7n } })
  tracer.withSpan(upstream128, () => log.info('continued 128'))
  const [r64, r128, rUp] = out.records()
  assert.equal(ddOf(r64)?.trace_id, '123')
  assert.equal(ddOf(r64)?.span_id, continued.context().spanId.toString())
  assert.match(ddOf(r64)!.span_id, DECIMAL)
  assert.match(ddOf(r128)!.trace_id, HEX_128)
  assert.equal(ddOf(r128)?.trace_id, logIds(local).traceId)
  assert.equal(ddOf(r128)?.trace_id.slice(16), local.context().traceId.toString(16).padStart(16, '0'))
  assert.equal(ddOf(rUp)?.trace_id, '65a1b2c3000000000000000000000abc')
})

test('with 128-bit logging off, a 128-bit trace logs its low half in decimal (core\'s logIds decides)', () => {
  const tracer = makeTracer({ traceId128BitLogging: false })
  const out = capture()
  const log = createLogger({ tracer, stream: out.stream })
  const span = tracer.trace('op', (s) => {
    log.info('x')
    return s
  })
  assert.equal(ddOf(out.records()[0])?.trace_id, span.context().traceId.toString())
})

test('nested spans: each line has the innermost active span; after a span ends, its parent again', () => {
  const tracer = makeTracer()
  const out = capture()
  const log = createLogger({ tracer, stream: out.stream })
  let outer: Span | undefined
  let inner: Span | undefined
  tracer.trace('outer', (o) => {
    outer = o
    log.info('outer 1')
    tracer.trace('inner', (i) => {
      inner = i
      log.info('inner')
    })
    log.info('outer 2')
  })
  const spans = out.records().map((r) => ddOf(r)?.span_id)
  const id = (span: Span | undefined): string | undefined => span?.context().spanId.toString()
  assert.deepEqual(spans, [id(outer), id(inner), id(outer)])
})

test('the active span\'s tracer config names service, env and version, whatever the logger\'s tracer', () => {
  const loggerTracer = makeTracer({ service: 'logger-svc', env: 'a', version: '1' })
  const other = makeTracer({ service: 'other-svc', env: 'b', version: '2' })
  const out = capture()
  const log = createLogger({ tracer: loggerTracer, stream: out.stream })
  other.trace('op', () => log.info('in other'))
  log.info('idle')
  const [inOther, idle] = out.records()
  assert.deepEqual([ddOf(inOther)?.service, ddOf(inOther)?.env, ddOf(inOther)?.version], ['other-svc', 'b', '2'])
  assert.deepEqual(ddOf(idle), { service: 'logger-svc', env: 'a', version: '1' })
})

test('logInjection off (DD_LOGS_INJECTION=false) turns correlation off, in and outside spans', () => {
  const saved = process.env.DD_LOGS_INJECTION
  process.env.DD_LOGS_INJECTION = 'false'
  let tracer: Tracer
  try {
    tracer = makeTracer()
  } finally {
    if (saved === undefined) delete process.env.DD_LOGS_INJECTION
    else process.env.DD_LOGS_INJECTION = saved
  }
  assert.equal(tracer.config.logInjection, false)
  const out = capture()
  const log = createLogger({ tracer, stream: out.stream })
  log.info('idle')
  tracer.trace('op', () => log.info('in span'))
  for (const line of out.lines()) assert.equal(line.includes('"dd"'), false, line)
  assert.equal(out.lines().length, 2)
})

test('a dd given by the user is never replaced, bound or per call', () => {
  const tracer = makeTracer()
  const out = capture()
  const log = createLogger({ tracer, stream: out.stream })
  tracer.trace('op', () => {
    log.info({ dd: { custom: true } }, 'call dd')
    log.child({ dd: 'bound' }).info('bound dd')
    log.info('ours')
  })
  const lines = out.lines()
  assert.equal(lines[0].split('"dd":').length, 2)
  assert.deepEqual((JSON.parse(lines[0]) as Record<string, unknown>).dd, { custom: true })
  assert.equal(lines[1].split('"dd":').length, 2)
  assert.equal((JSON.parse(lines[1]) as Record<string, unknown>).dd, 'bound')
  assert.ok(ddOf(JSON.parse(lines[2]) as Record<string, unknown>)?.trace_id)
})

test('a disabled tracer\'s placeholder span names no trace', () => {
  const tracer = makeTracer({ enabled: false })
  const out = capture()
  const log = createLogger({ tracer, stream: out.stream })
  const span = tracer.startSpan('noop')
  tracer.withSpan(span, () => log.info('x'))
  assert.deepEqual(ddOf(out.records()[0]), { service: 'svc', env: 'test', version: '1.2.3' })
})
