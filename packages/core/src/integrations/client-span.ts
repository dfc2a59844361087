import type { HeaderSetter } from '../propagation/carrier.js'
import type { CoreSpan } from '../model/span.js'
import type { HttpClientOptions } from '../config/http-client-options.js'
import { setPeerService, startClientSpan, type ClientSpanOwner } from './client-operation.js'

export type { ClientSpanOwner, HttpClientOptions }

const STATUS_TEXT: string[] = Array.from({ length: 1000 }, (_, i) => String(i))
const DEFAULT_ERROR_STATUSES = (status: number): boolean => status >= 400 && status < 500

/**
 * The client span logic shared by the fetch/undici and node:http instrumentations: built once when
 * instrumentation is turned on; `start`, `status`, `fail` and `finish` run per request.
 */
export class HttpClientTracing {
  readonly owner: ClientSpanOwner
  readonly patchNodeHttp: boolean
  readonly #filter: ((url: string) => boolean) | undefined
  readonly #skip: ((url: string) => boolean) | undefined
  readonly #isError: (status: number) => boolean
  readonly #spanOptions: { service?: string; type: string; resource: string }
  /** `http.request` (schema v0) or `http.client.request` (v1): node:http and fetch; npm undici's is `undici.request`. */
  readonly #name: string
  readonly #peerMapping: Readonly<Record<string, string>> | undefined

  constructor(owner: ClientSpanOwner, options: HttpClientOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('datadog-apm: httpClients options must be an object')
    for (const name of ['propagationFilter', 'skip', 'validateStatus'] as const) {
      if (options[name] !== undefined && typeof options[name] !== 'function') throw new TypeError(`datadog-apm: option ${name} must be a function`)
    }
    if (options.service !== undefined && (typeof options.service !== 'string' || options.service === '')) {
      throw new TypeError('datadog-apm: option service must be a non-empty string')
    }
    if (options.patchNodeHttp !== undefined && typeof options.patchNodeHttp !== 'boolean') throw new TypeError('datadog-apm: option patchNodeHttp must be true or false')
    this.owner = owner
    this.patchNodeHttp = options.patchNodeHttp ?? false
    this.#filter = options.propagationFilter
    this.#skip = options.skip
    const validate = options.validateStatus
    if (validate !== undefined) {
      this.#isError = (status) => {
        try {
          return validate(status) === true
        } catch {
          return DEFAULT_ERROR_STATUSES(status)
        }
      }
    } else {
      // DD_TRACE_HTTP_CLIENT_ERROR_STATUSES, read and checked with the tracer's config.
      this.#isError = owner.config.httpClient.isErrorStatus
    }
    // One options object for every client span: startSpan only reads it; the resource is set after.
    this.#spanOptions = options.service === undefined ? { type: 'http', resource: '' } : { service: options.service, type: 'http', resource: '' }
    const naming = owner.config.naming
    this.#name = naming.spanAttributeSchema === 'v1' ? 'http.client.request' : 'http.request'
    this.#peerMapping = naming.peerServiceDefaults ? naming.peerServiceMapping : undefined
  }

  /**
   * Starts a client span, or returns undefined when the request is not traced (tracer off, the
   * exporter's own request, skipped by the user). `url` has no query and no credentials.
   */
  start(component: string, method: string, url: string, host: string, port: number): CoreSpan | undefined {
    // The user's skip callback never sees the requests of a tracer that is off.
    if (this.#skip !== undefined && this.owner.enabled && this.#call(this.#skip, url, 'skip')) return undefined
    const span = startClientSpan(this.owner, component === 'undici' ? 'undici.request' : this.#name, this.#spanOptions, component)
    if (span === undefined) return undefined
    span.resource = method
    const meta = span.meta
    meta['_dd.integration'] = component
    meta['http.method'] = method
    meta['http.url'] = url
    meta['out.host'] = host
    span.metrics['network.destination.port'] = port
    if (this.#peerMapping !== undefined && host !== '') setPeerService(meta, this.#peerMapping, 'out.host', host)
    return span
  }

  /** Injects the span's headers unless the propagation filter says no. */
  inject<C>(span: CoreSpan, url: string, carrier: C, set: HeaderSetter<C>): void {
    if (this.#filter !== undefined && !this.#call(this.#filter, url, 'propagationFilter')) return
    this.owner.injectSpan(span, carrier, set)
  }

  status(span: CoreSpan, status: number): void {
    span.meta['http.status_code'] = status >= 0 && status < 1000 ? STATUS_TEXT[status] : String(status)
    if (this.#isError(status)) span.error = 1
  }

  #call(fn: (url: string) => boolean, url: string, name: string): boolean {
    try {
      return fn(url) === true
    } catch (err) {
      this.owner.diagnostics.warn(`http-client-${name}`, `the httpClients ${name} callback threw; treated as false`, String(err))
      return false
    }
  }
}

/** Splits `http://host:port` (as undici's `origin`) into its parts; the port defaults by scheme. */
export function parseOrigin(origin: string): { scheme: string; host: string; port: number } | undefined {
  const sep = origin.indexOf('://')
  if (sep <= 0) return undefined
  const scheme = origin.slice(0, sep).toLowerCase()
  let rest = origin.slice(sep + 3)
  const slash = rest.indexOf('/')
  if (slash !== -1) rest = rest.slice(0, slash)
  const at = rest.lastIndexOf('@')
  if (at !== -1) rest = rest.slice(at + 1)
  let host = rest
  let portText = ''
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']')
    if (close === -1) return undefined
    host = rest.slice(1, close)
    if (rest.charCodeAt(close + 1) === 58 /* : */) portText = rest.slice(close + 2)
  } else {
    const colon = rest.lastIndexOf(':')
    if (colon !== -1) {
      host = rest.slice(0, colon)
      portText = rest.slice(colon + 1)
    }
  }
  const port = portText === '' ? (scheme === 'https' || scheme === 'wss' ? 443 : 80) : Number(portText)
  if (!Number.isInteger(port) || port < 0 || port > 65535) return undefined
  return { scheme, host, port }
}

/** A path without its query string or fragment. */
export function pathOnly(path: string): string {
  let end = path.length
  const q = path.indexOf('?')
  if (q !== -1) end = q
  const h = path.indexOf('#')
  if (h !== -1 && h < end) end = h
  return end === path.length ? path : path.slice(0, end)
}
