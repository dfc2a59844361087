import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { ClientRequest, IncomingMessage } from 'node:http'
import { syncBuiltinESMExports } from 'node:module'
import type { CoreSpan } from '../model/span.js'
import { pathOnly, type HttpClientTracing } from './client-span.js'

// Node's http client channels. `http.client.request.created` fires in the ClientRequest constructor,
// before headers are written, so headers can still be set there; it exists from Node 22.12 and 23.2.
// On Node 20 the only client channel before the headers go out is missing (`http.client.request.start`
// fires after they were stored: setHeader throws ERR_HTTP_HEADERS_SENT, checked on 20.20), so node:http
// is traced there only through the explicit `patchNodeHttp` opt-in.
export const NODE_HTTP_CHANNELS = {
  created: 'http.client.request.created',
  response: 'http.client.response.finish',
  error: 'http.client.request.error'
} as const

/** True when this Node publishes `http.client.request.created`. */
export function hasCreatedChannel(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  return major > 23 || (major === 23 && minor >= 2) || (major === 22 && minor >= 12)
}

const spans = new WeakMap<object, CoreSpan>()
let tracing: HttpClientTracing | undefined
let subscribedCreated = false

function setHeader(request: ClientRequest, name: string, value: string): void {
  request.setHeader(name, value)
}

function portOf(request: ClientRequest, https: boolean): number {
  const fallback = https ? 443 : 80
  const host = request.getHeader('host')
  if (typeof host !== 'string') return fallback
  const close = host.lastIndexOf(']')
  const colon = host.lastIndexOf(':')
  if (colon === -1 || colon < close) return fallback
  const port = Number(host.slice(colon + 1))
  return Number.isInteger(port) && port > 0 && port <= 65535 ? port : fallback
}

function traceRequest(request: ClientRequest): void {
  const t = tracing
  if (t === undefined) return
  try {
    if (request === null || typeof request !== 'object') return
    const https = request.protocol === 'https:'
    const host = typeof request.host === 'string' && request.host !== '' ? request.host : 'localhost'
    const port = portOf(request, https)
    const hostPart = host.includes(':') ? '[' + host + ']' : host
    const url = (https ? 'https://' : 'http://') + hostPart + (port === (https ? 443 : 80) ? '' : ':' + String(port)) + pathOnly(typeof request.path === 'string' ? request.path : '/')
    const method = typeof request.method === 'string' ? request.method : 'GET'
    const span = t.start('http', method, url, host, port)
    if (span === undefined) return
    spans.set(request, span)
    // Finishes the span when the request ends without a response (destroyed, aborted).
    request.once('close', onRequestClose)
    if (!request.headersSent && request.getHeader('traceparent') === undefined && request.getHeader('x-datadog-trace-id') === undefined) {
      t.inject(span, url, request, setHeader)
    }
  } catch (err) {
    t.owner.diagnostics.warn('http-client-node', 'tracing a node:http request failed; the request is not traced', String(err))
  }
}

function onCreated(message: unknown): void {
  const request = (message as { request?: ClientRequest } | null)?.request
  if (request !== undefined) traceRequest(request)
}

function finish(request: object): void {
  const span = spans.get(request)
  if (span === undefined) return
  spans.delete(request)
  span.finish()
}

function onRequestClose(this: ClientRequest): void {
  const span = spans.get(this)
  // With a response, the response's end (or close) finishes the span.
  if (span !== undefined && span.meta['http.status_code'] === undefined) finish(this)
}

function onResponseDone(this: IncomingMessage): void {
  const request = (this as { req?: object }).req
  if (request !== undefined) finish(request)
}

function onResponse(message: unknown): void {
  const t = tracing
  const m = message as { request?: object; response?: IncomingMessage } | null
  const request = m?.request
  const response = m?.response
  if (t === undefined || request === undefined || response === undefined) return
  const span = spans.get(request)
  if (span === undefined) return
  try {
    t.status(span, response.statusCode ?? 0)
    // Both are listened to: 'end' when the body was read, 'close' when it was dropped or cut.
    response.once('end', onResponseDone)
    response.once('close', onResponseDone)
  } catch {
    finish(request)
  }
}

function onError(message: unknown): void {
  const m = message as { request?: object; error?: unknown } | null
  const request = m?.request
  if (request === undefined) return
  const span = spans.get(request)
  if (span === undefined) return
  span.setError(m?.error)
  finish(request)
}

type RequestFn = (...args: unknown[]) => ClientRequest
const PATCHED = Symbol.for('@datadog-apm/core.node-http-patched')

/**
 * Node 20 only, on explicit request: wraps `request` and `get` of node:http and node:https once per
 * process. The wrappers stay in place after tracing stops, doing nothing but calling through.
 */
function patchNodeHttp(): void {
  let changed = false
  for (const id of ['node:http', 'node:https'] as const) {
    const mod = process.getBuiltinModule(id) as unknown as Record<string | symbol, unknown>
    if (mod[PATCHED] === true) continue
    const original = mod.request as RequestFn
    const tracedRequest = function (this: unknown, ...args: unknown[]): ClientRequest {
      const request = original.apply(this, args)
      traceRequest(request)
      return request
    }
    // Node's own get() calls its module-local request(), which the wrapper cannot reach.
    const tracedGet = function (this: unknown, ...args: unknown[]): ClientRequest {
      const request = tracedRequest.apply(this, args)
      request.end()
      return request
    }
    mod.request = tracedRequest
    mod.get = tracedGet
    mod[PATCHED] = true
    changed = true
  }
  // ESM named imports (`import { request } from 'node:http'`) follow the patched functions.
  if (changed) syncBuiltinESMExports()
}

/** Starts (or, with undefined, stops) tracing node:http/node:https requests. */
export function setNodeHttpTracing(next: HttpClientTracing | undefined): void {
  const created = hasCreatedChannel()
  if (next !== undefined && tracing === undefined) {
    if (created) {
      subscribe(NODE_HTTP_CHANNELS.created, onCreated)
      subscribedCreated = true
    }
    subscribe(NODE_HTTP_CHANNELS.response, onResponse)
    subscribe(NODE_HTTP_CHANNELS.error, onError)
  } else if (next === undefined && tracing !== undefined) {
    if (subscribedCreated) unsubscribe(NODE_HTTP_CHANNELS.created, onCreated)
    subscribedCreated = false
    unsubscribe(NODE_HTTP_CHANNELS.response, onResponse)
    unsubscribe(NODE_HTTP_CHANNELS.error, onError)
  }
  if (next !== undefined && !created && next.patchNodeHttp) patchNodeHttp()
  tracing = next
}
