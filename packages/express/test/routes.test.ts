import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, test } from 'node:test'
import type { Request, Response, Router } from 'express'
import { datadog, setRoute } from '../src/index.js'
import { agentFor, call, majors, roots, serve, tracerFor, type ExpressMajor } from './support.js'

// router 2.2 (Express 5.0 and 5.1) keeps no pattern on its layers: the mount patterns it holds are rebuilt
// from the match, which the README documents as a heuristic.
const LegacyRouter = createRequire(import.meta.url)('router22') as (options?: object) => Router

interface Case {
  /** Method and path of the request. */
  readonly request: string
  readonly status: number
  /** The expected `http.route`; undefined when no route matched. */
  readonly route: string | undefined
}

const ok = (req: Request, res: Response): void => {
  res.send(`ok ${req.method} ${req.originalUrl}`)
}

/** One app per major with every kind of route the middleware must name. */
function buildApp(major: ExpressMajor, tracer: Parameters<typeof datadog>[0]) {
  const app = major.app()
  app.use(datadog(tracer))

  app.get('/', ok)
  app.get('/users/:id', ok)
  app.post('/users', ok)
  app.propfind('/dav', ok)

  // Three routers deep, with parameters in the mount paths.
  const posts = major.router()
  posts.get('/posts/:postId', ok)
  posts.get('/', ok)
  const users = major.router({ mergeParams: true })
  users.use('/users/:id', posts)
  const api = major.router()
  api.use('/v1/:tenant', users)
  app.use('/api', api)

  // One router mounted at two places: each request is named after the mount it came through.
  const shared = major.router()
  shared.get('/items/:itemId', ok)
  app.use('/left', shared)
  app.use('/right/:side', shared)

  // Wildcards, regular expressions, arrays, optional parameters.
  app.get(`/files${major.wildcard}`, ok)
  app.get(/^\/re(gex)?$/, ok)
  app.get(['/alias-a', '/alias-b/:x'], ok)
  app.get(major.major === 5 ? '/opt{/:id}' : '/opt/:id?', ok)
  const regexMounted = major.router()
  regexMounted.get('/item', ok)
  app.use(/^\/rx\d+/, regexMounted)

  // A sub-app mounted under a parameter.
  const admin = major.app()
  admin.get('/users/:id', ok)
  const deep = major.app()
  deep.get('/d/:e', ok)
  admin.use('/deep', deep)
  app.use('/admin/:org', admin)
  // An app used as plain middleware inside a router: no `parent` link, found through the top app.
  const plain = major.app()
  plain.get('/thing/:t', ok)
  const outer = major.router()
  outer.use('/x/:xx', plain)
  app.use('/outer', outer)

  // One router on an array of mount paths.
  const multi = major.router()
  multi.get('/leaf', ok)
  app.use(['/multi-a', '/multi-b/:k'], multi)

  // A router called from a plain function is not in the tree: the concrete mount prefix is used.
  const wrapped = major.router()
  wrapped.get('/:id', ok)
  app.use('/fn/:tenant', (req, res, next) => {
    wrapped(req, res, next)
  })

  // A handler that answers after awaiting, deep in a router.
  const slow = major.router()
  slow.get('/:n', async (req, res) => {
    await sleep(5)
    ok(req, res)
  })
  app.use('/slow', slow)

  // router 2.2 layers: mounts rebuilt from the match.
  const legacyInner = LegacyRouter()
  legacyInner.get('/detail/:d', ok)
  const legacy = LegacyRouter()
  legacy.use('/items/:itemId', legacyInner)
  app.use('/legacy/:ver', legacy)

  // The route set by the app wins.
  app.get('/custom/:anything', (req, res) => {
    setRoute(req, '/custom-route')
    ok(req, res)
  })
  // A middleware answers: no route.
  app.use('/static', (req, res) => {
    res.send('static')
  })
  return app
}

function cases(major: ExpressMajor): Case[] {
  return [
    { request: 'GET /', status: 200, route: '/' },
    { request: 'GET /users/42', status: 200, route: '/users/:id' },
    { request: 'POST /users', status: 200, route: '/users' },
    { request: 'PROPFIND /dav', status: 200, route: '/dav' },
    { request: 'GET /api/v1/acme/users/42/posts/7', status: 200, route: '/api/v1/:tenant/users/:id/posts/:postId' },
    { request: 'GET /api/v1/acme/users/42', status: 200, route: '/api/v1/:tenant/users/:id' },
    { request: 'GET /left/items/1', status: 200, route: '/left/items/:itemId' },
    { request: 'GET /right/r/items/2', status: 200, route: '/right/:side/items/:itemId' },
    { request: 'GET /files/a/b/c.txt', status: 200, route: `/files/${major.wildcardName}` },
    { request: 'GET /regex', status: 200, route: '(/^\\/re(gex)?$/)' },
    { request: 'GET /re', status: 200, route: '(/^\\/re(gex)?$/)' },
    { request: 'GET /alias-a', status: 200, route: '/alias-a' },
    { request: 'GET /alias-b/9', status: 200, route: '/alias-b/:x' },
    { request: 'GET /opt', status: 200, route: major.major === 5 ? '/opt{/:id}' : '/opt/:id?' },
    { request: 'GET /opt/5', status: 200, route: major.major === 5 ? '/opt{/:id}' : '/opt/:id?' },
    { request: 'GET /rx42/item', status: 200, route: '(/^\\/rx\\d+/)/item' },
    { request: 'GET /admin/acme/users/3', status: 200, route: '/admin/:org/users/:id' },
    { request: 'GET /admin/acme/deep/d/4', status: 200, route: '/admin/:org/deep/d/:e' },
    { request: 'GET /outer/x/1/thing/2', status: 200, route: '/outer/x/:xx/thing/:t' },
    { request: 'GET /slow/8', status: 200, route: '/slow/:n' },
    { request: 'GET /multi-a/leaf', status: 200, route: '/multi-a/leaf' },
    { request: 'GET /multi-b/3/leaf', status: 200, route: '/multi-b/:k/leaf' },
    { request: 'GET /fn/acme/5', status: 200, route: '/fn/acme/:id' },
    { request: 'GET /legacy/v2/items/77/detail/x', status: 200, route: '/legacy/:ver/items/:itemId/detail/:d' },
    { request: 'GET /custom/abc', status: 200, route: '/custom-route' },
    { request: 'GET /static/app.js', status: 200, route: undefined },
    { request: 'GET /nothing/here', status: 404, route: undefined },
    { request: 'DELETE /users/42', status: 404, route: undefined }
  ]
}

for (const major of majors) {
  describe(`${major.name}: routes`, () => {
    test('each request is named after the full route pattern it matched', async (t) => {
      const agent = await agentFor(t)
      const { tracer, service } = tracerFor(agent)
      const { url } = await serve(t, buildApp(major, { tracer }))
      const table = cases(major)
      for (const c of table) {
        const [method, path] = c.request.split(' ') as [string, string]
        const res = await call(url + path, { method, headers: { 'user-agent': 'route-table' } })
        assert.equal(res.status, c.status, c.request)
      }
      await tracer.flush()
      const traces = await agent.waitForTraces(table.length, { filter: (tr) => tr.spans.some((s) => s.service === service) })
      assert.deepEqual(agent.violations(), [])
      const byRequest = new Map(roots(traces).map((span) => [`${span.meta['http.method']} ${new URL(span.meta['http.url']).pathname}`, span]))
      for (const c of table) {
        const span = byRequest.get(c.request)
        assert.ok(span, `a span for ${c.request}`)
        const [method] = c.request.split(' ') as [string]
        assert.equal(span.meta['http.route'], c.route, `http.route of ${c.request}`)
        assert.equal(span.resource, c.route === undefined ? method : `${method} ${c.route}`, `resource of ${c.request}`)
        assert.equal(span.meta['http.status_code'], String(c.status), c.request)
        assert.equal(span.name, 'express.request')
        assert.equal(span.type, 'web')
        assert.equal(span.service, service)
        assert.equal(span.meta['span.kind'], 'server')
        assert.equal(span.meta.component, 'express')
        assert.equal(span.meta['http.useragent'], 'route-table')
        assert.equal(span.meta['http.url'], url + c.request.split(' ')[1])
        assert.equal(span.error, 0)
        assert.equal(span.parent_id, 0n)
      }
    })

    test('routes and mounts added after the first request are found', async (t) => {
      const agent = await agentFor(t)
      const { tracer, service } = tracerFor(agent)
      const app = major.app()
      app.use(datadog({ tracer }))
      const early = major.router()
      early.get('/:id', ok)
      app.use('/early', early)
      const { url } = await serve(t, app)
      assert.equal((await call(url + '/early/1')).status, 200)
      // The same router mounted again elsewhere, with no new route: the name now depends on the request.
      app.use('/again', early)
      for (const path of ['/early/2', '/again/3']) assert.equal((await call(url + path)).status, 200, path)
      const late = major.router()
      late.get('/:lateId', ok)
      app.use('/late/:group', late)
      assert.equal((await call(url + '/late/g/4')).status, 200)
      await tracer.flush()
      const spans = roots(await agent.waitForTraces(4, { filter: (tr) => tr.spans.some((s) => s.service === service) }))
      assert.deepEqual(
        spans.map((s) => s.resource),
        ['GET /early/:id', 'GET /early/:id', 'GET /again/:id', 'GET /late/:group/:lateId']
      )
    })

    test('the query is redacted in http.url and never reaches the route', async (t) => {
      const agent = await agentFor(t)
      const { tracer, service } = tracerFor(agent)
      const app = major.app()
      app.use(datadog({ tracer }))
      app.get('/search/:kind', ok)
      const { url } = await serve(t, app)
      assert.equal((await call(`${url}/search/books?q=dune&password=hunter2`)).status, 200)
      await tracer.flush()
      const [root] = roots(await agent.waitForTraces(1, { filter: (tr) => tr.spans.some((s) => s.service === service) }))
      assert.ok(root)
      assert.equal(root.meta['http.url'], `${url}/search/books?q=dune&<redacted>`)
      assert.equal(root.meta['http.route'], '/search/:kind')
      assert.equal(root.resource, 'GET /search/:kind')
    })
  })
}
