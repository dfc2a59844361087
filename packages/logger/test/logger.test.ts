import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { createLogger, pinoMixin, winstonFormat, type LevelName } from '../src/index.js'
import { capture, ddOf, makeTracer, warnings } from './helpers.js'

const tracer = makeTracer()
const METHODS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const

function withEnv<R>(name: string, value: string | undefined, fn: () => R): R {
  const saved = process.env[name]
  if (value === undefined) delete process.env[name]
  else process.env[name] = value
  try {
    return fn()
  } finally {
    if (saved === undefined) delete process.env[name]
    else process.env[name] = saved
  }
}

test('a line: level, epoch-ms timestamp, message, logger.name, fields, dd, in that order, one per call', () => {
  const out = capture()
  const log = createLogger({ name: 'api', tracer, stream: out.stream, level: 'info' })
  const before = Date.now()
  log.info({ userId: 42, ok: true, ratio: 0.5, none: null }, 'hello')
  const [line] = out.lines()
  assert.equal(out.chunks.length, 1, 'one write per line')
  const record = JSON.parse(line) as Record<string, unknown>
  assert.deepEqual(Object.keys(record), ['level', 'timestamp', 'message', 'logger.name', 'userId', 'ok', 'ratio', 'none', 'dd'])
  assert.equal(record.level, 'info')
  assert.ok(typeof record.timestamp === 'number' && record.timestamp >= before && record.timestamp <= Date.now())
  assert.equal(record.message, 'hello')
  assert.equal(record['logger.name'], 'api')
  assert.deepEqual(ddOf(record), { service: 'svc', env: 'test', version: '1.2.3' })
})

test('call shapes as in pino: message, fields + message, fields alone, error + message, error alone', () => {
  const out = capture()
  const log = createLogger({ tracer, stream: out.stream })
  log.info('just a message')
  log.info({ a: 1 }, 'fields and message')
  log.info({ a: 2 })
  const err = new RangeError('out of range')
  log.error(err, 'it failed')
  log.error(err)
  log.info()
  log.info(undefined as unknown as object, 'after undefined')
  const [r1, r2, r3, r4, r5, r6, r7] = out.records()
  assert.equal(r1?.message, 'just a message')
  assert.equal(r2?.message, 'fields and message')
  assert.equal(r2?.a, 1)
  assert.equal(r3?.message, undefined, 'no message key when none was given')
  assert.equal(r3?.a, 2)
  assert.equal(r4?.message, 'it failed')
  assert.deepEqual(Object.keys(r4?.error as object), ['kind', 'message', 'stack'])
  assert.equal(r5?.message, 'out of range', 'the error message stands in for a missing message')
  assert.equal((r5?.error as { kind: string }).kind, 'RangeError')
  assert.equal(r6?.message, undefined)
  assert.equal(r7?.message, 'after undefined')
  assert.equal(out.records().length, 7)
})

test('methods work detached from the logger (no `this`)', () => {
  const out = capture()
  const { info, warn } = createLogger({ tracer, stream: out.stream }).child({ bound: 1 })
  const handlers = [info, warn]
  for (const fn of handlers) fn('detached')
  assert.deepEqual(out.records().map((r) => [r.level, r.bound]), [['info', 1], ['warn', 1]])
})

test('errors: kind, message, stack, own fields such as code, and the cause chain; err is written as error', () => {
  const out = capture()
  const log = createLogger({ tracer, stream: out.stream })
  class DbError extends Error {
    code = 'ECONNRESET'
  }
  const err = new DbError('query failed', { cause: new TypeError('socket closed') })
  log.error({ err, query: 'select 1' }, 'db')
  log.warn({ failure: new Error('kept under its own key') })
  const [r1, r2] = out.records()
  const error = r1?.error as Record<string, unknown>
  assert.equal(r1?.err, undefined)
  assert.equal(error.kind, 'Error', 'err.name, as core writes error.type on spans')
  assert.equal(error.message, 'query failed')
  assert.equal(error.stack, err.stack)
  assert.equal(error.code, 'ECONNRESET')
  assert.deepEqual(Object.keys(error.cause as object), ['kind', 'message', 'stack'])
  assert.equal((error.cause as { kind: string }).kind, 'TypeError')
  assert.equal(r1?.query, 'select 1')
  assert.equal((r2?.failure as { message: string }).message, 'kept under its own key')
})

test('a child carries its bindings and its parent\'s, and its own level; the parent is unchanged', () => {
  const out = capture()
  const log = createLogger({ name: 'root', tracer, stream: out.stream, fields: { app: 'shop' } })
  const child = log.child({ requestId: 'r1' })
  const grandchild = child.child({ step: 2 }, { level: 'warn' })
  child.info('from child')
  grandchild.info('dropped: below warn')
  grandchild.warn({ extra: true }, 'from grandchild')
  log.info('from root')
  const [r1, r2, r3] = out.records()
  assert.deepEqual(Object.keys(r1), ['level', 'timestamp', 'message', 'logger.name', 'app', 'requestId', 'dd'])
  assert.equal(r2?.message, 'from grandchild')
  assert.deepEqual([r2?.app, r2?.requestId, r2?.step, r2?.extra], ['shop', 'r1', 2, true])
  assert.equal(r3?.requestId, undefined)
  assert.equal(out.records().length, 3)
  assert.equal(grandchild.level, 'warn')
  assert.equal(child.level, 'info')
})

test('bindings are serialized when the child is made, as in pino', () => {
  const out = capture()
  const state = { n: 1 }
  const child = createLogger({ tracer, stream: out.stream }).child({ state })
  state.n = 2
  child.info('x')
  assert.deepEqual(out.records()[0]?.state, { n: 1 })
})

test('fields named like the line\'s own keys are dropped, so a line never has two of them', () => {
  const out = capture()
  const log = createLogger({ name: 'real', tracer, stream: out.stream }).child({ level: 'fatal', 'logger.name': 'fake' })
  log.info({ level: 'fatal', timestamp: 0, message: 'forged', kept: 1 }, 'real message')
  const [line] = out.lines()
  for (const key of ['level', 'timestamp', 'message', 'logger.name']) {
    assert.equal(line.split(`"${key}":`).length, 2, `${key} appears once`)
  }
  const record = out.records()[0]
  assert.deepEqual([record?.level, record?.message, record?.['logger.name'], record?.kept], ['info', 'real message', 'real', 1])
})

test('level filtering: at each threshold the threshold is the last level written and the one below it the first refused', () => {
  for (let t = 0; t < METHODS.length; t++) {
    const threshold = METHODS[t]
    const out = capture()
    const log = createLogger({ level: threshold, tracer, stream: out.stream })
    for (const method of METHODS) log[method](method)
    assert.deepEqual(
      out.records().map((r) => r.message),
      METHODS.slice(t),
      `threshold ${threshold}`
    )
    if (t > 0) assert.equal(log.isLevelEnabled(METHODS[t - 1]), false)
    assert.equal(log.isLevelEnabled(threshold), true)
  }
  const out = capture()
  const silent = createLogger({ level: 'silent', tracer, stream: out.stream })
  for (const method of METHODS) silent[method]('x')
  assert.deepEqual(out.chunks, [])
  assert.equal(silent.isLevelEnabled('fatal'), false)
})

test('a disabled level is the shared no-op: every disabled method of every logger is one function', () => {
  const a = createLogger({ level: 'error', tracer, stream: capture().stream })
  const b = createLogger({ level: 'fatal', tracer, stream: capture().stream }).child({ x: 1 })
  assert.equal(a.info, a.debug)
  assert.equal(a.info, b.error)
  assert.equal(a.info.length, 0)
  assert.notEqual(a.error, a.info)
})

test('the level can be changed at run time; an unknown name throws a TypeError and keeps the level', () => {
  const out = capture()
  const log = createLogger({ level: 'info', tracer, stream: out.stream })
  log.debug('not yet')
  log.level = 'debug'
  log.debug('now')
  assert.throws(() => {
    log.level = 'verbose' as LevelName
  }, TypeError)
  assert.equal(log.level, 'debug')
  assert.deepEqual(out.records().map((r) => r.message), ['now'])
})

test('level: the option, else LOG_LEVEL, else info; DD_LOG_LEVEL is the tracer\'s, not ours', () => {
  const make = () => createLogger({ tracer, stream: capture().stream })
  withEnv('LOG_LEVEL', undefined, () => {
    assert.equal(make().level, 'info')
    withEnv('DD_LOG_LEVEL', 'debug', () => assert.equal(make().level, 'info'))
  })
  withEnv('LOG_LEVEL', 'warn', () => {
    assert.equal(make().level, 'warn')
    assert.equal(createLogger({ level: 'trace', tracer, stream: capture().stream }).level, 'trace', 'the option wins')
  })
  withEnv('LOG_LEVEL', ' DEBUG ', () => assert.equal(make().level, 'debug', 'case and blanks are forgiven'))
  withEnv('LOG_LEVEL', 'silent', () => assert.equal(make().level, 'silent'))
})

test('an invalid level option is one TypeError naming the option and the choices', () => {
  assert.throws(() => createLogger({ level: 'verbose' as LevelName }), (err: unknown) => {
    assert.ok(err instanceof TypeError)
    assert.match(err.message, /option level must be one of "trace", "debug", "info", "warn", "error", "fatal", "silent", got "verbose"/)
    return true
  })
  assert.throws(() => createLogger({ level: 'INFO' as LevelName }), TypeError, 'options are exact; only the env var forgives case')
  assert.throws(() => createLogger({ level: 30 as unknown as LevelName }), /option level .* got 30/)
  assert.throws(() => createLogger({ tracer }).child({}, { level: 'loud' as LevelName }), /option level/)
})

test('other invalid options are TypeErrors naming the option', () => {
  assert.throws(() => createLogger({ name: '' }), /option name/)
  assert.throws(() => createLogger({ stream: {} as never }), /option stream/)
  assert.throws(() => createLogger({ fields: 'x' as never }), /option fields/)
  assert.throws(() => createLogger({ tracer: {} as never }), /option tracer/)
  assert.throws(() => createLogger({ diagnostics: {} as never }), /option diagnostics/)
  assert.throws(() => createLogger({ tracer }).child('x' as never), /child bindings/)
})

test('a misspelled option gets one warning naming it and the nearest option, however many loggers', () => {
  const { sink, seen } = warnings()
  for (let i = 0; i < 3; i++) createLogger({ tracer, stream: capture().stream, diagnostics: sink, levl: 'debug', base: { app: 'x' } } as never)
  assert.deepEqual(seen, [
    'datadog-apm: createLogger: unknown option levl is ignored; did you mean level?\n',
    "datadog-apm: createLogger: unknown option base is ignored; pino's base is fields here\n"
  ])
})

test("the adapters' misspelled options are reported through the tracer they are given", () => {
  const { sink, seen } = warnings()
  const own = makeTracer({ diagnostics: sink })
  pinoMixin({ tracer: own, tracr: own } as never)
  winstonFormat({ tracer: own, tracers: own } as never)
  assert.deepEqual(seen, [
    'datadog-apm: pinoMixin: unknown option tracr is ignored; did you mean tracer?\n',
    'datadog-apm: winstonFormat: unknown option tracers is ignored; did you mean tracer?\n'
  ])
})

test('an invalid LOG_LEVEL is one warning naming it, and the level is info', () => {
  const { sink, seen } = warnings()
  withEnv('LOG_LEVEL', 'loud', () => {
    for (let i = 0; i < 5; i++) assert.equal(createLogger({ tracer, stream: capture().stream, diagnostics: sink }).level, 'info')
  })
  assert.equal(seen.length, 1, 'one warning however many loggers')
  assert.match(seen[0], /^datadog-apm: LOG_LEVEL="loud" is not one of .*; using "info"\n$/)
})

test('the invalid LOG_LEVEL warning goes to stderr by default, once', () => {
  const src = fileURLToPath(new URL('../src/index.ts', import.meta.url))
  const script = `
    const { createLogger } = await import(${JSON.stringify(src)})
    const a = createLogger({ tracer: { config: { service: 's', logInjection: true } } })
    createLogger()
    a.info('still logging')`
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, LOG_LEVEL: 'verbose' },
    encoding: 'utf8'
  })
  assert.equal(result.status, 0, result.stderr)
  assert.equal(result.stderr, 'datadog-apm: LOG_LEVEL="verbose" is not one of "trace", "debug", "info", "warn", "error", "fatal", "silent"; using "info"\n')
  assert.match(result.stdout, /^\{"level":"info","timestamp":\d+,"message":"still logging","dd":\{"service":"s"\}\}\n$/)
})

test('lines go to stdout by default', () => {
  const src = fileURLToPath(new URL('../src/index.ts', import.meta.url))
  const script = `
    const { createLogger } = await import(${JSON.stringify(src)})
    createLogger({ name: 'std' }).warn('to stdout')`
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, DD_SERVICE: 'from-env', DD_ENV: 'staging', DD_VERSION: '9', LOG_LEVEL: '' },
    encoding: 'utf8'
  })
  assert.equal(result.status, 0, result.stderr)
  const record = JSON.parse(result.stdout) as Record<string, unknown>
  assert.equal(record.message, 'to stdout')
  assert.deepEqual(record.dd, { service: 'from-env', env: 'staging', version: '9' }, 'the default tracer, read at the first line')
})

// Type tests, checked by `tsc -p tsconfig.check.json`; never run.
export function typeTests(): void {
  const log = createLogger({ level: 'silent' })
  log.info('msg')
  log.info({ a: 1 }, 'msg')
  log.error(new Error('x'), 'msg')
  log.child({ requestId: 'r' }, { level: 'debug' }).debug('msg')
  // @ts-expect-error a message is a string
  log.info({}, 42)
  // @ts-expect-error level names are checked
  createLogger({ level: 'verbose' })
  // @ts-expect-error a level is a name, not pino's number
  log.level = 30
}
