// One database benchmark server: Fastify 5 serving GET /products/:id, which runs 5 queries through a pg
// pool against the PostgreSQL at PG_URL, untraced, traced by us (the Fastify plugin and instrumentPg; with
// ours-no-db the plugin alone; with ours-manual each query in a span opened by hand with the tags a pg
// span carries, the yardstick a database span must not exceed) or
// by dd-trace (which patches pg and Fastify itself), exporting to the sink at SINK_URL. CommonJS, because
// dd-trace instruments by hooking require() and must be loaded before pg and Fastify.
// SIGUSR2 marks the start of the measured window; SIGTERM prints the CPU used since then and exits.
'use strict'
const [variant, sinkUrl, pgUrl] = process.argv.slice(2)
const nodeMajor = Number(process.versions.node.split('.')[0])

if (variant === 'dd-trace') {
  require(nodeMajor >= 22 ? 'dd-trace6' : 'dd-trace').init({
    service: 'bench', env: 'bench', url: sinkUrl, startupLogs: false, telemetry: { enabled: false }, remoteConfig: { enabled: false }, runtimeMetrics: false
  })
}
const pg = require('pg')
const ours = variant === 'ours' || variant === 'ours-no-db' || variant === 'ours-manual'
const tracer = ours ? require('@datadog-apm/core').createTracer({ service: 'bench', env: 'bench', url: sinkUrl }) : undefined
if (variant === 'ours') require('@datadog-apm/core').instrumentPg(pg)

let mark = process.cpuUsage()
process.on('SIGUSR2', () => {
  mark = process.cpuUsage()
})
process.on('SIGTERM', () => {
  const cpu = process.cpuUsage(mark)
  process.stdout.write(JSON.stringify({ cpuSeconds: (cpu.user + cpu.system) / 1e6 }) + '\n')
  process.exit(0)
})

const pool = new pg.Pool({ connectionString: pgUrl, max: 8 })
const app = require('fastify')({ logger: false })

const MANUAL_TAGS = {
  'span.kind': 'client', component: 'pg', '_dd.integration': 'pg', 'db.type': 'postgres', '_dd.base_service': 'bench',
  '_dd.svc_src': 'pg', 'db.name': 'postgres', 'db.user': 'postgres', 'out.host': '127.0.0.1', '_dd.measured': 1
}
function manualQuery(text, values) {
  return tracer.trace('pg.query', { service: 'bench-postgres', type: 'sql', resource: text, tags: MANUAL_TAGS }, () => pool.query(text, values))
}

async function start() {
  if (tracer !== undefined) await app.register(require('@datadog-apm/fastify').datadogPlugin, { tracer })
  const query = variant === 'ours-manual' ? manualQuery : (text, values) => pool.query(text, values)
  app.get('/products/:id', async (request) => {
    const id = Number(request.params.id)
    const product = (await query('SELECT id, name FROM products WHERE id = $1', [id])).rows[0]
    const stock = (await query('SELECT stock FROM inventory WHERE product_id = $1', [id])).rows[0]
    const price = (await query('SELECT cents FROM prices WHERE product_id = $1', [id])).rows[0]
    const reviews = (await query('SELECT count(*)::int AS n FROM reviews WHERE product_id = $1', [id])).rows[0]
    const related = (await query('SELECT id FROM products WHERE id <> $1 ORDER BY id LIMIT 3', [id])).rows
    return { ...product, stock: stock?.stock, cents: price?.cents, reviews: reviews?.n, related: related.map((r) => r.id) }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  process.stdout.write(`ready ${app.server.address().port}\n`)
}
start()
