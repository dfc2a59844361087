/* eslint-disable @typescript-eslint/require-await -- async handlers and hooks without an await are the Fastify idiom under test: Fastify tells callback hooks from promise ones by the function's kind */
import assert from 'node:assert/strict'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { PassThrough } from 'node:stream'
import { describe, test } from 'node:test'
import { activeSpan, type Span } from '@datadog-apm/core'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { datadogPlugin } from '../src/index.js'
import { closedResponses, foreign, majors, memoryTracer, spansAfter, tracedApp, until } from './support.js'

function only<T extends { readonly resource: string }>(spans: T[]): T {
  assert.equal(spans.length, 1, `expected one span, got ${spans.map((s) => s.resource).join(', ')}`)
  return spans[0]
}

for (const major of majors) {
  describe(major.name, () => {
    test('the request span has the shape of dd-trace: name, type, kind, component, prefixed route, http tags', async (t) => {
      const { app, exporter } = await tracedApp(major)
      t.after(() => app.close())
      await app.register(
        async (v1) => {
          await v1.register(
            async (users) => {
              users.get('/:id', async (request) => ({ id: request.params }))
            },
            { prefix: '/users' }
          )
        },
        { prefix: '/v1' }
      )
      const res = await app.inject({ url: '/v1/users/42?token=abc&page=2', headers: { 'user-agent': 'test-agent/1.0' } })
      assert.equal(res.statusCode, 200)
      const span = only(await spansAfter(exporter, 1))
      assert.equal(span.name, 'fastify.request')
      assert.equal(span.type, 'web')
      assert.equal(span.service, 'svc')
      assert.equal(span.resource, 'GET /v1/users/:id')
      assert.equal(span.parentId, 0n)
      assert.equal(span.error, 0)
      assert.equal(span.metrics['_dd.measured'], 1)
      assert.deepEqual(
        {
          kind: span.meta['span.kind'],
          component: span.meta.component,
          method: span.meta['http.method'],
          status: span.meta['http.status_code'],
          route: span.meta['http.route'],
          url: span.meta['http.url'],
          useragent: span.meta['http.useragent']
        },
        {
          kind: 'server',
          component: 'fastify',
          method: 'GET',
          status: '200',
          route: '/v1/users/:id',
          url: 'http://localhost:80/v1/users/42?<redacted>&page=2',
          useragent: 'test-agent/1.0'
        }
      )
    })

    test('a request no route matches is named after the not-found route that ran, as dd-trace 5 names it: GET /*, DELETE /api/*', async (t) => {
      const { app, exporter } = await tracedApp(major)
      t.after(() => app.close())
      await app.register(
        async (api) => {
          api.setNotFoundHandler((_request, reply) => {
            void reply.code(404).send({ custom: true })
          })
          api.get('/known', async () => 'ok')
        },
        { prefix: '/api' }
      )
      assert.equal((await app.inject({ method: 'GET', url: '/missing' })).statusCode, 404)
      const custom = await app.inject({ method: 'DELETE', url: '/api/missing' })
      assert.deepEqual(custom.json(), { custom: true })
      assert.deepEqual((await app.inject({ method: 'GET', url: '/api?x=1' })).json(), { custom: true })
      const [plain, prefixed, exact] = await spansAfter(exporter, 3)
      // Measured with dd-trace 5.x on Fastify 4.29 and 5.12: resource `GET /*` and http.route `/*`, and
      // `GET /v1/*` under a not-found handler set in a plugin with the prefix /v1.
      // A request for exactly the prefix runs the route Fastify registers for the prefix itself: `GET /v1`.
      for (const [span, method, route] of [[plain, 'GET', '/*'], [prefixed, 'DELETE', '/api/*'], [exact, 'GET', '/api']] as const) {
        assert.equal(span.resource, `${method} ${route}`)
        assert.equal(span.meta['http.status_code'], '404')
        assert.equal(span.meta['http.route'], route)
        assert.equal(span.error, 0)
      }
    })

    test('HEAD routes, wildcards and the prefix root resolve to the pattern Fastify reports as routeOptions.url', async (t) => {
      const { app, exporter } = await tracedApp(major)
      t.after(() => app.close())
      const reported: string[] = []
      await app.register(
        async (v2) => {
          v2.addHook('onRequest', async (request) => {
            reported.push(`${request.method} ${request.routeOptions.url}`)
          })
          v2.get('/', async () => 'root')
          v2.get('/files/*', async () => 'file')
        },
        { prefix: '/v2' }
      )
      await app.inject({ method: 'HEAD', url: '/v2/files/a/b.txt' })
      await app.inject({ method: 'GET', url: '/v2/' })
      await app.inject({ method: 'GET', url: '/v2' })
      const spans = await spansAfter(exporter, 3)
      assert.deepEqual(
        spans.map((s) => s.resource),
        reported
      )
      // Fastify 4 reports the slash form of a prefix root route as '/v2/', Fastify 5 as '/v2'.
      assert.deepEqual(reported, ['HEAD /v2/files/*', major.major === 4 ? 'GET /v2/' : 'GET /v2', 'GET /v2'])
    })

    test('with rewriteUrl, http.url keeps what the client sent and the route is the rewritten one', async (t) => {
      const { app, exporter } = await tracedApp(major, {}, { rewriteUrl: (req) => (req.url === '/old?x=1' ? '/new?x=1' : (req.url ?? '/')) })
      t.after(() => app.close())
      app.get('/new', async () => 'new')
      assert.equal((await app.inject('/old?x=1')).body, 'new')
      const span = only(await spansAfter(exporter, 1))
      assert.equal(span.meta['http.url'], 'http://localhost:80/old?x=1')
      assert.equal(span.resource, 'GET /new')
    })

    test('the request span is request.span and the active span in every hook, async or callback, and the handler', async (t) => {
      const { app, exporter } = await tracedApp(major)
      t.after(() => app.close())
      const seen = new Map<string, string[]>()
      const note = (request: FastifyRequest, where: string): void => {
        const list = seen.get(request.id) ?? []
        seen.set(request.id, list)
        list.push(`${where}:${request.span !== undefined && activeSpan() === request.span}`)
      }
      for (const stage of ['onRequest', 'preValidation', 'preHandler', 'onResponse'] as const) {
        app.addHook(stage, (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
          note(request, `${stage}/cb`)
          setTimeout(done, 1)
        })
        app.addHook(stage, async (request: FastifyRequest) => {
          await new Promise((resolve) => setTimeout(resolve, 1))
          note(request, `${stage}/async`)
        })
      }
      for (const stage of ['preParsing', 'preSerialization', 'onSend'] as const) {
        app.addHook(stage, (request: FastifyRequest, _reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) => {
          note(request, `${stage}/cb`)
          setTimeout(() => done(null, payload), 1)
        })
        app.addHook(stage, async (request: FastifyRequest, _reply: FastifyReply, payload: unknown) => {
          await new Promise((resolve) => setTimeout(resolve, 1))
          note(request, `${stage}/async`)
          return payload
        })
      }
      app.post('/async', async (request) => {
        note(request, 'handler')
        await new Promise((resolve) => setTimeout(resolve, 1))
        note(request, 'handler after await')
        return { body: request.body }
      })
      app.get('/callback', (request, reply) => {
        note(request, 'handler')
        setTimeout(() => {
          note(request, 'handler after await')
          void reply.send({ ok: true })
        }, 1)
      })
      const post = await app.inject({ method: 'POST', url: '/async', payload: { hello: 'world' } })
      assert.deepEqual(post.json(), { body: { hello: 'world' } })
      assert.equal((await app.inject('/callback')).statusCode, 200)
      await spansAfter(exporter, 2)
      // The span is finished on the response's 'close', before the app's asynchronous onResponse hook ends.
      await until(() => [...seen.values()].every((list) => list.length === 16), 'the onResponse hooks')
      const expected = [
        'onRequest/cb', 'onRequest/async', 'preParsing/cb', 'preParsing/async', 'preValidation/cb', 'preValidation/async',
        'preHandler/cb', 'preHandler/async', 'handler', 'handler after await', 'preSerialization/cb', 'preSerialization/async',
        'onSend/cb', 'onSend/async', 'onResponse/cb', 'onResponse/async'
      ].map((where) => `${where}:true`)
      for (const [id, list] of seen) assert.deepEqual(list, expected, `request ${id}`)
      assert.equal(seen.size, 2)
    })

    async function pooledHooks(t: { after(fn: () => Promise<unknown>): void }, guard: 'handler' | 'every-hook' | undefined): Promise<string[]> {
      const { app, exporter } = await tracedApp(major, guard === undefined ? {} : { contextGuard: guard })
      t.after(() => app.close())
      const seen: string[] = []
      const lost: boolean[] = []
      const note = (request: FastifyRequest, where: string): void => {
        seen.push(`${where}:${request.span !== undefined && activeSpan() === request.span}`)
      }
      // Each of the app's hooks hands over from the pool's context; the plugin's check at the start of the
      // next stage, of the route's own hooks and just before the handler must bring the request span back.
      const handOver = (done: () => void) => () => {
        lost.push(activeSpan() === undefined)
        done()
      }
      for (const stage of ['onRequest', 'preValidation', 'preHandler'] as const) {
        app.addHook(stage, (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
          note(request, stage)
          foreign(handOver(done))
        })
      }
      app.addHook('preParsing', (request, _reply, payload, done) => {
        note(request, 'preParsing')
        foreign(handOver(() => done(null, payload)))
      })
      app.addHook('onSend', (request, _reply, payload, done) => {
        note(request, 'onSend')
        foreign(handOver(() => done(null, payload)))
      })
      app.addHook('onResponse', (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
        note(request, 'onResponse')
        done()
      })
      app.post(
        '/pooled',
        {
          preValidation: (request, _reply, done) => {
            note(request, 'route preValidation')
            done()
          },
          preHandler: [
            (request, _reply, done) => {
              note(request, 'route preHandler')
              foreign(handOver(done))
            }
          ],
          onSend: (request, _reply, payload, done) => {
            note(request, 'route onSend')
            done(null, payload)
          }
        },
        (request, reply) => {
          note(request, 'handler')
          // The reply too is sent from the pool's context.
          foreign(() => void reply.send({ ok: true }))
        }
      )
      const res = await app.inject({ method: 'POST', url: '/pooled', payload: { a: 1 } })
      assert.deepEqual(res.json(), { ok: true })
      await spansAfter(exporter, 1)
      assert.deepEqual(lost, [true, true, true, true, true, true], 'the pool really runs outside the request context')
      return seen
    }

    test("contextGuard 'every-hook': a hook that calls done from another async context does not take the span from what follows", async (t) => {
      assert.deepEqual(await pooledHooks(t, 'every-hook'), [
        'onRequest:true', 'preParsing:true', 'preValidation:true', 'route preValidation:true', 'preHandler:true', 'route preHandler:true',
        'handler:true', 'onSend:true', 'route onSend:true', 'onResponse:true'
      ])
    })

    test('by default the handler gets the span back after hooks of the app lost it; the stages between and after do not', async (t) => {
      const seen = await pooledHooks(t, undefined)
      assert.deepEqual(await pooledHooks(t, 'handler'), seen, "'handler' is the default")
      assert.deepEqual(seen, [
        'onRequest:true', 'preParsing:false', 'preValidation:false', 'route preValidation:false', 'preHandler:false', 'route preHandler:false',
        'handler:true', 'onSend:false', 'route onSend:false', 'onResponse:false'
      ])
    })

    test('an error sent from another async context reaches the error handler inside the request span', async (t) => {
      const { app, exporter } = await tracedApp(major)
      t.after(() => app.close())
      let inErrorHandler: boolean | undefined
      app.setErrorHandler((error: Error, request, reply) => {
        inErrorHandler = request.span !== undefined && activeSpan() === request.span
        void reply.code(500).send({ failed: error.message })
      })
      app.get('/pooled-failure', (_request, reply) => {
        foreign(() => void reply.send(new Error('connection reset by pool')))
      })
      assert.deepEqual((await app.inject('/pooled-failure')).json(), { failed: 'connection reset by pool' })
      const span = only(await spansAfter(exporter, 1))
      assert.equal(span.meta['error.message'], 'connection reset by pool')
      assert.equal(inErrorHandler, true)
    })

    test("contextGuard 'every-hook': a streamed reply fed from another async context still ends inside the request span", async (t) => {
      const { app, exporter } = await tracedApp(major, { contextGuard: 'every-hook' })
      t.after(() => app.close())
      let inResponseHook: boolean | undefined
      app.addHook('onResponse', (request, _reply, done) => {
        inResponseHook = request.span !== undefined && activeSpan() === request.span
        done()
      })
      app.get('/feed', (_request, reply) => {
        const feed = new PassThrough()
        void reply.type('text/plain').send(feed)
        // The stream's data and end come from the pool, as from a shared upstream connection.
        foreign(() => feed.write('a'))
        foreign(() => foreign(() => feed.end('b')))
      })
      const res = await app.inject('/feed')
      assert.equal(res.body, 'ab')
      await spansAfter(exporter, 1)
      assert.equal(inResponseHook, true)
    })

    test('errors thrown from each hook and the handler are recorded on the span', async (t) => {
      const { app, exporter } = await tracedApp(major)
      t.after(() => app.close())
      const stages = ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'handler', 'preSerialization', 'onSend'] as const
      for (const stage of stages) {
        await app.register(async (scope) => {
          const fail = new Error(`from ${stage}`)
          if (stage === 'preParsing' || stage === 'preSerialization' || stage === 'onSend') {
            scope.addHook(stage, async () => {
              throw fail
            })
          } else if (stage !== 'handler') {
            scope.addHook(stage, async () => {
              throw fail
            })
          }
          scope.post(`/${stage}`, async () => {
            if (stage === 'handler') throw fail
            return { ok: true }
          })
        })
      }
      for (const stage of stages) {
        const res = await app.inject({ method: 'POST', url: `/${stage}`, payload: { a: 1 } })
        assert.equal(res.statusCode, 500, stage)
      }
      const spans = await spansAfter(exporter, stages.length)
      for (const [i, stage] of stages.entries()) {
        const span = spans[i]
        assert.equal(span.resource, `POST /${stage}`)
        assert.equal(span.error, 1, stage)
        assert.equal(span.meta['error.type'], 'Error')
        assert.equal(span.meta['error.message'], `from ${stage}`)
        assert.match(span.meta['error.stack'] ?? '', new RegExp(`Error: from ${stage}`))
        assert.equal(span.meta['http.status_code'], '500')
      }
    })

    test('callback-style errors: done(err) in a hook and reply.send(err) in a handler', async (t) => {
      const { app, exporter } = await tracedApp(major)
      t.after(() => app.close())
      await app.register(async (scope) => {
        scope.addHook('preHandler', (_request, _reply, done) => done(new Error('done(err)')))
        scope.get('/hook', (_request, reply) => void reply.send('unreached'))
      })
      app.get('/send', (_request, reply) => void reply.send(new Error('sent')))
      app.get('/unavailable', (_request, reply) => void reply.code(503).send(new Error('unavailable')))
      for (const url of ['/hook', '/send', '/unavailable']) await app.inject(url)
      const spans = await spansAfter(exporter, 3)
      assert.deepEqual(
        spans.map((s) => [s.meta['http.status_code'], s.error, s.meta['error.message']]),
        [['500', 1, 'done(err)'], ['500', 1, 'sent'], ['503', 1, 'unavailable']]
      )
    })

    test("the app's error handler runs unchanged; the span follows the status it sends", async (t) => {
      const { app, exporter } = await tracedApp(major)
      t.after(() => app.close())
      app.setErrorHandler((error: Error, _request, reply) => {
        if (error.message === 'recover') return reply.code(200).send({ recovered: true })
        return reply.code(502).send({ custom: error.message })
      })
      app.get('/bad-gateway', async () => {
        throw new Error('upstream down')
      })
      app.get('/recover', async () => {
        throw new Error('recover')
      })
      app.get('/teapot', async () => {
        throw Object.assign(new Error('short and stout'), { statusCode: 418 })
      })
      assert.deepEqual((await app.inject('/bad-gateway')).json(), { custom: 'upstream down' })
      assert.deepEqual((await app.inject('/recover')).json(), { recovered: true })
      assert.equal((await app.inject('/teapot')).statusCode, 502)
      const spans = await spansAfter(exporter, 3)
      assert.deepEqual(
        spans.map((s) => [s.resource, s.meta['http.status_code'], s.error, s.meta['error.message']]),
        [
          ['GET /bad-gateway', '502', 1, 'upstream down'],
          ['GET /recover', '200', 0, undefined],
          ['GET /teapot', '502', 1, 'short and stout']
        ]
      )
    })

    test('a 4xx error status is not an error by default', async (t) => {
      const { app, exporter } = await tracedApp(major)
      t.after(() => app.close())
      app.get('/teapot', async () => {
        throw Object.assign(new Error('short and stout'), { statusCode: 418 })
      })
      assert.equal((await app.inject('/teapot')).statusCode, 418)
      const span = only(await spansAfter(exporter, 1))
      assert.equal(span.meta['http.status_code'], '418')
      assert.equal(span.error, 0)
      assert.equal(span.meta['error.message'], undefined)
    })

    test('a schema validation failure is a 400 and not an error, unless validateStatus says so', async (t) => {
      const schema = { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } }
      for (const validateStatus of [undefined, (status: number) => status >= 400]) {
        const { app, exporter } = await tracedApp(major, validateStatus === undefined ? {} : { validateStatus })
        t.after(() => app.close())
        app.post('/users', { schema }, async (request) => request.body)
        const res = await app.inject({ method: 'POST', url: '/users', payload: { nope: 1 } })
        assert.equal(res.statusCode, 400)
        const span = only(await spansAfter(exporter, 1))
        assert.equal(span.meta['http.status_code'], '400')
        if (validateStatus === undefined) {
          assert.equal(span.error, 0)
          assert.equal(span.meta['error.message'], undefined)
        } else {
          assert.equal(span.error, 1)
          assert.match(span.meta['error.message'] ?? '', /name/)
        }
      }
    })

    test('a route with config { datadog: false } is not traced; its neighbours are', async (t) => {
      const { app, exporter } = await tracedApp(major)
      t.after(() => app.close())
      app.get('/health', { config: { datadog: false } }, async (request) => ({ traced: request.span !== undefined, active: activeSpan() !== undefined }))
      app.get('/work', async (request) => ({ traced: request.span !== undefined }))
      assert.deepEqual((await app.inject('/health')).json(), { traced: false, active: false })
      assert.deepEqual((await app.inject('/work')).json(), { traced: true })
      const span = only(await spansAfter(exporter, 1))
      assert.equal(span.resource, 'GET /work')
    })

    test('paths in the skip list are not traced', async (t) => {
      const { app, exporter } = await tracedApp(major, { skip: ['/ping', /^\/internal\//] })
      t.after(() => app.close())
      app.get('/ping', async (request) => ({ traced: request.span !== undefined }))
      app.get('/internal/:x', async (request) => ({ traced: request.span !== undefined }))
      app.get('/pong', async (request) => ({ traced: request.span !== undefined }))
      assert.deepEqual((await app.inject('/ping?x=1')).json(), { traced: false })
      assert.deepEqual((await app.inject('/internal/stats')).json(), { traced: false })
      assert.deepEqual((await app.inject('/pong')).json(), { traced: true })
      assert.equal(only(await spansAfter(exporter, 1)).resource, 'GET /pong')
    })

    test('hooks.request and hooks.fastifyRequest run before finish, with the tags set; throwing ones break nothing', async (t) => {
      const calls: string[] = []
      const { app, exporter, warnings } = await tracedApp(major, {
        hooks: {
          request(span: Span, req: IncomingMessage, res: ServerResponse) {
            calls.push(`request ${req.url} ${res.statusCode} ${span.getTag('http.route')} ${span.finished}`)
            span.setTag('raw.hook', 'yes')
            if (req.url === '/throw') throw new Error('hook failure')
          },
          fastifyRequest(span: Span, request: FastifyRequest, reply: FastifyReply) {
            calls.push(`fastify ${request.url} ${reply.statusCode} ${request.span === span} ${span.getTag('http.status_code')}`)
            span.setTag('tenant', request.headers['x-tenant'])
          }
        }
      })
      t.after(() => app.close())
      app.get('/ok', async () => 'ok')
      app.get('/throw', async () => 'ok')
      await app.inject({ url: '/ok', headers: { 'x-tenant': 'acme' } })
      assert.equal((await app.inject({ url: '/throw', headers: { 'x-tenant': 'globex' } })).statusCode, 200)
      const [ok, thrown] = await spansAfter(exporter, 2)
      assert.deepEqual(calls, [
        'request /ok 200 /ok false',
        'fastify /ok 200 true 200',
        'request /throw 200 /throw false',
        'fastify /throw 200 true 200'
      ])
      assert.equal(ok.meta.tenant, 'acme')
      assert.equal(ok.meta['raw.hook'], 'yes')
      assert.equal(thrown.meta.tenant, 'globex')
      assert.equal(thrown.finished, true)
      assert.equal(warnings.length, 1)
      assert.match(warnings[0], /hooks\.request/)
    })

    test('the span service can be set per plugin', async (t) => {
      const { app, exporter } = await tracedApp(major, { service: 'api-gateway' })
      t.after(() => app.close())
      app.get('/', async () => 'ok')
      await app.inject('/')
      assert.equal(only(await spansAfter(exporter, 1)).service, 'api-gateway')
    })

    test('options that make no sense fail the registration with a TypeError naming the option', async (t) => {
      const { tracer } = memoryTracer()
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ service: '' }, /option service/],
        [{ skip: 5 }, /option skip/],
        [{ headers: 'x-id' }, /option headers/],
        [{ validateStatus: 500 }, /option validateStatus/],
        [{ queryStringObfuscation: '(' }, /option queryStringObfuscation/],
        [{ hooks: 1 }, /option hooks/],
        [{ hooks: { request: 'no' } }, /option hooks\.request/],
        [{ hooks: { fastifyRequest: 'no' } }, /option hooks\.fastifyRequest/],
        [{ contextGuard: 'always' }, /option contextGuard/]
      ]
      for (const [options, message] of cases) {
        const app = major.create()
        t.after(() => app.close())
        await assert.rejects(
          async () => {
            await app.register(datadogPlugin, { tracer, ...options } as never)
          },
          (err: unknown) => err instanceof TypeError && message.test(err.message),
          JSON.stringify(options)
        )
      }
    })

    test("a misspelled option gets one warning naming it; Fastify's own register options are left alone", async (t) => {
      const { tracer, warnings } = memoryTracer()
      const app = major.create()
      t.after(() => app.close())
      const options = {
        tracer,
        prefix: '/v1',
        logLevel: 'warn',
        logSerializers: {},
        contextGuard: 'handler',
        contextGaurd: 'every-hook',
        servce: 'api',
        hooks: { fastifyRequest: () => {}, fastifyRequets: () => {} }
      }
      await app.register(datadogPlugin, options as never)
      app.get('/', async () => 'ok')
      assert.equal((await app.inject('/')).statusCode, 200)
      assert.deepEqual(warnings, [
        'datadog-apm: the Fastify plugin: unknown option contextGaurd is ignored; did you mean contextGuard?\n',
        'datadog-apm: the Fastify plugin: unknown option servce is ignored; did you mean service?\n',
        'datadog-apm: the Fastify plugin: unknown option hooks.fastifyRequets is ignored; did you mean hooks.fastifyRequest?\n'
      ])
    })

    test('registering the plugin twice on one instance tree is refused', async (t) => {
      const { tracer } = memoryTracer()
      const app = major.create()
      t.after(() => app.close())
      await app.register(datadogPlugin, { tracer })
      await assert.rejects(
        async () => {
          await app.register(async (child) => {
            await child.register(datadogPlugin, { tracer })
          })
        },
        /already registered/
      )
    })

    test('with the tracer disabled nothing is traced and the app runs as before', async (t) => {
      const { tracer, exporter } = memoryTracer({ enabled: false })
      const app = major.create()
      t.after(() => app.close())
      await app.register(datadogPlugin, { tracer })
      const closed = closedResponses(app)
      app.post('/echo', async (request) => ({ body: request.body, traced: request.span !== undefined }))
      assert.deepEqual((await app.inject({ method: 'POST', url: '/echo', payload: { a: 1 } })).json(), { body: { a: 1 }, traced: false })
      // The response's 'close' is where a span would have been finished (and exported, synchronously).
      await until(() => closed() === 1, 'the response to close')
      assert.equal(exporter.spans().length, 0)
    })

    test('the span is finished once, when the response is done', async (t) => {
      const { app, exporter } = await tracedApp(major)
      t.after(() => app.close())
      const closed = closedResponses(app)
      let span: Span | undefined
      app.addHook('onResponse', async (request) => {
        span = request.span
      })
      app.get('/', async (request) => {
        await new Promise((resolve) => setTimeout(resolve, 20))
        assert.equal(request.span?.finished, false)
        return 'ok'
      })
      await app.inject('/')
      const [exported] = await spansAfter(exporter, 1)
      assert.equal(exported.spanId, span?.context().spanId)
      assert.ok(exported.duration >= 15, `duration ${exported.duration}`)
      // After the response's 'close', the last place the plugin finishes a span, there is still one.
      await until(() => closed() === 1, 'the response to close')
      assert.equal(exporter.spans().length, 1)
    })
  })
}
