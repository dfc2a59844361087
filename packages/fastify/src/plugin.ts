import type { IncomingMessage, ServerResponse } from 'node:http'
import { HttpServerTracing, isTraceActive, type ServerSpanOptions, type Span } from '@datadog-apm/core'
import type { FastifyPluginCallback, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { PLUGIN_OPTION_NAMES, type DatadogPluginOptions } from './options.js'
import { RouteConfigReader } from './route-config.js'

// Per-request state lives on Fastify's request (declared with decorateRequest, so every request object
// gets the fields in its constructor and keeps one shape) and on the raw response.
const kSpan = Symbol('@datadog-apm/fastify.span')
const kError = Symbol('@datadog-apm/fastify.error')
const kReply = Symbol('@datadog-apm/fastify.reply')

interface RequestState {
  [kSpan]: Span | null
  [kError]: unknown
}
type TracedRequest = FastifyRequest & RequestState
type TracedResponse = ServerResponse & { [kReply]?: FastifyReply }

const PLUGIN_NAME = '@datadog-apm/fastify'
const ROUTE_STAGES = ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization', 'onSend', 'onResponse'] as const
const PAYLOAD_STAGES: ReadonlySet<string> = new Set(['preParsing', 'preSerialization', 'onSend'])

function spanGetter(this: FastifyRequest): Span | undefined {
  return (this as TracedRequest)[kSpan] ?? undefined
}

/** True when the request's trace is still the active one (its span, or a child the app opened). */
const inContext: (span: Span) => boolean = isTraceActive

function coreOptions(options: DatadogPluginOptions): ServerSpanOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('datadog-apm: fastify options must be an object')
  const hooks = options.hooks
  if (hooks === undefined) return options
  if (hooks === null || typeof hooks !== 'object') throw new TypeError('datadog-apm: option hooks must be an object')
  const fastifyHook = hooks.fastifyRequest
  if (fastifyHook === undefined) return options
  if (typeof fastifyHook !== 'function') throw new TypeError('datadog-apm: option hooks.fastifyRequest must be a function')
  const rawHook = hooks.request
  if (rawHook !== undefined && typeof rawHook !== 'function') throw new TypeError('datadog-apm: option hooks.request must be a function')
  // Core calls one hook after the status, route and URL tags are set, and catches what it throws; both
  // user hooks run there, and `finally` keeps the second one running when the first throws.
  const request = (span: Span, req: IncomingMessage, res: ServerResponse): void => {
    try {
      rawHook?.(span, req, res)
    } finally {
      const reply = (res as TracedResponse)[kReply]
      if (reply !== undefined) fastifyHook(span, reply.request, reply)
    }
  }
  // The other keys of hooks stay, so that the check of option names still sees them.
  return { ...options, hooks: { ...hooks, request } }
}

const plugin: FastifyPluginCallback<DatadogPluginOptions> = (fastify, options, pluginDone) => {
  let tracing: HttpServerTracing
  try {
    if (fastify.hasRequestDecorator(kSpan)) {
      throw new Error(`${PLUGIN_NAME} is already registered on this instance or a parent; register it once, at the root`)
    }
    const guard = (options as { contextGuard?: unknown } | null)?.contextGuard
    if (guard !== undefined && guard !== 'handler' && guard !== 'every-hook') {
      throw new TypeError(`datadog-apm: option contextGuard must be 'handler' or 'every-hook', got ${JSON.stringify(guard)}`)
    }
    tracing = new HttpServerTracing('fastify', coreOptions(options), PLUGIN_OPTION_NAMES)
  } catch (err) {
    pluginDone(err as Error)
    return
  }
  const tracer = tracing.tracer
  const everyHook = options.contextGuard === 'every-hook'
  const routes = new RouteConfigReader()

  // The hooks are built once per registration; per request they allocate nothing but the span.

  const startSpan = (request: FastifyRequest): Span | undefined => {
    try {
      if (routes.config(request)?.datadog === false) return undefined
      return tracing.start(request.raw)
    } catch (err) {
      tracer.diagnostics.warn('fastify-start', `${PLUGIN_NAME} could not start a request span; the request is not traced`, String(err))
      return undefined
    }
  }

  const finishSpan = (request: TracedRequest, reply: FastifyReply): void => {
    const span = request[kSpan]
    if (span === null || span.finished) return
    try {
      tracing.finish(span, request.raw, reply.raw, request.originalUrl, routes.route(request), request[kError])
    } catch (err) {
      span.finish()
      tracer.diagnostics.warn('fastify-finish', `${PLUGIN_NAME} failed to tag a request span`, String(err))
    }
  }

  // The response's 'close' comes right after 'finish' when the response was sent, and alone when the
  // client went away first; the span finishes there. An onResponse hook of ours would cost ~1 µs per
  // request on Node 20 (Fastify adds 'finish' and 'error' listeners and runs a hook stage only when a
  // stage has hooks), so only 'every-hook' adds one, to bring the span back to the app's onResponse hooks.
  function onClose(this: TracedResponse): void {
    const reply = this[kReply]
    if (reply !== undefined) finishSpan(reply.request as TracedRequest, reply)
  }

  function onRequest(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const span = startSpan(request)
    if (span === undefined) {
      done()
      return
    }
    ;(request as TracedRequest)[kSpan] = span
    const res = reply.raw as TracedResponse
    res[kReply] = reply
    res.on('close', onClose)
    tracer.withSpan(span, done)
  }

  // A callback-style hook that calls `done` from another async context (a pooled connection's socket, a
  // queue drained by a shared timer) hands that context to everything after it. Each stage starts with
  // this check and re-enters the request span only when it was lost.
  function reenter(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const span = (request as TracedRequest)[kSpan]
    if (span === null || inContext(span)) done()
    else tracer.withSpan(span, done)
  }

  function reenterWithPayload<P>(request: FastifyRequest, _reply: FastifyReply, payload: P, done: (err: null, payload: P) => void): void {
    const span = (request as TracedRequest)[kSpan]
    if (span === null || inContext(span)) done(null, payload)
    // Only reached after a context was lost, so the bound function is the exception, not the rule.
    else tracer.withSpan(span, done.bind(undefined, null, payload))
  }

  function onError(request: FastifyRequest, _reply: FastifyReply, error: unknown, done: () => void): void {
    const traced = request as TracedRequest
    const span = traced[kSpan]
    if (span === null) {
      done()
      return
    }
    traced[kError] = error
    if (inContext(span)) done()
    else tracer.withSpan(span, done)
  }

  function onResponse(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const traced = request as TracedRequest
    const span = traced[kSpan]
    if (span === null) {
      done()
      return
    }
    finishSpan(traced, reply)
    // Later onResponse hooks and Fastify's "request completed" log line still belong to the request.
    if (inContext(span)) done()
    else tracer.withSpan(span, done)
  }

  // Route-level hooks run after the instance's, so an instance hook of the app that lost the context would
  // hand it to them: where a route has its own hooks for a stage, the re-entry check goes first. The
  // handler gets one more, last among the preHandlers, so it sees the request span whatever ran before.
  function onRoute(route: RouteOptions): void {
    if ((route.config as { datadog?: unknown } | undefined)?.datadog === false) return
    const options = route as unknown as Record<string, unknown>
    for (const stage of ROUTE_STAGES) {
      const own = options[stage]
      if (own === undefined || own === null) continue
      const first = PAYLOAD_STAGES.has(stage) ? reenterWithPayload : reenter
      options[stage] = Array.isArray(own) ? [first, ...(own as unknown[])] : [first, own]
    }
    const pre = options.preHandler
    options.preHandler = pre === undefined || pre === null ? [reenter] : Array.isArray(pre) ? [...(pre as unknown[]), reenter] : [pre, reenter]
  }

  // The handler-only guard: one re-entry check, last among each route's preHandlers. Every other stage
  // runs in the request span already (onRequest runs the rest of the chain inside it) unless a hook
  // of the app hands over a foreign context; 'every-hook' repairs that at each stage and in onResponse,
  // for ~3.5 µs per request on Node 20 (bench/http.mjs setup, Fastify 5).
  function onRouteHandlerOnly(route: RouteOptions): void {
    if ((route.config as { datadog?: unknown } | undefined)?.datadog === false) return
    const options = route as unknown as Record<string, unknown>
    const pre = options.preHandler
    options.preHandler = pre === undefined || pre === null ? [reenter] : Array.isArray(pre) ? [...(pre as unknown[]), reenter] : [pre, reenter]
  }

  fastify.decorateRequest(kSpan, null)
  fastify.decorateRequest(kError, null)
  fastify.decorateRequest('span', { getter: spanGetter })
  // A tracer disabled from the start (DD_TRACE_ENABLED=false) gets no hooks at all: Fastify runs no hook
  // stage that has none, so the app costs what it costs untraced (~0.9 µs per request otherwise).
  if (!tracer.config.enabled) {
    pluginDone()
    return
  }
  fastify.addHook('onRoute', everyHook ? onRoute : onRouteHandlerOnly)
  fastify.addHook('onRequest', onRequest)
  if (everyHook) {
    fastify.addHook('preParsing', reenterWithPayload)
    fastify.addHook('preValidation', reenter)
    fastify.addHook('preHandler', reenter)
    fastify.addHook('preSerialization', reenterWithPayload)
    fastify.addHook('onSend', reenterWithPayload)
  }
  fastify.addHook('onError', onError)
  if (everyHook) fastify.addHook('onResponse', onResponse)
  pluginDone()
}

/**
 * Traces every request of the Fastify instance it is registered on (and of its children):
 * `await app.register(datadogPlugin, options)`. Register it before the routes and the app's own hooks.
 */
export const datadogPlugin: FastifyPluginCallback<DatadogPluginOptions> = fp(plugin, { name: PLUGIN_NAME, fastify: '4.x || 5.x' })
