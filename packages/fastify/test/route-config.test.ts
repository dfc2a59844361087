import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FastifyRequest } from 'fastify'
import { RouteConfigReader } from '../src/route-config.js'
import { majors } from './support.js'

for (const major of majors) {
  test(`${major.name}: the route context read directly is the object request.routeOptions.config returns`, async (t) => {
    const app = major.create()
    t.after(() => app.close())
    const reader = new RouteConfigReader()
    const seen: [unknown, unknown][] = []
    app.get('/items/:id', { config: { datadog: true } }, (request, reply) => {
      seen.push([reader.config(request), request.routeOptions.config])
      // With the public accessor out of order, a fresh reader still finds the config: it does not use it.
      Object.defineProperty(request, 'routeOptions', {
        configurable: true,
        get() {
          throw new Error('routeOptions was read')
        }
      })
      seen.push([new RouteConfigReader().config(request)?.url, '/items/:id'])
      void reply.send('ok')
    })
    app.setNotFoundHandler((request, reply) => {
      seen.push([reader.config(request)?.url, request.routeOptions.url])
      void reply.code(404).send()
    })
    await app.inject('/nowhere')
    await app.inject('/items/1')
    const [[ownUrl, publicUrl], [own, published], [directUrl, expectedUrl]] = seen
    assert.equal(ownUrl, undefined)
    assert.equal(publicUrl, undefined)
    assert.equal(own, published)
    assert.equal(directUrl, expectedUrl)
    assert.deepEqual({ ...(own as object) }, { datadog: true, url: '/items/:id', method: 'GET' })
  })
}

test("without Fastify's context symbol the reader uses the public routeOptions", () => {
  const reader = new RouteConfigReader()
  const config = { url: '/x', datadog: false }
  assert.equal(reader.config({ routeOptions: { config } } as unknown as FastifyRequest), config)
  assert.equal(reader.config({} as unknown as FastifyRequest), undefined)
})
