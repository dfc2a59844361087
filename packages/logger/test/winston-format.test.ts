import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { logIds } from '@datadog-apm/core'
import winston from 'winston'
import { winstonFormat, type WinstonInfo } from '../src/index.js'
import { ddOf, makeTracer } from './helpers.js'

const tracer = makeTracer()
const { combine, json, errors } = winston.format

function winstonLogger(format: winston.Logform.Format) {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'))
      callback()
    }
  })
  const log = winston.createLogger({ level: 'debug', format, transports: [new winston.transports.Stream({ stream })] })
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>)
  return { log, records }
}

test('winston: a record inside a span carries dd; outside, service, env and version alone', () => {
  const { log, records } = winstonLogger(combine(winstonFormat({ tracer }), json()))
  const span = tracer.trace('op', (s) => {
    log.info('in span', { a: 1 })
    return s
  })
  log.warn('idle')
  const [inSpan, idle] = records()
  const ids = logIds(span)
  assert.deepEqual(ddOf(inSpan), { trace_id: ids.traceId, span_id: ids.spanId, service: 'svc', env: 'test', version: '1.2.3' })
  assert.equal(inSpan?.message, 'in span')
  assert.equal(inSpan?.a, 1)
  assert.deepEqual(ddOf(idle), { service: 'svc', env: 'test', version: '1.2.3' })
})

test('winston: the user\'s logged object is not given a dd (the record is a copy)', () => {
  const { log, records } = winstonLogger(combine(winstonFormat({ tracer }), json()))
  const mine: Record<string, unknown> = { message: 'object as record', user: 'u1' }
  tracer.trace('op', () => log.info(mine))
  assert.equal(Object.hasOwn(mine, 'dd'), false)
  assert.ok(ddOf(records()[0])?.trace_id)
  assert.equal(records()[0]?.user, 'u1')
})

test('winston: an existing dd is never overwritten', () => {
  const { log, records } = winstonLogger(combine(winstonFormat({ tracer }), json()))
  tracer.trace('op', () => log.info('mine', { dd: { custom: 1 } }))
  assert.deepEqual(records()[0]?.dd, { custom: 1 })
})

test('winston: a logged Error goes on as an Error, so format.errors() still finds its message and stack', () => {
  const { log, records } = winstonLogger(combine(winstonFormat({ tracer }), errors({ stack: true }), json()))
  const err = new Error('boom')
  tracer.trace('op', () => log.error(err))
  const [record] = records()
  assert.equal(record?.message, 'boom')
  assert.equal(record?.stack, err.stack)
  assert.ok(ddOf(record)?.trace_id)
  assert.equal(Object.hasOwn(err, 'dd'), false)
})

test('winston: transform on its own: frozen records, class instances and hostile records', () => {
  const format = winstonFormat({ tracer })
  const frozen = Object.freeze({ level: 'info', message: 'frozen' })
  const out = tracer.trace('op', () => format.transform(frozen))
  assert.notEqual(out, frozen)
  assert.equal(Object.hasOwn(frozen, 'dd'), false)
  assert.equal(out.message, 'frozen')
  assert.ok(((out as WinstonInfo).dd as { trace_id?: string }).trace_id)

  class Record implements WinstonInfo {
    [key: string | symbol]: unknown
    level = 'info'
    message = 'instance'
  }
  const instance = new Record()
  const copy = format.transform(instance)
  assert.ok(copy instanceof Record)
  assert.equal(Object.hasOwn(instance, 'dd'), false)
  assert.ok(copy.dd)

  const hostile = new Proxy({ level: 'info', message: 'x' }, {
    get(): never {
      throw new Error('trap')
    }
  })
  assert.equal(format.transform(hostile), hostile)

  const off = winstonFormat({ tracer: makeTracer({ logInjection: false }) })
  const plain = { level: 'info', message: 'x' }
  assert.equal(off.transform(plain), plain, 'nothing to add, the record passes through')
  assert.throws(() => winstonFormat({ tracer: {} as never }), /option tracer of winstonFormat/)
})

test('the adapters import neither winston nor pino: they stay optional peers', () => {
  const dir = new URL('../src/', import.meta.url)
  for (const file of readdirSync(dir)) {
    const text = readFileSync(new URL(file, dir), 'utf8')
    assert.doesNotMatch(text, /from '(winston|logform|pino|triple-beam)'|require\(|import\(/, file)
  }
})

// Type tests: the values type-check where winston expects a format (tsc -p tsconfig.check.json).
const asFormat: winston.Logform.Format = winstonFormat()
winston.createLogger({ format: combine(winstonFormat(), json()), transports: [] })
void asFormat
