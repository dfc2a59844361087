import type { IncomingMessage, ServerResponse } from 'node:http'
import { HttpServerTracing, type ServerSpanOptions } from '@datadog-apm/core'
import { RequestState, attachState, detachState, stateOf, stateOfResponse } from './request-state.js'
import { resolveRoute } from './route-resolver.js'

/**
 * Options of `datadog()`: core's server-span options (`tracer`, `service`, `validateStatus`, `skip`,
 * `hooks.request`, `headers`, `queryStringObfuscation`, `clientIp`, `clientIpHeader`). Every field is
 * optional.
 */
export type ExpressTracingOptions = ServerSpanOptions

/** Express's `next`, as far as this package uses it. */
export type NextFunction = (err?: unknown) => void

/**
 * The middleware `datadog()` returns. Typed against `node:http` rather than Express's types, so that it
 * fits `app.use` in Express 4 and 5 whichever `@types/express` (if any) the app has.
 */
export type DatadogMiddleware = (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void

/** The error middleware `datadog.errorHandler()` returns (four parameters, as Express requires). */
export type DatadogErrorHandler = (err: unknown, req: IncomingMessage, res: ServerResponse, next: NextFunction) => void

/**
 * The one `close` listener of every traced response. `close` comes after `finish` when the response is
 * sent, and alone when the client or the socket goes away first, so finishing here covers every ending;
 * the `finished` flag makes it exactly once.
 */
function onResponseClose(this: ServerResponse): void {
  const state = stateOfResponse(this)
  if (state === undefined || state.finished) return
  state.finished = true
  try {
    finishRequest(state, this)
  } finally {
    detachState(state)
  }
}

function finishRequest(state: RequestState, res: ServerResponse): void {
  let route = state.route
  if (route === undefined) {
    try {
      route = resolveRoute(state.req, state.app)
    } catch (err) {
      state.tracing.tracer.diagnostics.warn('express-route', 'reading the Express route failed; the span has no route', String(err))
    }
  }
  try {
    state.tracing.finish(state.span, state.req, res, state.url, route, state.error)
  } catch (err) {
    state.tracing.tracer.diagnostics.warn('express-finish', 'finishing an Express request span failed', String(err))
    state.span.finish()
  }
}

function traceRequest(tracing: HttpServerTracing, req: IncomingMessage, res: ServerResponse, next: NextFunction): void {
  let state: RequestState | undefined
  try {
    // A second datadog() on the same request (on the app and again on a router) traces nothing more.
    if (stateOf(req) === undefined) {
      // Propagation seam: once core extracts incoming headers, the context goes here as
      // `tracing.start(req, extracted)` so that the request continues the caller's trace.
      const span = tracing.start(req)
      if (span !== undefined) {
        const { originalUrl, app } = req as { originalUrl?: unknown; app?: unknown }
        state = new RequestState(tracing, span, req, typeof originalUrl === 'string' ? originalUrl : (req.url ?? '/'), app)
        attachState(req, res, state)
        res.on('close', onResponseClose)
        // The socket died before this middleware ran: `close` is already out or on its way.
        if (res.destroyed) onResponseClose.call(res)
      }
    }
  } catch (err) {
    tracing.tracer.diagnostics.warn('express-start', 'starting an Express request span failed; the request is not traced', String(err))
    state = undefined
  }
  // `next` is called outside the try: an exception from the app must reach Express, never our catch.
  if (state === undefined) next()
  else tracing.tracer.withSpan(state.span, next)
}

/**
 * Records the error on the request span (`error.type`, `error.message`, `error.stack`) and passes it on
 * unchanged. The span is marked as failed when the final status counts as an error (5xx by default).
 */
function datadogErrorHandler(err: unknown, req: IncomingMessage, _res: ServerResponse, next: NextFunction): void {
  const state = stateOf(req)
  if (state !== undefined && state.error === undefined && err !== undefined && err !== null) state.error = err
  next(err)
}

/**
 * Express middleware that traces every request as an `express.request` span. Register it first:
 * `app.use(datadog())`, and `app.use(datadog.errorHandler())` after the routes.
 *
 * Throws a TypeError naming the option when an option makes no sense.
 */
export function datadog(options?: ExpressTracingOptions): DatadogMiddleware {
  const tracing = new HttpServerTracing('express', options, { where: 'datadog()' })
  return function datadogMiddleware(req, res, next) {
    traceRequest(tracing, req, res, next)
  }
}

/**
 * Error middleware that records the error on the request span and passes it on with `next(err)`.
 * Register it after the routes and before the app's own error handlers.
 */
datadog.errorHandler = function errorHandler(): DatadogErrorHandler {
  return datadogErrorHandler
}
