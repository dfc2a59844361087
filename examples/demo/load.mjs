// The demo's load: a short mix of normal, slow, failing and not-found requests to the web service, each
// with what its trace must look like once it has reached the intake.
import { request } from 'node:http'

// An inventory read is one query to the api's PostgreSQL.
const INVENTORY_QUERY = { name: 'pg.query', service: 'api-postgres', resource: 'SELECT stock FROM inventory WHERE product_id = ?' }

const product = (id) => ({
  method: 'GET', path: `/shop/products/${id}`, status: 200,
  web: { resource: 'GET /shop/products/:id', error: 0 },
  api: { resource: 'GET /inventory/:id', status: '200', error: 0, queries: [INVENTORY_QUERY] }
})

export const REQUESTS = [
  ...[1, 2, 3, 4, 5, 6].map(product),
  {
    method: 'GET', path: '/shop/products/999', status: 404,
    web: { resource: 'GET /shop/products/:id', error: 0 },
    api: { resource: 'GET /inventory/:id', status: '404', error: 0, queries: [INVENTORY_QUERY] }
  },
  ...[1, 2].map(() => ({
    method: 'GET', path: '/shop/checkout', status: 200, slowMs: 250,
    web: { resource: 'GET /shop/checkout', error: 0 },
    api: { resource: 'GET /quote', status: '200', error: 0 }
  })),
  ...[1, 2].map(() => ({
    method: 'POST', path: '/shop/orders', status: 500,
    web: { resource: 'POST /shop/orders', error: 1, errorType: 'UpstreamError' },
    api: { resource: 'POST /payments', status: '500', error: 1, errorType: 'Error' }
  })),
  ...['/nope', '/shop/cart'].map((path) => ({
    method: 'GET', path, status: 404,
    web: { resource: 'GET', error: 0 }
  }))
]

const CONCURRENCY = 4
const REQUEST_TIMEOUT_MS = 10_000

/** Sends every request, a few at a time; resolves with each one's status (0 when it failed outright). */
export async function runLoad(baseUrl, requests = REQUESTS) {
  const results = new Array(requests.length)
  let next = 0
  const worker = async () => {
    while (next < requests.length) {
      const i = next++
      results[i] = { ...requests[i], got: await send(baseUrl, requests[i]) }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return results
}

// node:http rather than fetch: the load driver is not traced, and its requests must not look like the
// traced fetch of the web service.
function send(baseUrl, { method, path }) {
  return new Promise((resolve) => {
    const req = request(new URL(path, baseUrl), { method, agent: false, timeout: REQUEST_TIMEOUT_MS, headers: { 'content-length': 0 } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', () => resolve(0))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', () => resolve(0))
    req.end()
  })
}
