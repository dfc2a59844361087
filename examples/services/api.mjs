// The demo's back service: a Fastify 5 app traced by @datadog-apm/fastify, logging through Fastify's
// own logger (pino) with @datadog-apm/logger's pinoMixin, so each line carries its trace ids. Its
// inventory lives in PostgreSQL, served in this process by PGlite on a loopback port and queried with
// pg, which instrumentPg traces. Run on its own with   DD_SERVICE=api PORT=3001 node examples/services/api.mjs
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify, { LogController } from 'fastify'
import pg from 'pg'
import { instrumentPg, tracer } from '@datadog-apm/core'
import { datadogPlugin } from '@datadog-apm/fastify'
import { pinoMixin } from '@datadog-apm/logger'
import { startInventoryDatabase } from './inventory-db.mjs'
import { reportOnShutdown } from './shutdown.mjs'

// Fastify logs each request twice; the line it writes before any hook runs is dropped, so every line
// left belongs to a request span and carries its ids.
class RequestEndLogs extends LogController {
  incomingRequest() {}
}

instrumentPg(pg)

const database = await startInventoryDatabase()
const pool = new pg.Pool({ connectionString: database.connectionString, max: 4 })

const app = Fastify({ logger: { mixin: pinoMixin() }, logController: new RequestEndLogs() })
await app.register(datadogPlugin)

app.get('/inventory/:id', async (request, reply) => {
  const id = Number.parseInt(request.params.id, 10)
  const { rows } = Number.isSafeInteger(id) ? await pool.query('SELECT stock FROM inventory WHERE product_id = $1', [id]) : { rows: [] }
  const stock = rows[0]?.stock
  if (stock === undefined) {
    request.log.warn({ productId: id }, 'no such product')
    return reply.code(404).send({ error: 'no such product' })
  }
  request.log.info({ productId: id, stock }, 'stock read')
  return { inStock: stock > 0, stock }
})

app.get('/quote', async (request) => {
  const items = Number(request.query.items ?? 1)
  const total = await tracer.trace('quote.compute', async (span) => {
    span.setTag('quote.items', items)
    await sleep(250)
    return Math.round(items * 1990) / 100
  })
  request.log.info({ items, total }, 'quote computed')
  return { items, total }
})

app.post('/payments', async (request) => {
  await tracer.trace('payment.authorize', { resource: 'card processor' }, async () => {
    await sleep(5)
    throw new Error('card processor timed out')
  })
  request.log.info('payment authorized')
  return { ok: true }
})

const address = await app.listen({ port: Number(process.env.PORT ?? 3001), host: '127.0.0.1' })
app.log.info({ url: address, port: app.server.address().port }, 'api listening')
reportOnShutdown('api', tracer, async () => {
  await app.close()
  await pool.end()
  await database.close()
})
