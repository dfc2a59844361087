import assert from 'node:assert/strict'
import { once } from 'node:events'
import { request, type IncomingMessage, type ServerResponse } from 'node:http'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, test } from 'node:test'
import { activeSpan, createTracer, runSuppressed, type Span } from '@datadog-apm/core'
import { InMemoryExporter } from '@datadog-apm/core/testing'
import express5 from 'express'
import { datadog, rootSpan, setRoute } from '../src/index.js'
import { agentFor, call, majors, roots, serve, settled, tracerFor, tracesOf, within } from './support.js'

/** Resolves once the server has seen `res` close (the response ended or the client went away). */
function closed(res: { once(event: 'close', fn: () => void): unknown }): Promise<void> {
  return new Promise((resolve) => res.once('close', resolve))
}

for (const major of majors) {
  describe(`${major.name}: span lifecycle`, () => {
    test('the span is active in every later middleware, handler and async continuation', async (t) => {
      const agent = await agentFor(t)
      const { tracer, service } = tracerFor(agent)
      const seen: Record<string, Span | undefined> = {}
      let root: Span | undefined
      const app = major.app()
      app.use(datadog({ tracer }))
      app.use((req, _res, next) => {
        root = rootSpan(req)
        seen.middleware = activeSpan()
        next()
      })
      app.use(major.json())
      const router = major.router()
      router.post('/:id', (req, res) => {
        seen.handler = activeSpan()
        setTimeout(() => {
          seen.timer = activeSpan()
          void Promise.resolve().then(async () => {
            await sleep(1)
            seen.promise = activeSpan()
            res.json({ body: req.body as unknown })
          })
        }, 1)
      })
      app.use('/items', router)
      const { url, server } = await serve(t, app)
      // A body that arrives in two parts, so that the parser resumes from socket events: the second part
      // leaves only once the server has parsed the request's head, so it cannot come in the same read.
      const headParsed = once(server, 'request')
      // The test's own node:http request: untraced (Node 22.12+ would trace it, its span the request's parent).
      const res = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
        const req = runSuppressed(() => request(`${url}/items/5`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (response) => {
          let body = ''
          response.on('data', (chunk: Buffer) => (body += chunk.toString()))
          response.on('end', () => resolve({ status: response.statusCode, body }))
        }))
        req.on('error', reject)
        req.write('{"a":')
        headParsed.then(() => req.end('1}'), reject)
      })
      assert.equal(res.status, 200)
      assert.equal(res.body, '{"body":{"a":1}}')
      const [span] = roots(await tracesOf(agent, tracer, service, 1))
      assert.ok(root && span)
      assert.equal(root.context().spanId, span.span_id)
      for (const where of ['middleware', 'handler', 'timer', 'promise']) assert.equal(seen[where], root, where)
      assert.equal(span.resource, 'POST /items/:id')
    })

    test('child spans made in a handler have the request span as parent; rootSpan stays the root', async (t) => {
      const agent = await agentFor(t)
      const { tracer, service } = tracerFor(agent)
      let rootInChild: Span | undefined
      let activeInChild: Span | undefined
      const app = major.app()
      app.use(datadog({ tracer }))
      app.get('/work', async (req, res) => {
        await tracer.trace('child', { resource: 'load' }, async () => {
          await tracer.trace('grandchild', () => sleep(1))
          rootInChild = rootSpan(req)
          activeInChild = activeSpan()
        })
        res.send('done')
      })
      const { url } = await serve(t, app)
      assert.equal((await call(url + '/work')).status, 200)
      const [trace] = await tracesOf(agent, tracer, service, 1)
      assert.ok(trace)
      assert.deepEqual(agent.violations(), [])
      const root = trace.spans.find((s) => s.name === 'express.request')
      const child = trace.spans.find((s) => s.name === 'child')
      const grandchild = trace.spans.find((s) => s.name === 'grandchild')
      assert.ok(root && child && grandchild)
      assert.equal(child.parent_id, root.span_id)
      assert.equal(grandchild.parent_id, child.span_id)
      assert.equal(child.trace_id, root.trace_id)
      assert.equal(rootInChild?.context().spanId, root.span_id)
      assert.equal(activeInChild?.context().spanId, child.span_id)
    })

    test('concurrent requests keep their spans apart', async (t) => {
      const agent = await agentFor(t)
      const { tracer, service } = tracerFor(agent)
      const app = major.app()
      app.use(datadog({ tracer }))
      app.get('/job/:n', async (req, res) => {
        const n = req.params.n
        // Interleave: later requests finish first.
        await sleep(30 - Number(n))
        await tracer.trace('job.step', { tags: { 'job.n': n } }, () => sleep(Number(n) % 3))
        const active = activeSpan()
        res.send(`${n} ${active === rootSpan(req) ? 'same' : 'crossed'}`)
      })
      const { url } = await serve(t, app)
      const count = 25
      const results = await Promise.all(Array.from({ length: count }, (_, n) => call(`${url}/job/${n}`)))
      for (const [n, res] of results.entries()) assert.equal(res.body, `${n} same`)
      const traces = await tracesOf(agent, tracer, service, count)
      const traceIds = new Set<bigint>()
      for (const trace of traces) {
        assert.equal(trace.spans.length, 2)
        const root = trace.spans.find((s) => s.name === 'express.request')!
        const step = trace.spans.find((s) => s.name === 'job.step')!
        assert.equal(step.parent_id, root.span_id)
        assert.equal(step.trace_id, root.trace_id)
        assert.ok(root.meta['http.url'].endsWith(`/job/${step.meta['job.n']}`))
        traceIds.add(root.trace_id)
      }
      assert.equal(traceIds.size, count)
    })

    test('a client that goes away before the response still gets its span finished, once', async (t) => {
      const agent = await agentFor(t)
      const { tracer, service } = tracerFor(agent)
      let handlerResponded: () => void = () => {}
      const responded = new Promise<void>((resolve) => (handlerResponded = resolve))
      let handlerReached: (reached: { serverClosed: Promise<void> }) => void = () => {}
      const reached = new Promise<{ serverClosed: Promise<void> }>((resolve) => (handlerReached = resolve))
      const app = major.app()
      app.use(datadog({ tracer }))
      app.get('/hang/:id', (req, res) => {
        const serverClosed = closed(res)
        handlerReached({ serverClosed })
        // Answers long after the client left: the span must not finish a second time.
        void serverClosed.then(async () => {
          await sleep(10)
          res.status(200).send('too late')
          handlerResponded()
        })
      })
      const { url } = await serve(t, app)
      const { port } = new URL(url)
      const socket = connect(Number(port), '127.0.0.1')
      await once(socket, 'connect')
      socket.write('GET /hang/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
      const { serverClosed } = await within(reached, 5000, () => 'the request to reach its handler')
      socket.destroy()
      await within(serverClosed, 5000, () => 'the server to see the client go')
      await within(responded, 5000, () => 'the late answer')
      const [span] = roots(await tracesOf(agent, tracer, service, 1))
      assert.ok(span)
      assert.equal(span.resource, 'GET /hang/:id')
      assert.equal(span.meta['http.route'], '/hang/:id')
    })

    test('pipelined requests on one connection each get their own span, route, tags and status', async (t) => {
      const agent = await agentFor(t)
      const { tracer, service } = tracerFor(agent)
      const app = major.app()
      app.use(datadog({ tracer }))
      // A second registration must find each request's state, wherever it is kept, and trace nothing more.
      app.use(datadog({ tracer }))
      app.get('/slow/:id', (req, res) => {
        rootSpan(req)?.setTag('handler.id', req.params.id)
        setTimeout(() => res.status(503).send(`slow ${req.params.id}`), 30)
      })
      app.get('/fast/:id', (req, res) => {
        rootSpan(req)?.setTag('handler.id', req.params.id)
        setRoute(req, '/fast/custom')
        res.send(`fast ${req.params.id}`)
      })
      const { url } = await serve(t, app)
      const socket = connect(Number(new URL(url).port), '127.0.0.1')
      t.after(() => socket.destroy())
      await once(socket, 'connect')
      let received = ''
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()))
      // Registered after the listener that appends, so each check sees the chunk that woke it.
      const until = (body: string): Promise<void> =>
        within(
          new Promise<void>((resolve) => {
            const check = (): void => {
              if (!received.endsWith(body)) return
              socket.off('data', check)
              resolve()
            }
            socket.on('data', check)
            check()
          }),
          5000,
          () => `a reply ending in ${JSON.stringify(body)}, got ${JSON.stringify(received)}`
        )
      // In one write: Node hands Express the second and third request while the first is still served.
      const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`
      socket.write(get('/slow/1') + get('/fast/2') + get('/slow/3'))
      await until('slow 3')
      assert.equal(received.match(/HTTP\/1\.1 /g)?.length, 3)
      // The same connection once the pipeline has drained.
      socket.write(get('/fast/4'))
      await until('fast 4')

      const spans = roots(await tracesOf(agent, tracer, service, 4))
      const byId = new Map(spans.map((s) => [s.meta['handler.id'], s]))
      assert.deepEqual([...byId.keys()].sort(), ['1', '2', '3', '4'])
      for (const id of ['1', '3']) {
        const span = byId.get(id)!
        assert.equal(span.resource, 'GET /slow/:id')
        assert.equal(span.meta['http.status_code'], '503')
        assert.equal(span.error, 1)
        assert.equal(new URL(span.meta['http.url']).pathname, `/slow/${id}`)
      }
      for (const id of ['2', '4']) {
        const span = byId.get(id)!
        assert.equal(span.resource, 'GET /fast/custom')
        assert.equal(span.meta['http.status_code'], '200')
        assert.equal(new URL(span.meta['http.url']).pathname, `/fast/${id}`)
      }
      assert.equal(new Set(spans.map((s) => s.trace_id)).size, 4)
    })

    test('a streamed response finishes its span when the stream ends', async (t) => {
      const agent = await agentFor(t)
      const { tracer, service } = tracerFor(agent)
      const app = major.app()
      app.use(datadog({ tracer }))
      app.get('/stream', async (_req, res) => {
        res.status(200).type('text/plain')
        for (let i = 0; i < 5; i++) {
          res.write(`chunk ${i}\n`)
          await sleep(10)
        }
        res.end('end\n')
      })
      const { url } = await serve(t, app)
      const started = Date.now()
      const res = await call(url + '/stream')
      const elapsedMs = Date.now() - started
      assert.equal(res.body.split('\n').length, 7)
      const [span] = roots(await tracesOf(agent, tracer, service, 1))
      assert.ok(span)
      assert.equal(span.resource, 'GET /stream')
      assert.equal(span.meta['http.status_code'], '200')
      const durationMs = Number(span.duration) / 1e6
      assert.ok(durationMs >= 45 && durationMs <= elapsedMs + 5, `duration ${durationMs} ms covers the stream (${elapsedMs} ms)`)
    })

    test('skip leaves health checks untraced; hooks.request tags the span before it finishes', async (t) => {
      const agent = await agentFor(t)
      const { tracer, service } = tracerFor(agent)
      const hooked: string[] = []
      const app = major.app()
      app.use(
        datadog({
          tracer,
          skip: ['/health', /^\/internal\//],
          hooks: {
            request(span, req, res) {
              hooked.push(req.url ?? '')
              span.setTag('app.tier', 'gold')
              span.setTag('app.status_seen', res.statusCode)
            }
          }
        })
      )
      app.get('/health', (_req, res) => {
        res.send(activeSpan() === undefined ? 'no span' : 'span')
      })
      app.get('/internal/metrics', (_req, res) => {
        res.send('m')
      })
      app.get('/orders/:id', (_req, res) => {
        res.status(201).send('o')
      })
      const { url } = await serve(t, app)
      assert.equal((await call(url + '/health')).body, 'no span')
      assert.equal((await call(url + '/internal/metrics?x=1')).status, 200)
      assert.equal((await call(url + '/orders/1')).status, 201)
      const [span] = roots(await tracesOf(agent, tracer, service, 1))
      assert.ok(span)
      assert.equal(span.resource, 'GET /orders/:id')
      assert.equal(span.meta['app.tier'], 'gold')
      assert.equal(span.metrics['app.status_seen'], 201)
      assert.deepEqual(hooked, ['/orders/1'])
    })

    test('datadog() twice on one request (app and router) traces it once', async (t) => {
      const agent = await agentFor(t)
      const { tracer, service } = tracerFor(agent)
      const app = major.app()
      const middleware = datadog({ tracer })
      app.use(middleware)
      const router = major.router()
      router.use(middleware)
      router.get('/twice', (_req, res) => {
        res.send('ok')
      })
      app.use('/r', router)
      const { url } = await serve(t, app)
      assert.equal((await call(url + '/r/twice')).status, 200)
      const [trace] = await tracesOf(agent, tracer, service, 1)
      assert.equal(trace?.spans.length, 1)
      assert.equal(trace.spans[0]?.resource, 'GET /r/twice')
    })

    test('hostile input never breaks the request: a 16 KB URL, bad percent-encoding, odd methods', async (t) => {
      const agent = await agentFor(t)
      const { tracer, service } = tracerFor(agent)
      const app = major.app()
      // Keeps Express's final handler from printing the 400's stack to the test output.
      app.set('env', 'test')
      app.use(datadog({ tracer }))
      app.get('/echo/:value', (req, res) => {
        res.send(`v=${req.params.value?.length ?? 0}`)
      })
      app.get('/long', (req, res) => {
        res.send(`q=${req.originalUrl.length}`)
      })
      app.propfind('/dav/:file', (_req, res) => {
        res.status(207).send('multi')
      })
      app.all('/any', (req, res) => {
        res.send(req.method)
      })
      const { url } = await serve(t, app, { maxHeaderSize: 64 * 1024 })
      const longUrl = `/long?data=${'x'.repeat(16 * 1024)}`
      assert.equal((await call(url + longUrl)).body, `q=${longUrl.length}`)
      // Undecodable in a parameter: Express answers 400 itself; at the root it is a plain 404.
      assert.equal((await call(url + '/echo/%E0%A4%A')).status, 400)
      assert.equal((await call(url + '/%E0%A4%A')).status, 404)
      assert.equal((await call(url + '/dav/a.txt', { method: 'PROPFIND' })).status, 207)
      assert.equal((await call(url + '/any', { method: 'MKCOL' })).body, 'MKCOL')
      // A method Node's parser refuses never reaches Express; the server keeps serving.
      const { port } = new URL(url)
      const socket = connect(Number(port), '127.0.0.1')
      socket.end('BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n')
      const [reply] = (await once(socket, 'data')) as [Buffer]
      assert.match(reply.toString(), /^HTTP\/1\.1 400/)
      socket.destroy()
      assert.equal((await call(url + '/echo/ok')).body, 'v=2')

      const spans = roots(await tracesOf(agent, tracer, service, 6))
      assert.deepEqual(agent.violations(), [])
      const find = (path: string) => spans.find((s) => new URL(s.meta['http.url']).pathname === path)
      const long = find('/long')
      assert.ok(long)
      assert.equal(long.resource, 'GET /long')
      assert.ok(long.meta['http.url'].length <= 25_000)
      const bad = find('/echo/%E0%A4%A')
      assert.equal(bad?.meta['http.status_code'], '400')
      assert.equal(bad.error, 0)
      assert.equal(find('/%E0%A4%A')?.resource, 'GET')
      assert.equal(find('/dav/a.txt')?.resource, 'PROPFIND /dav/:file')
      assert.equal(find('/any')?.resource, 'MKCOL /any')
      assert.equal(find('/echo/ok')?.resource, 'GET /echo/:value')
    })
  })
}

describe('options and the disabled tracer', () => {
  test('options that make no sense throw one TypeError naming the option', () => {
    const bad: [unknown, RegExp][] = [
      [null, /options must be an object/],
      [{ service: '' }, /service/],
      [{ skip: 5 }, /skip/],
      [{ validateStatus: 'yes' }, /validateStatus/],
      [{ hooks: { request: 1 } }, /hooks\.request/],
      [{ headers: 'x-id' }, /headers/]
    ]
    for (const [options, message] of bad) assert.throws(() => datadog(options as never), (err: unknown) => err instanceof TypeError && message.test(err.message), JSON.stringify(options))
  })

  test('a misspelled option, or one of createTracer, gets one warning naming it and what was meant', () => {
    const lines: string[] = []
    const tracer = createTracer({ exporter: new InMemoryExporter(), flushOnExit: false, diagnostics: { write: (line) => void lines.push(line) } })
    const options = { tracer, servce: 'web', sampleRate: 0.5, hooks: { requst: () => {} } }
    datadog(options as never)
    datadog(options as never)
    assert.deepEqual(lines, [
      'datadog-apm: datadog(): unknown option servce is ignored; did you mean service?\n',
      'datadog-apm: datadog(): unknown option sampleRate is ignored; it is an option of createTracer: pass { tracer: createTracer({ sampleRate }) } to datadog()\n',
      'datadog-apm: datadog(): unknown option hooks.requst is ignored; did you mean hooks.request?\n'
    ])
  })

  test('outside Express (a plain node:http handler, no req.res) the state is found from the request too', async (t) => {
    const agent = await agentFor(t)
    const { tracer, service } = tracerFor(agent)
    const middleware = datadog({ tracer })
    const { url } = await serve(t, (req: IncomingMessage, res: ServerResponse) => {
      middleware(req, res, () => {
        setRoute(req, '/plain/:id')
        res.end(rootSpan(req) !== undefined && rootSpan(req) === activeSpan() ? 'traced' : 'lost')
      })
    })
    assert.equal((await call(url + '/plain/7')).body, 'traced')
    const [root] = roots(await tracesOf(agent, tracer, service, 1))
    assert.equal(root.resource, 'GET /plain/:id')
  })

  test('with tracing disabled the middleware only calls next', async (t) => {
    const agent = await agentFor(t)
    const { tracer } = tracerFor(agent, { enabled: false })
    const app = express5()
    app.use(datadog({ tracer }))
    app.get('/x', (req, res) => {
      res.send(rootSpan(req) === undefined && activeSpan() === undefined ? 'untraced' : 'traced')
    })
    const { url } = await serve(t, app)
    assert.equal((await call(url + '/x')).body, 'untraced')
    await settled(tracer)
    assert.equal(agent.traces().length, 0)
  })
})
