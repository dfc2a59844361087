import type { IncomingMessage } from 'node:http'
import type { HttpServerTracing, Span } from '@datadog-apm/core'

/**
 * Registered (`Symbol.for`) so that a bundle carrying two copies of this package still finds the state
 * one copy's middleware left on the request: `rootSpan` and `setRoute` then work from either copy.
 */
export const STATE: unique symbol = Symbol.for('@datadog-apm/express.request') as never

/** What the middleware keeps per request, on `req` and `res` under `STATE`. */
export class RequestState {
  readonly tracing: HttpServerTracing
  readonly span: Span
  readonly req: IncomingMessage
  /** Path and query as the client sent them, before any router rewrites `req.url`. */
  readonly url: string
  /** The Express app the middleware ran in, where route resolution starts. */
  readonly app: unknown
  /** Set by `setRoute`; wins over the resolved route. */
  route: string | undefined
  /** The first error `datadog.errorHandler()` saw. */
  error: unknown
  finished: boolean

  constructor(tracing: HttpServerTracing, span: Span, req: IncomingMessage, url: string, app: unknown) {
    this.tracing = tracing
    this.span = span
    this.req = req
    this.url = url
    this.app = app
    this.route = undefined
    this.error = undefined
    this.finished = false
  }
}

export interface WithState {
  [STATE]?: RequestState
}

export function stateOf(target: unknown): RequestState | undefined {
  if (target === null || typeof target !== 'object') return undefined
  const state = (target as WithState)[STATE]
  return typeof state === 'object' && state !== null ? state : undefined
}

/**
 * The request span of `req` (the root of the request's trace in this process), or undefined when the
 * request is not traced. The active span inside a handler may be a child; this is always the root.
 */
export function rootSpan(req: IncomingMessage): Span | undefined {
  return stateOf(req)?.span
}

/**
 * Sets the route of `req` (`http.route`, and the resource `<METHOD> <route>`), overriding the one read
 * from Express. For custom routers, or to group paths Express sees as different. Ignored when the request
 * is not traced or `route` is not a non-empty string.
 */
export function setRoute(req: IncomingMessage, route: string): void {
  const state = stateOf(req)
  if (state !== undefined && typeof route === 'string' && route !== '') state.route = route
}
