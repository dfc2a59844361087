import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { createLogger } from '../src/index.js'
import { capture, ddOf, makeTracer, warnings } from './helpers.js'

const tracer = makeTracer()

const HOSTILE = [
  'line one\n{"level":"fatal","message":"forged"}',
  'carriage\r\nreturn',
  'quote " and backslash \\ and \\"',
  'nul \u0000 bell \u0007 escape \u001b[31m red',
  'lone surrogates \ud800 and \udfff',
  'separators \u2028 \u2029',
  '","dd":{"trace_id":"1"},"x":"',
  '}\n{'
]

test('hostile messages, keys and values: one line per call, valid JSON, the text intact', () => {
  const out = capture()
  const log = createLogger({ name: 'evil\n"name', tracer, stream: out.stream })
  for (const text of HOSTILE) {
    log.info({ [text]: text, nested: { [text]: [text] } }, text)
    log.child({ bound: text }).warn(text)
  }
  const lines = out.lines()
  assert.equal(lines.length, HOSTILE.length * 2, 'no hostile text made a second line')
  HOSTILE.forEach((text, i) => {
    const record = JSON.parse(lines[2 * i]) as Record<string, unknown>
    // Lone surrogates cannot survive UTF-8 anyway; they are written as \u escapes and read back as such.
    assert.equal(record.message, text)
    assert.equal(record[text], text)
    assert.deepEqual(record.nested, { [text]: [text] })
    assert.equal(record['logger.name'], 'evil\n"name')
    assert.equal(Object.keys(record).filter((k) => k === 'dd').length, 1)
    assert.deepEqual(ddOf(record), { service: 'svc', env: 'test', version: '1.2.3' }, 'a forged dd in the text is only text')
    const child = JSON.parse(lines[2 * i + 1]) as Record<string, unknown>
    assert.equal(child.bound, text)
    assert.equal(child.level, 'warn')
  })
  for (const line of lines) {
    // eslint-disable-next-line no-control-regex -- looking for raw control characters is the test
    assert.equal(/[\u0000-\u001f]/.test(line), false, 'no raw control character in the output')
    assert.equal(/[\ud800-\udfff]/.test(line.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')), false, 'no raw lone surrogate')
  }
})

test('an error whose message or stack is hostile stays inside its line', () => {
  const out = capture()
  const err = new Error('bad\n{"level":"fatal"}')
  err.stack = 'Error: bad\n  at x\n"}\n{'
  createLogger({ tracer, stream: out.stream }).error(err)
  const [record] = out.records()
  assert.equal(out.lines().length, 1)
  assert.equal((record?.error as { stack: string }).stack, err.stack)
})

test('circular objects, BigInt, throwing toJSON and getters, revoked proxies: no throw, the rest of the line kept', () => {
  const out = capture()
  const log = createLogger({ tracer, stream: out.stream })
  const circular: Record<string, unknown> = { name: 'loop' }
  circular.self = circular
  circular.list = [circular, 1]
  const shared = { v: 1 }
  const throwingGetter = {
    ok: 1,
    get boom(): never {
      throw new Error('getter')
    }
  }
  const throwingToJSON = {
    toJSON(): never {
      throw new Error('toJSON')
    }
  }
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  const errWithCycle = new Error('cyclic cause')
  ;(errWithCycle as { cause?: unknown }).cause = errWithCycle
  assert.doesNotThrow(() => {
    log.info({ circular, shared: [shared, shared] }, 'circular')
    log.info({ big: 2n ** 64n + 1n, inside: { big: -5n }, list: [1n] }, 'bigint')
    log.info({ throwingGetter }, 'getter')
    log.info({ throwingToJSON, after: 'kept' }, 'toJSON')
    log.info({ proxy, after: 'kept' }, 'revoked')
    log.info({ fn: () => 1, sym: Symbol('s'), undef: undefined, nan: NaN, inf: -Infinity, date: new Date(0) }, 'odd values')
    log.error(errWithCycle)
    log.info({ deep: makeDeep(10_000) }, 'deep')
    log.info(proxy, 'revoked proxy as the fields')
  })
  const records = out.records()
  assert.equal(records.length, 9)
  const [circ, big, getter, toJSON, revoked, odd, cyclicErr, deep, proxyFields] = records
  assert.deepEqual(circ?.circular, { name: 'loop', self: '[Circular]', list: ['[Circular]', 1] })
  assert.deepEqual(circ?.shared, [{ v: 1 }, { v: 1 }], 'a repeated reference is not a cycle')
  assert.equal(big?.big, '18446744073709551617', 'BigInt as an exact decimal string')
  assert.deepEqual(big?.inside, { big: '-5' })
  assert.deepEqual(big?.list, ['1'])
  assert.deepEqual(getter?.throwingGetter, { ok: 1, boom: '[Unserializable]' })
  assert.equal(toJSON?.throwingToJSON, '[Unserializable]')
  assert.equal(toJSON?.after, 'kept')
  assert.equal(revoked?.proxy, '[Unserializable]')
  assert.equal(revoked?.after, 'kept')
  assert.deepEqual(Object.keys(odd).filter((k) => ['fn', 'sym', 'undef'].includes(k)), [], 'no JSON value, no key, as JSON.stringify')
  assert.deepEqual([odd?.nan, odd?.inf, odd?.date], [null, null, '1970-01-01T00:00:00.000Z'])
  assert.equal((cyclicErr?.error as { cause: unknown }).cause, '[Circular]')
  assert.equal(deep?.message, 'deep')
  assert.equal(typeof deep?.deep, 'object')
  assert.equal(proxyFields?.message, 'revoked proxy as the fields')
  assert.ok(ddOf(proxyFields)?.service)
})

function makeDeep(depth: number): object {
  let node: object = {}
  for (let i = 0; i < depth; i++) node = { node }
  return node
}

test('a throwing getter at the top level of call fields or bindings costs that field only', () => {
  const out = capture()
  const hostile = {
    before: 1,
    get boom(): never {
      throw new Error('getter')
    },
    after: 2
  }
  const log = createLogger({ tracer, stream: out.stream })
  log.info(hostile, 'fields')
  log.child(hostile).info('bindings')
  for (const record of out.records()) {
    assert.deepEqual([record.before, record.boom, record.after], [1, '[Unserializable]', 2])
  }
  assert.equal(out.records().length, 2)
})

test('a hostile message argument (not a string, throwing toString) does not throw', () => {
  const out = capture()
  const log = createLogger({ tracer, stream: out.stream })
  const evil = {
    toString(): never {
      throw new Error('no')
    }
  }
  log.info({}, evil as unknown as string)
  log.info(42 as unknown as string)
  const hostileError = new Error('x')
  Object.defineProperty(hostileError, 'message', {
    get(): never {
      throw new Error('message getter')
    }
  })
  log.error(hostileError)
  const [r1, r2, r3] = out.records()
  assert.equal(r1?.message, '[Unserializable]')
  assert.equal(r2?.message, '42')
  assert.equal(r3?.message, undefined)
  assert.equal((r3?.error as { message: string }).message, '[Unserializable]')
})

test('a stream whose write throws: the call does not throw, one warning, later lines still tried', () => {
  const { sink, seen } = warnings()
  let calls = 0
  const stream = {
    write(): never {
      calls++
      throw new Error('disk on fire')
    }
  }
  const log = createLogger({ tracer, stream, diagnostics: sink })
  assert.doesNotThrow(() => {
    for (let i = 0; i < 5; i++) log.info('x')
  })
  assert.equal(calls, 5)
  assert.equal(seen.length, 1, 'rate-limited to one warning')
  assert.match(seen[0], /^datadog-apm: writing to the log stream threw \(Error: disk on fire\); the line was dropped\n$/)
})

// The timeout is the deadline of the wait for 'close'.
test('a stream that emits error does not crash the app; one warning, later lines dropped', { timeout: 5000 }, async () => {
  const { sink, seen } = warnings()
  const stream = new Writable({
    write(_chunk, _encoding, callback) {
      callback(new Error('EPIPE: broken pipe'))
    }
  })
  // Counts the logger's calls, not the stream's: a destroyed stream would swallow a write silently.
  let writes = 0
  const write = stream.write.bind(stream)
  stream.write = ((...args: Parameters<typeof write>) => {
    writes++
    return write(...args)
  }) as typeof stream.write
  const log = createLogger({ tracer, stream, diagnostics: sink })
  log.info('first')
  // 'close' follows 'error' in the same tick: by then the logger's error listener has run.
  await new Promise<void>((resolve) => stream.once('close', resolve))
  assert.equal(stream.destroyed, true)
  log.info('second')
  log.info('third')
  assert.equal(writes, 1)
  assert.equal(seen.length, 1)
  assert.match(seen[0], /the log stream failed \(Error: EPIPE: broken pipe\); later log lines are dropped/)
})

test('loggers on one stream add one error listener between them', () => {
  const stream = new Writable({ write: (_c, _e, cb) => cb() })
  for (let i = 0; i < 20; i++) createLogger({ tracer, stream }).child({ i })
  assert.equal(stream.listenerCount('error'), 1)
})

test('a throwing diagnostics sink is not the app\'s problem either', () => {
  const log = createLogger({
    tracer,
    stream: {
      write(): never {
        throw new Error('stream')
      }
    },
    diagnostics: {
      write(): never {
        throw new Error('sink')
      }
    }
  })
  assert.doesNotThrow(() => log.info('x'))
})
