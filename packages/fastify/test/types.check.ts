// Type tests, checked by `tsc -p tsconfig.check.json` (never run): the plugin's options, its registration
// and the `request.span` / route `config.datadog` augmentation of Fastify's types.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Span } from '@datadog-apm/core'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import datadogDefault, { datadogPlugin, type DatadogPluginOptions } from '../src/index.js'

function expectType<T>(value: T): T {
  return value
}

const app = Fastify()

// Registration: no options, every option, the default export, and an options factory.
void app.register(datadogPlugin)
void app.register(datadogDefault, {})
void app.register(datadogPlugin, {
  service: 'checkout',
  queryStringObfuscation: /secret=[^&]*/,
  headers: ['x-request-id', 'x-tenant:tenant'],
  validateStatus: (status) => status >= 500,
  clientIp: true,
  clientIpHeader: 'x-real-ip',
  skip: ['/health', /^\/internal\//],
  hooks: {
    request: (span, req, res) => {
      expectType<Span>(span)
      expectType<IncomingMessage>(req)
      expectType<ServerResponse>(res)
    },
    fastifyRequest: (span, request, reply) => {
      expectType<Span>(span)
      expectType<FastifyRequest>(request)
      expectType<FastifyReply>(reply)
    }
  }
})
void app.register(datadogPlugin, { skip: (path, req) => path === '/ping' && req.method === 'GET' })
void app.register(datadogPlugin, () => ({ service: 'from-factory' }))

const options: DatadogPluginOptions = { service: 'svc' }
void app.register(datadogPlugin, options)

// @ts-expect-error service is a string
void app.register(datadogPlugin, { service: 42 })
// @ts-expect-error a misspelt option is refused
void app.register(datadogPlugin, { servce: 'checkout' })
// @ts-expect-error skip takes paths and RegExps
void app.register(datadogPlugin, { skip: [42] })
// @ts-expect-error validateStatus is a predicate on the status
void app.register(datadogPlugin, { validateStatus: '500-599' })
// @ts-expect-error hooks.fastifyRequest receives a span first
void app.register(datadogPlugin, { hooks: { fastifyRequest: (span: string) => span.length } })

// request.span: read-only, possibly undefined.
app.get('/typed', (request) => {
  expectType<Span | undefined>(request.span)
  // @ts-expect-error undefined when the request is not traced
  expectType<Span>(request.span)
  request.span?.setTag('customer.tier', 'gold')
  return 'ok'
})
app.get('/read-only', (request, reply) => {
  // @ts-expect-error the request span is read-only
  request.span = undefined
  void reply.send()
})
app.addHook('preHandler', (request, _reply, done) => {
  expectType<Span | undefined>(request.span)
  done()
})

// Route opt-out.
app.get('/health', { config: { datadog: false } }, () => 'ok')
// @ts-expect-error datadog is a boolean
app.get('/ready', { config: { datadog: 'off' } }, () => 'ok')
