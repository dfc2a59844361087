import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, test } from 'node:test'
import type { NextFunction, Request, Response } from 'express'
import { datadog } from '../src/index.js'
import { agentFor, call, majors, roots, serve, tracerFor, tracesOf, type ExpressMajor } from './support.js'

class PaymentError extends Error {
  override name = 'PaymentError'
}

function appErrorHandler(err: Error, _req: Request, res: Response, _next: NextFunction): void {
  res.status(err instanceof RangeError ? 400 : 500).send(`handled ${err.message}`)
}

/** Routes that fail in every way Express knows, with our error handler before the app's. */
function failingApp(major: ExpressMajor, tracer: Parameters<typeof datadog>[0], withErrorHandler = true) {
  const app = major.app()
  app.use(datadog(tracer))
  app.get('/sync-throw', () => {
    throw new PaymentError('card declined')
  })
  app.get('/next-error', (_req, _res, next) => {
    setTimeout(() => next(new TypeError('bad type')), 2)
  })
  if (major.major === 5) {
    // Express 5 catches a rejected promise from a handler and passes it to next(err).
    app.get('/async-throw', async () => {
      await sleep(2)
      throw new Error('async failure')
    })
  } else {
    app.get('/async-throw', (_req, _res, next) => {
      sleep(2).then(() => {
        throw new Error('async failure')
      }).catch(next)
    })
  }
  app.get('/status-503', (_req, res) => {
    res.status(503).send('unavailable')
  })
  app.get('/status-404', (_req, res) => {
    res.status(404).send('no such thing')
  })
  app.get('/client-error', () => {
    throw new RangeError('out of range')
  })
  const nested = major.router()
  nested.get('/:id/fail', () => {
    throw new Error('nested failure')
  })
  app.use('/nested', nested)
  if (withErrorHandler) app.use(datadog.errorHandler())
  app.use(appErrorHandler)
  return app
}

for (const major of majors) {
  describe(`${major.name}: errors`, () => {
    test('thrown, rejected and next(err) errors are recorded with type, message and stack', async (t) => {
      const agent = await agentFor(t)
      const { tracer, service } = tracerFor(agent)
      const { url } = await serve(t, failingApp(major, { tracer }))
      const expected: [string, number, string, string, string][] = [
        ['/sync-throw', 500, 'PaymentError', 'card declined', '/sync-throw'],
        ['/next-error', 500, 'TypeError', 'bad type', '/next-error'],
        ['/async-throw', 500, 'Error', 'async failure', '/async-throw'],
        ['/nested/7/fail', 500, 'Error', 'nested failure', '/nested/:id/fail']
      ]
      for (const [path, status] of expected) assert.equal((await call(url + path)).status, status, path)
      const spans = roots(await tracesOf(agent, tracer, service, expected.length))
      assert.deepEqual(agent.violations(), [])
      for (const [path, status, type, message, route] of expected) {
        const span = spans.find((s) => s.meta['http.url'] === url + path)
        assert.ok(span, path)
        assert.equal(span.error, 1, path)
        assert.equal(span.meta['http.status_code'], String(status))
        assert.equal(span.meta['error.type'], type, path)
        assert.equal(span.meta['error.message'], message, path)
        assert.match(span.meta['error.stack'] ?? '', new RegExp(`${type}: ${message}\\n\\s+at `), path)
        assert.equal(span.meta['http.route'], route)
        assert.equal(span.resource, `GET ${route}`)
      }
    })

    test('a 5xx is an error from the status alone; a 4xx is not; a handled error mapped to 4xx is not', async (t) => {
      const agent = await agentFor(t)
      const { tracer, service } = tracerFor(agent)
      const { url } = await serve(t, failingApp(major, { tracer }))
      assert.equal((await call(url + '/status-503')).status, 503)
      assert.equal((await call(url + '/status-404')).status, 404)
      assert.equal((await call(url + '/client-error')).status, 400)
      const spans = roots(await tracesOf(agent, tracer, service, 3))
      const byPath = new Map(spans.map((s) => [new URL(s.meta['http.url']).pathname, s]))
      assert.equal(byPath.get('/status-503')?.error, 1)
      assert.equal(byPath.get('/status-503')?.meta['error.message'], undefined)
      assert.equal(byPath.get('/status-404')?.error, 0)
      assert.equal(byPath.get('/status-404')?.resource, 'GET /status-404')
      assert.equal(byPath.get('/client-error')?.error, 0)
      assert.equal(byPath.get('/client-error')?.meta['error.type'], undefined)
    })

    test('without datadog.errorHandler() a thrown error still marks the span from the 500', async (t) => {
      const agent = await agentFor(t)
      const { tracer, service } = tracerFor(agent)
      const { url } = await serve(t, failingApp(major, { tracer }, false))
      assert.equal((await call(url + '/sync-throw')).status, 500)
      const [span] = roots(await tracesOf(agent, tracer, service, 1))
      assert.ok(span)
      assert.equal(span.error, 1)
      assert.equal(span.meta['error.type'], undefined)
      assert.equal(span.resource, 'GET /sync-throw')
    })

    test('validateStatus decides which statuses are errors', async (t) => {
      const agent = await agentFor(t)
      const { tracer, service } = tracerFor(agent)
      const { url } = await serve(t, failingApp(major, { tracer, validateStatus: (status) => status >= 400 }))
      assert.equal((await call(url + '/status-404')).status, 404)
      assert.equal((await call(url + '/client-error')).status, 400)
      const spans = roots(await tracesOf(agent, tracer, service, 2))
      for (const span of spans) assert.equal(span.error, 1, span.meta['http.url'])
      const clientError = spans.find((s) => s.meta['http.url'].endsWith('/client-error'))
      assert.equal(clientError?.meta['error.type'], 'RangeError')
    })

    test('the error handler passes the error on unchanged and never traces untraced requests', async (t) => {
      const handler = datadog.errorHandler()
      assert.equal(handler.length, 4)
      const err = new Error('x')
      const seen: unknown[] = []
      handler(err, {} as never, {} as never, (e) => seen.push(e))
      assert.deepEqual(seen, [err])

      const agent = await agentFor(t)
      const { tracer } = tracerFor(agent)
      const app = major.app()
      app.use(datadog({ tracer, skip: ['/skipped'] }))
      app.get('/skipped', () => {
        throw new Error('not traced')
      })
      app.use(datadog.errorHandler())
      app.use(appErrorHandler)
      const { url } = await serve(t, app)
      const res = await call(url + '/skipped')
      assert.equal(res.status, 500)
      assert.equal(res.body, 'handled not traced')
    })
  })
}
