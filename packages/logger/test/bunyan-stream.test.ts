import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'node:test'
import { HttpServerTracing, logIds } from '@datadog-apm/core'
import { InMemoryExporter } from '@datadog-apm/core/testing'
import bunyan from 'bunyan'
import { bunyanStream } from '../src/index.js'
import { capture, close, ddOf, get, listen, makeTracer, warnings } from './helpers.js'

const tracer = makeTracer()

function bunyanLogger(options: Partial<bunyan.LoggerOptions> = {}, raw = true) {
  const out = capture()
  const stream = bunyanStream({ tracer, stream: out.stream })
  const log = bunyan.createLogger({ name: 'shop', streams: [raw ? { type: 'raw', level: 'trace', stream } : { level: 'trace', stream: stream }], ...options })
  return { out, log }
}

test('bunyan: a record inside a span carries dd with the span\'s ids, service, env and version; bunyan\'s fields stay', () => {
  const { out, log } = bunyanLogger()
  const span = tracer.trace('op', (s) => {
    log.info({ a: 1 }, 'in span')
    return s
  })
  const [record] = out.records()
  const ids = logIds(span)
  assert.deepEqual(ddOf(record), { trace_id: ids.traceId, span_id: ids.spanId, service: 'svc', env: 'test', version: '1.2.3' })
  assert.equal(record?.msg, 'in span')
  assert.equal(record?.a, 1)
  assert.equal(record?.name, 'shop')
  assert.equal(record?.level, 30)
  assert.equal(record?.v, 0)
  assert.match(String(record?.time), /^\d{4}-\d\d-\d\dT/)
})

test('bunyan: outside any span, service, env and version alone; a continued 64-bit trace in decimal', () => {
  const { out, log } = bunyanLogger()
  log.info('idle')
  const continued = tracer.startSpan('continued', { childOf: { traceId: 123n, traceIdHigh: '', spanId: 456n } })
  tracer.withSpan(continued, () => log.info('continued'))
  const [idle, inSpan] = out.records()
  assert.deepEqual(ddOf(idle), { service: 'svc', env: 'test', version: '1.2.3' })
  assert.equal(ddOf(inSpan)?.trace_id, '123')
})

test('bunyan: as a plain (non-raw) stream it gets bunyan\'s line and adds dd the same way', () => {
  const { out, log } = bunyanLogger({}, false)
  const span = tracer.trace('op', (s) => {
    log.warn({ user: 'u1' }, 'plain')
    return s
  })
  const [record] = out.records()
  assert.equal(ddOf(record)?.span_id, logIds(span).spanId)
  assert.equal(record?.user, 'u1')
  assert.equal(out.lines()[0]?.split('"dd":').length, 2)
})

test('bunyan: the record object is not changed, a dd the user logs or binds is kept and written once, errors keep bunyan\'s serializer', () => {
  const out = capture()
  const seen: object[] = []
  const log = bunyan.createLogger({
    name: 'shop',
    serializers: bunyan.stdSerializers,
    streams: [
      { type: 'raw', stream: bunyanStream({ tracer, stream: out.stream }) },
      { type: 'raw', stream: { write: (record: object) => void seen.push(record) } }
    ]
  })
  tracer.trace('op', () => {
    log.info({ dd: { mine: true } }, 'call')
    log.child({ dd: 'bound' }).info('child')
    log.error(new Error('boom'), 'failed')
  })
  const lines = out.lines()
  for (const line of lines) assert.equal(line.split('"dd":').length, 2, line)
  const [call, child, failed] = out.records()
  assert.deepEqual(call?.dd, { mine: true })
  assert.equal(child?.dd, 'bound')
  assert.ok(ddOf(failed)?.trace_id)
  assert.equal((failed?.err as { message: string }).message, 'boom')
  assert.ok((failed?.err as { stack: string }).stack.includes('Error: boom'))
  // The other raw stream got bunyan's record as bunyan made it, without ours.
  assert.equal(Object.hasOwn(seen[2] ?? {}, 'dd'), false)
})

test('bunyan: logInjection off adds nothing; a record that JSON cannot take is still written', () => {
  const off = makeTracer({ logInjection: false })
  const out = capture()
  const log = bunyan.createLogger({ name: 'shop', streams: [{ type: 'raw', stream: bunyanStream({ tracer: off, stream: out.stream }) }] })
  log.info('idle')
  off.trace('op', () => log.info('in span'))
  for (const line of out.lines()) assert.equal(line.includes('"dd"'), false)

  const { out: out2, log: log2 } = bunyanLogger()
  const cyclic: Record<string, unknown> = { name: 'loop' }
  cyclic.self = cyclic
  tracer.trace('op', () => log2.info({ cyclic, big: 10n }, 'odd values'))
  const [record] = out2.records()
  assert.equal(record?.msg, 'odd values')
  assert.deepEqual(record?.cyclic, { name: 'loop', self: '[Circular]' })
  assert.equal(record?.big, '10')
  assert.ok(ddOf(record)?.trace_id)
})

test('bunyan: options are checked (a stream without write is a TypeError, a misspelled key one warning)', () => {
  assert.throws(() => bunyanStream({ stream: {} as never }), /option stream of bunyanStream/)
  assert.throws(() => bunyanStream({ tracer: {} as never }), /option tracer of bunyanStream/)
  const { sink, seen } = warnings()
  const own = makeTracer({ diagnostics: sink })
  bunyanStream({ tracer: own, stream: capture().stream, sream: 1 } as never)
  assert.deepEqual(seen, ['datadog-apm: bunyanStream: unknown option sream is ignored; did you mean stream?\n'])
})

test('bunyan in a traced web server: request spans as the framework packages make them, 30 concurrent requests, ids never mixed', async () => {
  const exporter = new InMemoryExporter()
  const webTracer = makeTracer({ service: 'web', exporter })
  const tracing = new HttpServerTracing('express', { tracer: webTracer })
  const out = capture()
  const log = bunyan.createLogger({ name: 'web', streams: [{ type: 'raw', stream: bunyanStream({ tracer: webTracer, stream: out.stream }) }] })
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const reqLog = log.child({ path: req.url })
    reqLog.info('start')
    await sleep(Math.floor(Math.random() * 8))
    webTracer.trace('load.item', () => reqLog.info('loading'))
    reqLog.info('end')
    res.end('ok')
  }
  const server = createServer((req, res) => {
    const span = tracing.start(req)
    if (span === undefined) return void handle(req, res)
    res.on('close', () => tracing.finish(span, req, res, req.url ?? '/', '/p/:id', undefined))
    webTracer.withSpan(span, () => void handle(req, res))
  })
  const port = await listen(server)
  try {
    await Promise.all(Array.from({ length: 30 }, (_, i) => get(port, `/p/${i}`)))
  } finally {
    await close(server)
  }
  await webTracer.flush()
  const spans = exporter.spans()
  const records = out.records()
  assert.equal(records.length, 90)
  for (let i = 0; i < 30; i++) {
    const root = spans.find((s) => s.name === 'express.request' && s.getTag('http.url')?.toString().endsWith(`/p/${i}`))
    assert.ok(root, `the request span of /p/${i}`)
    const child = spans.find((s) => s.name === 'load.item' && s.parentId === root.spanId)
    assert.ok(child, `the child span of /p/${i}`)
    const mine = records.filter((r) => r.path === `/p/${i}`)
    assert.equal(mine.length, 3)
    for (const record of mine) {
      const dd = ddOf(record)
      assert.equal(dd?.service, 'web')
      assert.equal(BigInt(`0x${dd?.trace_id ?? ''}`) & 0xffffffffffffffffn, root.traceId, `trace of ${String(record.msg)} on /p/${i}`)
      assert.equal(dd?.span_id, String(record.msg === 'loading' ? child.spanId : root.spanId), `span of ${String(record.msg)} on /p/${i}`)
    }
  }
})
