// instrumentPg on a stand-in for pg's module object: the call shapes pg's Client.query accepts, and the
// switch. The real driver against a real server is tested in test/db-pg.test.ts.
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { test, type TestContext } from 'node:test'
import type { TracerOptions } from '../src/tracer/options.js'
import { instrumentPg } from '../src/integrations/pg.js'
import { coreSpan } from '../src/model/span.js'
import { InMemoryExporter } from '../src/testing.js'
import { CoreTracer } from '../src/tracer/tracer.js'

type Callback = (err: Error | null, result?: unknown) => void

/** Answers every query on the next tick, like a socket would; `FAIL` fails. */
class FakeClient {
  connectionParameters = { host: 'db', port: 5432, database: 'shop', user: 'app' }
  processID = 42
  _Promise = Promise
  query(config: unknown, values?: unknown, callback?: unknown): unknown {
    const text = typeof config === 'string' ? config : (config as { text: string }).text
    if (typeof (config as { submit?: unknown }).submit === 'function') {
      const submittable = config as EventEmitter & { callback?: Callback }
      if (typeof values === 'function' && submittable.callback === undefined) submittable.callback = values as Callback
      setImmediate(() => (submittable.callback ? submittable.callback(null, 'rows') : submittable.emit('end')))
      return submittable
    }
    const cb = (typeof values === 'function' ? values : callback) as Callback | undefined
    if (cb === undefined) return new Promise((resolve, reject) => setImmediate(() => (text === 'FAIL' ? reject(new Error('boom')) : resolve('rows'))))
    setImmediate(() => (text === 'FAIL' ? cb(new Error('boom')) : cb(null, 'rows')))
    return undefined
  }
}

function fakePg(): { Client: typeof FakeClient } {
  return { Client: class extends FakeClient {} }
}

function tracerFor(t: TestContext, options: TracerOptions = {}): { tracer: CoreTracer; exporter: InMemoryExporter } {
  const exporter = new InMemoryExporter()
  const tracer = new CoreTracer({ service: 'shop', exporter, flushOnExit: false, ...options })
  t.after(() => tracer.shutdown())
  return { tracer, exporter }
}

test('promise, callback and config-object queries each make one span, ended before the caller resumes', async (t) => {
  const { tracer, exporter } = tracerFor(t)
  const pg = instrumentPg(fakePg())
  instrumentPg(pg)
  const client = new pg.Client()
  await tracer.trace('web.request', async (root) => {
    assert.equal(await client.query('SELECT 1'), 'rows')
    await new Promise<void>((resolve) => {
      client.query('SELECT 2', [], () => {
        assert.equal(tracer.activeSpan(), root, 'the callback runs in the caller context')
        resolve()
      })
    })
    await new Promise<void>((resolve) => client.query({ text: 'SELECT 3' }, () => resolve()))
    await assert.rejects(client.query('FAIL') as Promise<unknown>, /boom/)
  })
  const spans = exporter.spans().filter((s) => s.name === 'pg.query')
  assert.deepEqual(spans.map((s) => s.resource), ['SELECT 1', 'SELECT 2', 'SELECT 3', 'FAIL'])
  assert.deepEqual(spans.map((s) => s.error), [0, 0, 0, 1])
  const [first] = spans
  assert.equal(first?.meta['db.user'], 'app')
  assert.equal(first?.meta['db.name'], 'shop')
  assert.equal(first?.meta['out.host'], 'db')
  assert.equal(first?.metrics['db.pid'], 42)
  assert.ok(spans.every((s) => s.finished))
})

test('a cursor or stream ends its span with its end event and is marked as a stream', async (t) => {
  const { tracer, exporter } = tracerFor(t)
  const pg = instrumentPg(fakePg())
  const client = new pg.Client()
  await tracer.trace('web.request', async () => {
    const stream = Object.assign(new EventEmitter(), { text: 'SELECT * FROM big', submit: () => {} })
    client.query(stream)
    await new Promise((resolve) => stream.once('end', resolve))
  })
  const [span] = exporter.spans().filter((s) => s.name === 'pg.query')
  assert.equal(span?.resource, 'SELECT * FROM big')
  assert.equal(span?.metrics['db.stream'], 1)
  assert.ok(span?.finished)
})

test('with the pg integration off the wrapper only calls through', async (t) => {
  const { tracer, exporter } = tracerFor(t, { integrations: { pg: false } })
  const pg = instrumentPg(fakePg())
  await tracer.trace('web.request', async () => {
    assert.equal(await new pg.Client().query('SELECT 1'), 'rows')
  })
  assert.deepEqual(exporter.spans().map((s) => s.name), ['web.request'])
})

test('instrumentPg refuses what is not the pg module', () => {
  assert.throws(() => instrumentPg({} as never), TypeError)
  assert.throws(() => instrumentPg(null as never), TypeError)
})

/** A stand-in client that records the text pg would send. */
function recordingPg(): { pg: { Client: typeof FakeClient }; sent: string[] } {
  const sent: string[] = []
  class Recording extends FakeClient {
    override query(config: unknown, values?: unknown, callback?: unknown): unknown {
      sent.push(typeof config === 'string' ? config : (config as { text: string }).text)
      return super.query(config, values, callback)
    }
  }
  return { pg: { Client: Recording }, sent }
}

test("DBM service mode: the service keys in front of the query, dd-trace's order and quoting", async (t) => {
  const { tracer, exporter } = tracerFor(t, { env: 'prod west', version: '1.2', integrations: { pg: { dbmPropagationMode: 'service' } } })
  const { pg, sent } = recordingPg()
  instrumentPg(pg)
  const client = new pg.Client()
  const config = { text: 'SELECT 2' }
  await tracer.trace('web.request', async () => {
    await client.query('SELECT 1')
    await client.query(config)
  })
  assert.deepEqual(sent, [
    "/*dddb='shop',dddbs='shop-postgres',dde='prod%20west',ddh='db',ddps='shop',ddpv='1.2'*/ SELECT 1",
    "/*dddb='shop',dddbs='shop-postgres',dde='prod%20west',ddh='db',ddps='shop',ddpv='1.2'*/ SELECT 2"
  ])
  assert.equal(config.text, 'SELECT 2', "the caller's config object is left as it was")
  const spans = exporter.spans().filter((s) => s.name === 'pg.query')
  assert.deepEqual(spans.map((s) => s.resource), ['SELECT 1', 'SELECT 2'], 'the resource has no comment')
  assert.ok(spans.every((s) => s.meta['_dd.dbm_trace_injected'] === undefined))
})

test('DBM full mode: traceparent of the query span, sampling decided and locked; named statements get service keys only', async (t) => {
  process.env.DD_DBM_PROPAGATION_MODE = 'full'
  t.after(() => delete process.env.DD_DBM_PROPAGATION_MODE)
  const { tracer, exporter } = tracerFor(t, { spanAttributeSchema: 'v1' })
  const { pg, sent } = recordingPg()
  instrumentPg(pg)
  const client = new pg.Client()
  await tracer.trace('web.request', async (root) => {
    await client.query('SELECT 1')
    assert.equal(coreSpan(root).trace.samplingLocked, true)
    await client.query({ name: 'by-id', text: 'SELECT 2' })
  })
  const [query, named] = exporter.spans().filter((s) => s.name === 'postgresql.query')
  assert.ok(query && named)
  const traceId = query.traceIdHigh + query.traceId.toString(16).padStart(16, '0')
  const spanId = query.spanId.toString(16).padStart(16, '0')
  // Under v1 peer.service is on: dddbs is the database name.
  assert.equal(sent[0], `/*dddb='shop',dddbs='shop',dde='',ddh='db',ddps='shop',ddpv=''` + `,traceparent='00-${traceId}-${spanId}-01'*/ SELECT 1`)
  assert.equal(query.meta['_dd.dbm_trace_injected'], 'true')
  assert.equal(sent[1], "/*dddb='shop',dddbs='shop',dde='',ddh='db',ddps='shop',ddpv=''*/ SELECT 2")
  assert.equal(named.meta['_dd.dbm_trace_injected'], undefined)
})

test('what pg throws at once is thrown at once, and the span ends with the error', (t) => {
  const { tracer, exporter } = tracerFor(t)
  class Throwing extends FakeClient {
    override query(_config: unknown): unknown {
      throw new TypeError('Client was closed and is not queryable')
    }
  }
  const pg = instrumentPg({ Client: Throwing })
  const client = new pg.Client()
  tracer.trace('web.request', () => {
    assert.throws(() => client.query('SELECT 1'), /not queryable/)
  })
  const [span] = exporter.spans().filter((s) => s.name === 'pg.query')
  assert.ok(span?.finished)
  assert.equal(span.error, 1)
  assert.equal(span.meta['error.type'], 'TypeError')
})
