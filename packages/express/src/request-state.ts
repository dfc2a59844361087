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
  /** The socket whose slot holds this state; undefined when it is kept on the request and response. */
  socket: WithState | undefined

  constructor(tracing: HttpServerTracing, span: Span, req: IncomingMessage, url: string, app: unknown) {
    this.tracing = tracing
    this.span = span
    this.req = req
    this.url = url
    this.app = app
    this.route = undefined
    this.error = undefined
    this.finished = false
    this.socket = undefined
  }
}

interface WithState {
  [STATE]?: RequestState
}

/**
 * How many states are kept on their request and response rather than on their socket, across every
 * copy of this package in the process (registered like STATE).
 */
const offSocket: { count: number } = ((globalThis as Record<symbol, unknown>)[Symbol.for('@datadog-apm/express.off-socket')] ??= { count: 0 }) as {
  count: number
}

/**
 * Keeps `state` where it costs least to find again: in a slot on the request's socket, which the socket's
 * next request reuses (a store into a property the socket already has), rather than as a new property
 * of the request or response. Express gives those a prototype of their own per request, and on Node 20 a
 * property added to or missed on them costs 0.5–5 µs (V8 builds such an object a new map each time),
 * where Node 24 adds it for nothing (paired runs of bench/ab.mjs, Express 5: Node 20 −2 to −5.5 µs a
 * request, Node 24 −0.1 to +1.2; a WeakMap, and a Map keyed by request and response, had measured worse on
 * Node 24). A socket whose slot is taken (pipelined requests; HTTP/2 streams, whose `socket` is the
 * session's) keeps the state on the response, and on the request when Express has not linked the two
 * (`req.res`). The slot is emptied when the response closes, so an idle connection holds no request.
 */
export function attachState(req: IncomingMessage, res: ServerResponse, state: RequestState): void {
  const socket = req.socket as WithState | null | undefined
  if (socket !== null && typeof socket === 'object') {
    const held = slotOf(socket)
    if (held === undefined || held.finished) {
      try {
        socket[STATE] = state
        state.socket = socket
        return
      } catch {
        // See slotOf: a proxy socket without its target takes nothing.
      }
    }
  }
  offSocket.count++
  ;(res as WithState)[STATE] = state
  if ((req as { res?: unknown }).res !== res) (req as WithState)[STATE] = state
}

/**
 * The state in `socket`'s slot, if any. An HTTP/2 request's socket is a proxy of its session's, which
 * throws once the session has none.
 */
function slotOf(socket: WithState): RequestState | undefined {
  try {
    return socket[STATE]
  } catch {
    return undefined
  }
}

/** Lets go of `state` once its response is done: its socket's slot is free for the next request. */
export function detachState(state: RequestState): void {
  const socket = state.socket
  if (socket === undefined) {
    offSocket.count--
    return
  }
  try {
    if (socket[STATE] === state) socket[STATE] = undefined
  } catch {
    // See slotOf: the socket was a proxy that has lost its target, and holds nothing any more.
  }
}

/** The state of a request; undefined when it is not traced. */
export function stateOf(req: unknown): RequestState | undefined {
  if (req === null || typeof req !== 'object') return undefined
  const socket = (req as { socket?: unknown }).socket
  if (socket !== null && typeof socket === 'object') {
    const held = slotOf(socket)
    if (held !== undefined && held.req === req) return held
  }
  if (offSocket.count <= 0) return undefined
  let state = (req as WithState)[STATE]
  if (state === undefined) {
    const res = (req as { res?: unknown }).res
    if (res !== null && typeof res === 'object') state = (res as WithState)[STATE]
  }
  return typeof state === 'object' && state !== null ? state : undefined
}

/** The state of a response (Node links it to its request as `res.req`); undefined when it is not traced. */
export function stateOfResponse(res: ServerResponse): RequestState | undefined {
  const state = stateOf(res.req)
  if (state !== undefined || offSocket.count <= 0) return state
  const own = (res as WithState)[STATE]
  return typeof own === 'object' && own !== null ? own : undefined
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
