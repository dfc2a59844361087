import type { IncomingMessage, ServerResponse } from 'node:http'
import type { HttpServerTracing, Span } from '@datadog-apm/core'

/**
 * Registered (`Symbol.for`) so that a bundle carrying two copies of this package still finds the state
 * one copy's middleware left on the request: `rootSpan` and `setRoute` then work from either copy.
 */
export const STATE: unique symbol = Symbol.for('@datadog-apm/express.request') as never

/** What the middleware keeps per request (see `attachState`). */
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

interface WithState {
  [STATE]?: RequestState
}

/**
 * Keeps `state` on the response only, when Express has linked the two (`req.res`): on Node 20 adding a
 * property to an object Express re-prototyped costs ~1.3 µs (V8 builds it a new map each time; a
 * WeakMap measured worse under load), so one property is half the price of two. Node 24 adds it for
 * nothing.
 */
export function attachState(req: IncomingMessage, res: ServerResponse, state: RequestState): void {
  ;(res as WithState)[STATE] = state
  if ((req as { res?: unknown }).res !== res) (req as WithState)[STATE] = state
}

/** The state of a request or a response; undefined when it is not traced. */
export function stateOf(target: unknown): RequestState | undefined {
  if (target === null || typeof target !== 'object') return undefined
  let state = (target as WithState)[STATE]
  if (state === undefined) {
    const res = (target as { res?: unknown }).res
    if (res !== null && typeof res === 'object') state = (res as WithState)[STATE]
  }
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
