import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { CoreSpan } from '../model/span.js'
import { parseOrigin, pathOnly, type HttpClientTracing } from './client-span.js'

// undici publishes these for every request it makes, fetch() included, through node:diagnostics_channel:
// Node's global fetch (its bundled undici) and the npm `undici` package alike. Nothing is patched.
export const UNDICI_CHANNELS = {
  create: 'undici:request:create',
  headers: 'undici:request:headers',
  trailers: 'undici:request:trailers',
  error: 'undici:request:error'
} as const

/** The parts of undici's Request object read here (undici 5 to 7; headers were a string before 6). */
interface UndiciRequest {
  readonly origin?: unknown
  readonly path?: unknown
  readonly method?: unknown
  readonly headers?: unknown
  readonly upgrade?: unknown
  addHeader?(name: string, value: string): unknown
}

// Per-request state lives in a WeakMap keyed by undici's request object: nothing is added to undici's
// objects, no closure is made per request, and a request undici drops takes its entry with it.
const spans = new WeakMap<object, CoreSpan>()
let tracing: HttpClientTracing | undefined

function addHeader(request: UndiciRequest, name: string, value: string): void {
  request.addHeader?.(name, value)
}

const TRACE_HEADERS = /^(?:x-datadog-trace-id|traceparent)\s*:/im

/**
 * Scans the request's headers once: whether the caller set trace headers itself (they are then left
 * as they are) and whether fetch made the request (fetch always sends `sec-fetch-mode`).
 */
function scanHeaders(headers: unknown): number {
  let flags = 0
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) {
      const item: unknown = headers[i]
      const name = typeof item === 'string' ? item : Buffer.isBuffer(item) ? item.toString('latin1') : ''
      if (name.length === 14 && name.toLowerCase() === 'sec-fetch-mode') flags |= FETCH
      else if ((name.length === 11 || name.length === 18) && /^(?:traceparent|x-datadog-trace-id)$/i.test(name)) flags |= HAS_TRACE
    }
  } else if (typeof headers === 'string') {
    if (/^sec-fetch-mode\s*:/im.test(headers)) flags |= FETCH
    if (TRACE_HEADERS.test(headers)) flags |= HAS_TRACE
  }
  return flags
}
const FETCH = 1
const HAS_TRACE = 2

function onCreate(message: unknown): void {
  const t = tracing
  if (t === undefined) return
  try {
    const request = (message as { request?: UndiciRequest } | null)?.request
    // An upgrade (WebSocket, CONNECT) never reaches the trailers event that would finish its span.
    if (request === null || typeof request !== 'object' || (request.upgrade !== undefined && request.upgrade !== null && request.upgrade !== false)) return
    const origin = parseOrigin(String(request.origin))
    if (origin === undefined) return
    const method = typeof request.method === 'string' ? request.method : 'GET'
    const path = typeof request.path === 'string' ? pathOnly(request.path) : '/'
    const defaultPort = origin.scheme === 'https' ? 443 : 80
    const hostPart = origin.host.includes(':') ? '[' + origin.host + ']' : origin.host
    const url = origin.scheme + '://' + hostPart + (origin.port === defaultPort ? '' : ':' + String(origin.port)) + path
    const flags = scanHeaders(request.headers)
    const span = t.start((flags & FETCH) !== 0 ? 'fetch' : 'undici', method, url, origin.host, origin.port)
    if (span === undefined) return
    spans.set(request, span)
    if ((flags & HAS_TRACE) === 0 && typeof request.addHeader === 'function') t.inject(span, url, request, addHeader)
  } catch (err) {
    t.owner.diagnostics.warn('http-client-undici', 'tracing an undici/fetch request failed; the request is not traced', String(err))
  }
}

function onHeaders(message: unknown): void {
  const t = tracing
  if (t === undefined) return
  const m = message as { request?: object; response?: { statusCode?: unknown } } | null
  const request = m?.request
  if (request === undefined) return
  const span = spans.get(request)
  const status = m?.response?.statusCode
  if (span !== undefined && typeof status === 'number') t.status(span, status)
}

function onTrailers(message: unknown): void {
  const request = (message as { request?: object } | null)?.request
  if (request === undefined) return
  const span = spans.get(request)
  if (span === undefined) return
  spans.delete(request)
  span.finish()
}

function onError(message: unknown): void {
  const m = message as { request?: object; error?: unknown } | null
  const request = m?.request
  if (request === undefined) return
  const span = spans.get(request)
  if (span === undefined) return
  spans.delete(request)
  span.setError(m?.error)
  span.finish()
}

/** Starts (or, with undefined, stops) tracing undici and fetch requests. */
export function setUndiciTracing(next: HttpClientTracing | undefined): void {
  if (next !== undefined && tracing === undefined) {
    subscribe(UNDICI_CHANNELS.create, onCreate)
    subscribe(UNDICI_CHANNELS.headers, onHeaders)
    subscribe(UNDICI_CHANNELS.trailers, onTrailers)
    subscribe(UNDICI_CHANNELS.error, onError)
  } else if (next === undefined && tracing !== undefined) {
    unsubscribe(UNDICI_CHANNELS.create, onCreate)
    unsubscribe(UNDICI_CHANNELS.headers, onHeaders)
    unsubscribe(UNDICI_CHANNELS.trailers, onTrailers)
    unsubscribe(UNDICI_CHANNELS.error, onError)
  }
  tracing = next
}
