// The demo's front service: an Express 5 app traced by @datadog-apm/express, logging with
// @datadog-apm/logger, calling the "api" service over fetch. Run on its own with
//   DD_SERVICE=web API_URL=http://127.0.0.1:3001 PORT=3000 node examples/services/web.mjs
import { once } from 'node:events'
import express from 'express'
import { tracer } from '@datadog-apm/core'
import { datadog } from '@datadog-apm/express'
import { createLogger } from '@datadog-apm/logger'
import { callApi } from './call-api.mjs'
import { reportOnShutdown } from './shutdown.mjs'

const log = createLogger({ name: 'web' })
const apiUrl = process.env.API_URL ?? 'http://127.0.0.1:3001'

class UpstreamError extends Error {
  constructor(message, status) {
    super(message)
    this.name = 'UpstreamError'
    this.status = status
  }
}

const app = express()
app.use(datadog())

// A nested router: the span's route reads /shop/products/:id.
const products = express.Router()
products.get('/:id', async (req, res) => {
  const stock = await callApi(apiUrl, `/inventory/${encodeURIComponent(req.params.id)}`)
  if (stock.status === 404) {
    log.warn({ productId: req.params.id }, 'unknown product')
    res.status(404).json({ error: 'no such product' })
    return
  }
  const price = await tracer.trace('price.compute', { resource: 'price.compute' }, async (span) => {
    span.setTag('product.id', req.params.id)
    return 10 + Number(req.params.id) * 2.5
  })
  // A custom metric, as dd-trace's tracer.dogstatsd: counted in the process, sent with the runtime metrics.
  tracer.dogstatsd.increment('shop.product.views', 1, { in_stock: String(stock.body.inStock) })
  log.info({ productId: req.params.id, inStock: stock.body.inStock }, 'product viewed')
  res.json({ id: req.params.id, price, inStock: stock.body.inStock })
})

const shop = express.Router()
shop.use('/products', products)

// Slow: the api takes its time to quote.
shop.get('/checkout', async (req, res) => {
  const quote = await callApi(apiUrl, '/quote?items=3')
  log.info({ total: quote.body.total }, 'checkout quoted')
  res.json(quote.body)
})

// Failing: the payment call answers 500 and the order fails with it.
shop.post('/orders', async (req, res) => {
  const payment = await callApi(apiUrl, '/payments', { method: 'POST', body: JSON.stringify({ amount: 42 }), headers: { 'content-type': 'application/json' } })
  if (payment.status >= 500) throw new UpstreamError(`payment failed: api answered ${payment.status}`, 502)
  res.status(201).json({ ok: true })
})

app.use('/shop', shop)
app.use(datadog.errorHandler())
app.use((err, req, res, next) => {
  if (res.headersSent) return next(err)
  log.error(err, 'request failed')
  res.status(500).json({ error: err.message })
})

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1')
await once(server, 'listening')
const { port } = server.address()
log.info({ port, url: `http://127.0.0.1:${port}` }, 'web listening')
reportOnShutdown('web', tracer, () => {
  server.close()
  server.closeAllConnections()
})
