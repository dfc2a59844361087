// ioredis and node-redis spans from the drivers' own diagnostics channels, against Redis 7: traced
// Fastify routes run commands, pipelines and transactions, and the span trees in the local intake are
// checked.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { Redis } from 'ioredis'
import { createClient, createClientPool } from 'redis'
import { startRedis, type DatabaseServer } from './support/servers/index.js'
import {
  assertChildOf,
  assertOneAfterOther,
  assertOwnSpanAroundAwait,
  commonTags,
  ownMeta,
  spansAroundAwait,
  spansNamed,
  startTracedApp,
  type TracedApp
} from './support/traced-app.js'

let server: DatabaseServer
let traced: TracedApp
let io: Redis
let node: ReturnType<typeof createClient>
let nodePool: ReturnType<typeof createClientPool>

before(async () => {
  server = await startRedis()
  traced = await startTracedApp((app, tracer) => {
    app.get('/io/cart/:id', async (request) => {
      const key = `cart:${(request.params as { id: string }).id}`
      await io.set(key, 'kettle')
      return { item: await io.get(key) }
    })
    app.get('/io/pipeline', async () => {
      const results = await io.pipeline().set('a', '1').incr('a').get('a').exec()
      return results?.map(([, value]) => value)
    })
    app.get('/io/multi', async () => {
      const results = await io.multi().set('b', '1').incr('b').exec()
      return results?.map(([, value]) => value)
    })
    app.get('/io/wrong-type', async (_request, reply) => {
      await io.set('word', 'hello')
      try {
        await io.incr('word')
        return 'unexpected'
      } catch (err) {
        return reply.code(500).send({ error: (err as Error).message })
      }
    })
    app.get('/io/callback', (_request, reply) => {
      const own = tracer.activeSpan()
      // ioredis returns its promise as well; the callback is what is tested.
      void io.get('cart:1', () => {
        void reply.send({ sameContext: tracer.activeSpan() === own })
      })
    })
    app.get('/io/down', async (_request, reply) => {
      const down = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
      down.on('error', () => {})
      try {
        await down.connect()
        return 'unexpected'
      } catch (err) {
        return reply.code(503).send({ error: (err as Error).message })
      } finally {
        down.disconnect()
      }
    })
    app.get('/node/cart/:id', async (request) => {
      const key = `cart:${(request.params as { id: string }).id}`
      await node.set(key, 'teapot')
      return { item: await node.get(key) }
    })
    app.get('/node/wrong-type', async (_request, reply) => {
      await node.rPush('shelf', 'kettle')
      try {
        await node.incr('shelf')
        return 'unexpected'
      } catch (err) {
        return reply.code(500).send({ name: (err as Error).name, message: (err as Error).message })
      }
    })
    // A pool of one client: the request that waited gets the client when the other's BLPOP times out
    // and returns it, and after the await its own span is active again.
    app.get('/node/await/:n', (request) => {
      const n = Number((request.params as { n: string }).n)
      return spansAroundAwait(tracer, () => nodePool.blPop(`empty:${n}`, n / 10), 'after.command')
    })
    app.get('/node/multi', async () => node.multi().set('c', '1').incr('c').get('c').exec())
    app.get('/node/pipeline', async () => node.multi().set('d', '1').incr('d').execAsPipeline())
    app.get('/node/down', async (_request, reply) => {
      const down = createClient({ socket: { host: '127.0.0.1', port: 1, reconnectStrategy: false } })
      down.on('error', () => {})
      try {
        await down.connect()
        return 'unexpected'
      } catch (err) {
        return reply.code(503).send({ error: (err as Error).message })
      }
    })
  })
  // Clients connect before any request: their handshakes have no active span and start no trace.
  io = new Redis({ host: server.host, port: server.port, lazyConnect: true })
  await io.connect()
  node = createClient({ socket: { host: server.host, port: server.port } })
  node.on('error', () => {})
  await node.connect()
  nodePool = createClientPool({ socket: { host: server.host, port: server.port } }, { minimum: 1, maximum: 1 })
  nodePool.on('error', () => {})
  await nodePool.connect()
})

after(async () => {
  io?.disconnect()
  await node?.close()
  await nodePool?.close()
  await traced?.close()
  await server?.stop()
})

test('ioredis: one redis.command span per command, child of the request, resource as the caller wrote it', async () => {
  const { body, spans, root } = await traced.request('/io/cart/7', 3)
  assert.deepEqual(body, { item: 'kettle' })
  const [set, get] = spansNamed(spans, 'redis.command')
  assert.ok(set && get)
  for (const span of [set, get]) {
    assertChildOf(span, root)
    assert.equal(span.service, 'shop-redis')
    assert.equal(span.type, 'redis')
    assert.equal(span.error, 0)
    assert.equal(span.metrics['network.destination.port'], server.port)
    assert.equal(span.metrics['_dd.measured'], 1)
    assert.equal(span.meta['db.name'], undefined)
  }
  assert.equal(set.resource, 'set')
  assert.equal(get.resource, 'get')
  // The driver's channel gives the arguments sanitized: the value SET writes is `?`.
  assert.deepEqual(ownMeta(set), { ...commonTags('ioredis', 'redis', 'redis'), 'redis.raw_command': 'SET cart:7 ?' })
  assert.deepEqual(ownMeta(get), { ...commonTags('ioredis', 'redis', 'redis'), 'redis.raw_command': 'GET cart:7' })
})

test('ioredis: a pipeline and a MULTI give one span per command, MULTI and EXEC included', async () => {
  const pipeline = await traced.request('/io/pipeline', 4)
  assert.deepEqual(pipeline.body, ['OK', 2, '2'])
  assert.deepEqual(spansNamed(pipeline.spans, 'redis.command').map((s) => s.resource), ['set', 'incr', 'get'])
  const multi = await traced.request('/io/multi', 5)
  assert.deepEqual(multi.body, ['OK', 2])
  const commands = spansNamed(multi.spans, 'redis.command')
  assert.deepEqual(commands.map((s) => s.resource), ['multi', 'set', 'incr', 'exec'])
  for (const span of commands) assertChildOf(span, multi.root)
})

test('ioredis: a failing command marks its span and the app answers', async () => {
  const { status, spans, root } = await traced.request('/io/wrong-type', 3)
  assert.equal(status, 500)
  const incr = spansNamed(spans, 'redis.command').find((s) => s.resource === 'incr')
  assert.ok(incr)
  assertChildOf(incr, root)
  assert.equal(incr.error, 1)
  assert.equal(incr.meta['error.type'], 'ReplyError')
  assert.match(incr.meta['error.message'] ?? '', /not an integer/)
})

test("ioredis: a callback runs in its caller's context", async () => {
  const { body } = await traced.request('/io/callback', 2)
  assert.deepEqual(body, { sameContext: true })
})

test('ioredis: a connection refused inside a request gives a failed redis.connect span; the app answers', async () => {
  const { status, body, spans, root } = await traced.request('/io/down', 2)
  assert.equal(status, 503)
  const [connect] = spansNamed(spans, 'redis.connect')
  assert.ok(connect)
  assertChildOf(connect, root)
  assert.equal(connect.error, 1)
  // ioredis rejects the connect with its own error once the refused socket closes: the span carries it.
  assert.deepEqual(body, { error: connect.meta['error.message'] })
  assert.equal(connect.metrics['network.destination.port'], 1)
})

test('node-redis: one span per command, resource upper case', async () => {
  const { body, spans, root } = await traced.request('/node/cart/8', 3)
  assert.deepEqual(body, { item: 'teapot' })
  const [set, get] = spansNamed(spans, 'redis.command')
  assert.ok(set && get)
  for (const span of [set, get]) {
    assertChildOf(span, root)
    assert.equal(span.service, 'shop-redis')
    assert.equal(span.type, 'redis')
    assert.equal(span.metrics['network.destination.port'], server.port)
  }
  assert.equal(set.resource, 'SET')
  assert.deepEqual(ownMeta(set), { ...commonTags('redis', 'redis', 'redis'), 'redis.raw_command': 'SET cart:8 ?' })
  assert.deepEqual(ownMeta(get), { ...commonTags('redis', 'redis', 'redis'), 'redis.raw_command': 'GET cart:8' })
})

test('node-redis: a failing command marks its span and the app answers', async () => {
  const { status, body, spans, root } = await traced.request('/node/wrong-type', 3)
  assert.equal(status, 500)
  const incr = spansNamed(spans, 'redis.command').find((s) => s.resource === 'INCR')
  assert.ok(incr)
  assertChildOf(incr, root)
  assert.equal(incr.error, 1)
  // node-redis's ErrorReply gives itself no name: the span says `Error`, as the app saw it.
  assert.deepEqual(body, { name: incr.meta['error.type'], message: incr.meta['error.message'] })
  assert.equal(incr.meta['error.type'], 'Error')
  assert.match(incr.meta['error.message'] ?? '', /^WRONGTYPE /)
  assert.ok(incr.meta['error.stack'])
  const [push] = spansNamed(spans, 'redis.command')
  assert.equal(push?.resource, 'RPUSH')
  assert.equal(push.error, 0)
})

test("node-redis: after awaiting a command on a one-client pool, each request's own span is active again", async () => {
  // Two spans each, the request and after.command: where the waiting request's BLPOP goes is the next test's.
  assertOwnSpanAroundAwait(await Promise.all([traced.request('/node/await/3', 2), traced.request('/node/await/1', 2)]), 'after.command')
})

// node-redis's pool runs a queued command from the promise chain of the request that returns the client,
// so the command's channel reports it in that request's context, and no channel reports the caller's.
// When this fails, node-redis or the tracer changed: the waiting command may now be its own request's child.
test('node-redis: a command that waited for a pooled client is a child of the request that returned it', async () => {
  const [first, second] = await Promise.all([traced.request('/node/await/3', 2), traced.request('/node/await/1', 2)])
  const [a, b] = assertOneAfterOther([first, second], 'redis.command')
  const holder = [first, second].find((r) => r.root.span_id === a.parent_id)
  const waiter = [first, second].find((r) => r !== holder)
  assert.ok(holder && waiter)
  assert.equal(b.parent_id, holder.root.span_id)
  assert.deepEqual(spansNamed(waiter.spans, 'redis.command'), [])
})

test('node-redis: a MULTI is one span (its channel names no commands); a pipeline one span per command', async () => {
  const multi = await traced.request('/node/multi', 2)
  assert.deepEqual(multi.body, ['OK', 2, '2'])
  const [batch, ...others] = spansNamed(multi.spans, 'redis.command')
  assert.ok(batch)
  assert.deepEqual(others, [])
  assertChildOf(batch, multi.root)
  assert.equal(batch.resource, 'MULTI')
  assert.equal(batch.metrics['redis.batch.size'], 3)
  const pipeline = await traced.request('/node/pipeline', 3)
  assert.deepEqual(pipeline.body, ['OK', 2])
  assert.deepEqual(spansNamed(pipeline.spans, 'redis.command').map((s) => s.resource), ['SET', 'INCR'])
})

test('node-redis: a connection refused inside a request gives a failed redis.connect span; the app answers', async () => {
  const { status, spans, root } = await traced.request('/node/down', 2)
  assert.equal(status, 503)
  const [connect] = spansNamed(spans, 'redis.connect')
  assert.ok(connect)
  assertChildOf(connect, root)
  assert.equal(connect.error, 1)
  assert.match(connect.meta['error.message'] ?? '', /ECONNREFUSED/)
})

test('a connect with no active span started no trace', () => {
  const roots = traced.agent.spans().filter((s) => s.parent_id === 0n)
  assert.deepEqual(roots.filter((s) => s.name === 'redis.connect'), [])
})
