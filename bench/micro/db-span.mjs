// What a database span costs beside a span the user opens by hand, in one process (spans are made and
// handed to an exporter that drops them: the request path only, no encoding or I/O):
//   manual        tracer.startSpan('pg.query', options) with the tags a pg span carries set by hand, finished
//   channel       a driver's TracingChannel events for one operation (start, end, asyncStart, asyncEnd) as
//                 mysql2 publishes them, with our subscribers (a span, its tags, the caller's context
//                 restored around the callback) on; the publishing itself is the driver's cost and counted
//   channel-off   the same events with no subscriber (what the driver pays untraced)
//   pg            a query through instrumentPg's wrapper on a stand-in client that calls back at once
//   pg-off        the same stand-in, not wrapped
// Prints JSON: median ns per operation over ROUNDS rounds (the variants interleaved), inside an active root span.
// Usage: node bench/micro/db-span.mjs [--rounds N] [--calls N]
import { tracingChannel } from 'node:diagnostics_channel'
import { createTracer, instrumentPg } from '@datadog-apm/core'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const ROUNDS = arg('--rounds', 21)
const CALLS = arg('--calls', 20_000)
// Drops what it is handed, after noting the span names once: the check that each variant made its span.
const seen = new Set()
const dropAll = {
  export(chunk) {
    if (seen.size < 8) for (const span of chunk) seen.add(span.name)
  },
  flush: () => Promise.resolve(),
  shutdown: () => Promise.resolve()
}
const tracer = createTracer({ service: 'bench', env: 'bench', flushOnExit: false, exporter: dropAll, integrations: { ioredis: false, redis: false } })

const START = { service: 'bench-postgres', type: 'sql', resource: '' }
function manual() {
  const span = tracer.startSpan('pg.query', START)
  span.resource = 'SELECT stock FROM inventory WHERE product_id = $1'
  span.setTag('span.kind', 'client')
  span.setTag('component', 'pg')
  span.setTag('_dd.integration', 'pg')
  span.setTag('db.type', 'postgres')
  span.setTag('_dd.base_service', 'bench')
  span.setTag('_dd.svc_src', 'pg')
  span.setTag('db.name', 'shop')
  span.setTag('out.host', '127.0.0.1')
  span.setTag('network.destination.port', 5432)
  span.setTag('_dd.measured', 1)
  span.finish()
}

const channel = tracingChannel('mysql2:query')
const quiet = tracingChannel('bench:quiet')
function publishOperation(tc) {
  const context = { query: 'SELECT stock FROM inventory WHERE product_id = 42', values: [42], database: 'shop', serverAddress: '127.0.0.1', serverPort: 3306 }
  tc.start.publish(context)
  tc.end.publish(context)
  context.result = []
  tc.asyncStart.runStores(context, callback)
  tc.asyncEnd.publish(context)
}
function callback() {}
const channelOp = () => publishOperation(channel)
const channelOff = () => publishOperation(quiet)

class FakeClient {
  constructor() {
    this.connectionParameters = { host: '127.0.0.1', port: 5432, database: 'shop', user: 'app' }
    this.processID = 7
  }
  query(config, values, cb) {
    cb(null, RESULT)
  }
}
const RESULT = { rows: [] }
const pg = { Client: class extends FakeClient {} }
instrumentPg(pg)
const wrapped = new pg.Client()
const plain = new FakeClient()
const pgOp = () => wrapped.query('SELECT stock FROM inventory WHERE product_id = $1', [42], callback)
const pgOff = () => plain.query('SELECT stock FROM inventory WHERE product_id = $1', [42], callback)

// The variants take turns round by round, so a slow phase of the machine falls on all of them alike.
function timeAll(variants) {
  const samples = Object.fromEntries(Object.keys(variants).map((name) => [name, []]))
  for (let r = 0; r <= ROUNDS; r++) {
    for (const [name, fn] of Object.entries(variants)) {
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < CALLS; i++) fn()
      if (r > 0) samples[name].push(Number(process.hrtime.bigint() - t0) / CALLS)
    }
  }
  const median = (values) => values.sort((a, b) => a - b)[values.length >> 1]
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, Number(median(values).toFixed(1))]))
}

let results = {}
// Partial flushes hand the spans over as they accumulate under the one root span.
tracer.trace('web.request', () => {
  results = timeAll({ manual, channel: channelOp, 'channel-off': channelOff, pg: pgOp, 'pg-off': pgOff })
})
for (const name of ['pg.query', 'mysql.query']) if (!seen.has(name)) throw new Error(`no ${name} span was made`)
console.log(JSON.stringify({ node: process.version, ...results }))
await tracer.shutdown()
