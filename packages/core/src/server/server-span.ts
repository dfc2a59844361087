import type { IncomingMessage, ServerResponse } from 'node:http'
import { getTracer } from '../tracer/default-tracer.js'
import { coreSpan } from '../model/span.js'
import type { Span } from '../model/span-interface.js'
import type { SpanContext } from '../model/span-context.js'
import type { Tracer } from '../tracer/tracer.js'
import { checkOptionNames, type OptionHints, type OptionNames } from '../base/option-names.js'
import type { Diagnostics } from '../base/diagnostics.js'
import { TRACER_OPTION_NAMES } from '../tracer/options.js'
import { clientIp } from './client-ip.js'
import { detachKeepAliveTimer } from './keep-alive.js'
import { addHeaderTags, parseHeaderTags, type HeaderTag } from './header-tags.js'
import { obfuscateUrl, queryObfuscator, type QueryObfuscator } from './query-obfuscation.js'

/** Options shared by the Express middleware and the Fastify plugin. Every field is optional. */
export interface ServerSpanOptions {
  /** Default: core's default tracer. */
  tracer?: Tracer
  /** Service of the request spans. Default: the tracer's. */
  service?: string
  /**
   * Secrets in the query string of `http.url`: a regex (string or RegExp) whose matches become
   * `<redacted>`, '' or false to keep the query, `.*` or true to drop it. Env
   * `DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP`; default dd-trace's pattern.
   */
  queryStringObfuscation?: string | RegExp | boolean
  /** Headers to tag, `header` or `header:tag`. Env `DD_TRACE_HEADER_TAGS` (comma-separated). */
  headers?: readonly string[]
  /** True when a status marks the request as failed. Env `DD_TRACE_HTTP_SERVER_ERROR_STATUSES`; default 500-599. */
  validateStatus?: (status: number) => boolean
  /** Tag `http.client_ip`. Env `DD_TRACE_CLIENT_IP_ENABLED`; default false. */
  clientIp?: boolean
  /** The one header to read the client IP from. Env `DD_TRACE_CLIENT_IP_HEADER`. */
  clientIpHeader?: string
  /** Requests not traced: exact paths (no query), RegExps over the path, or a predicate. */
  skip?: readonly (string | RegExp)[] | ((path: string, req: IncomingMessage) => boolean)
  hooks?: {
    /** Called just before the request span finishes; errors it throws are caught. */
    request?: (span: Span, req: IncomingMessage, res: ServerResponse) => void
  }
}

/** Every option of `ServerSpanOptions`, for the check that reports a misspelled one. */
export const SERVER_SPAN_OPTION_NAMES: OptionNames<ServerSpanOptions> = {
  tracer: true,
  service: true,
  queryStringObfuscation: true,
  headers: true,
  validateStatus: true,
  clientIp: true,
  clientIpHeader: true,
  skip: true,
  hooks: true
}

const HOOK_NAMES: OptionNames<NonNullable<ServerSpanOptions['hooks']>> = { request: true }

/** How a framework package's options are checked: what it adds to `ServerSpanOptions`, and what is not ours. */
export interface ServerOptionNames {
  /** What took the options, as the warning names it: `datadog()`, `the Fastify plugin`. */
  readonly where: string
  /** The package's own options beside `ServerSpanOptions`. */
  readonly extra?: Readonly<Record<string, true>>
  /** The package's own `hooks` beside `request`. */
  readonly hooks?: Readonly<Record<string, true>>
  /** Keys that belong to the framework (Fastify's `prefix`, `logLevel`, `logSerializers`). */
  readonly ignore?: readonly string[]
}

/**
 * Keys that users put on the middleware or plugin by mistake: the tracer's options, and the names of
 * dd-trace's web plugin options.
 */
function serverHints(where: string): OptionHints {
  const hints: Record<string, string> = {}
  for (const key of Object.keys(TRACER_OPTION_NAMES)) {
    if (!Object.hasOwn(SERVER_SPAN_OPTION_NAMES, key)) hints[key] = `it is an option of createTracer: pass { tracer: createTracer({ ${key} }) } to ${where}`
  }
  hints.blocklist = "dd-trace's blocklist is skip here"
  hints.middleware = 'Express middleware is not traced one by one here (one span per request)'
  return hints
}

function checkServerOptionNames(options: ServerSpanOptions, names: ServerOptionNames, report: (kind: string, message: string) => void): void {
  const known = names.extra === undefined ? SERVER_SPAN_OPTION_NAMES : { ...SERVER_SPAN_OPTION_NAMES, ...names.extra }
  checkOptionNames(options, known, names.where, report, { ignore: names.ignore, hints: serverHints(names.where) })
  const hooks = options.hooks
  if (hooks !== null && typeof hooks === 'object') {
    checkOptionNames(hooks, names.hooks === undefined ? HOOK_NAMES : { ...HOOK_NAMES, ...names.hooks }, names.where, report, { prefix: 'hooks.' })
  }
}

const STATUS_TEXT: string[] = Array.from({ length: 1000 }, (_, i) => String(i))
const DEFAULT_ERROR_STATUSES = (status: number): boolean => status >= 500 && status < 600

function skipPredicate(skip: ServerSpanOptions['skip']): ((path: string, req: IncomingMessage) => boolean) | undefined {
  if (skip === undefined) return undefined
  if (typeof skip === 'function') return skip
  if (!Array.isArray(skip)) throw new TypeError('datadog-apm: option skip must be an array of paths and RegExps, or a function')
  const exact = new Set<string>()
  const patterns: RegExp[] = []
  for (const item of skip as readonly unknown[]) {
    if (typeof item === 'string') exact.add(item)
    else if (item instanceof RegExp) patterns.push(item)
    else throw new TypeError(`datadog-apm: option skip takes paths and RegExps, got ${String(item)}`)
  }
  return (path) => exact.has(path) || patterns.some((r) => r.test(path))
}

/**
 * The request span logic of every web framework package, written once: starts the span, and at the end
 * sets status, URL (query redacted), route and resource, user agent, header tags, client IP and the
 * error policy. Built once per middleware or plugin; `start` and `finish` run per request.
 */
export class HttpServerTracing {
  readonly tracer: Tracer
  readonly #operationName: string
  readonly #component: string
  readonly #service: string | undefined
  readonly #obfuscator: QueryObfuscator
  readonly #headerTags: readonly HeaderTag[]
  readonly #isError: (status: number) => boolean
  readonly #clientIp: boolean
  readonly #clientIpHeader: string | undefined
  readonly #skip: ((path: string, req: IncomingMessage) => boolean) | undefined
  readonly #hook: ((span: Span, req: IncomingMessage, res: ServerResponse) => void) | undefined
  /**
   * `METHOD route` resources, made once: a string built per request costs its concatenation and, in
   * the encoder, a flattening and a hash. Routes are the app's own; the cache stops growing at 2000.
   */
  readonly #resources = new Map<string, Map<string, string>>()
  #resourceCount = 0

  /**
   * `names` says how to check the option names (a misspelled one gets one warning through the tracer's
   * diagnostics); without it, as `ServerSpanOptions` of `${component}`.
   */
  constructor(component: string, options: ServerSpanOptions = {}, names?: ServerOptionNames) {
    if (options === null || typeof options !== 'object') throw new TypeError(`datadog-apm: ${component} options must be an object`)
    this.tracer = options.tracer ?? getTracer()
    const diagnostics = this.tracer.diagnostics as Partial<Diagnostics> | undefined
    // A tracer from another copy of core may predate warnOnce: the check is then skipped, never fatal.
    if (typeof diagnostics?.warnOnce === 'function') {
      checkServerOptionNames(options, names ?? { where: component }, (kind, message) => diagnostics.warnOnce?.(kind, message))
    }
    this.#component = component
    this.#operationName = `${component}.request`
    if (options.service !== undefined && (typeof options.service !== 'string' || options.service === '')) {
      throw new TypeError('datadog-apm: option service must be a non-empty string')
    }
    this.#service = options.service

    // The environment's defaults were read and checked with the tracer's config.
    const defaults = this.tracer.config.httpServer
    let obfuscator: QueryObfuscator | undefined
    if (options.queryStringObfuscation !== undefined) {
      obfuscator = queryObfuscator(options.queryStringObfuscation)
      if (obfuscator === undefined) throw new TypeError('datadog-apm: option queryStringObfuscation is not a valid regular expression')
    }
    this.#obfuscator = obfuscator ?? queryObfuscator(defaults.queryStringObfuscation) ?? queryObfuscator(undefined)!

    if (options.headers !== undefined && !Array.isArray(options.headers)) throw new TypeError('datadog-apm: option headers must be an array of strings')
    this.#headerTags = parseHeaderTags(options.headers ?? defaults.headerTags)

    if (options.validateStatus !== undefined) {
      if (typeof options.validateStatus !== 'function') throw new TypeError('datadog-apm: option validateStatus must be a function')
      const validate = options.validateStatus
      this.#isError = (status) => {
        try {
          return validate(status)
        } catch {
          return DEFAULT_ERROR_STATUSES(status)
        }
      }
    } else {
      this.#isError = defaults.isErrorStatus
    }
    this.#clientIp = options.clientIp ?? defaults.clientIp
    this.#clientIpHeader = options.clientIpHeader?.toLowerCase() ?? defaults.clientIpHeader
    this.#skip = skipPredicate(options.skip)
    const hook = options.hooks?.request
    if (hook !== undefined && typeof hook !== 'function') throw new TypeError('datadog-apm: option hooks.request must be a function')
    this.#hook = hook
  }

  /**
   * Starts the request span, or returns undefined when the tracer is off or the path is skipped. The
   * caller makes it active for the rest of the request. Without `parent` the span continues the trace
   * in the request's headers (`tracer.extract(req.headers)`); `null` starts a new trace.
   */
  start(req: IncomingMessage, parent?: SpanContext | null): Span | undefined {
    const tracer = this.tracer
    if (!tracer.enabled) return undefined
    if (this.#skip !== undefined) {
      const url = req.url ?? '/'
      const q = url.indexOf('?')
      try {
        if (this.#skip(q === -1 ? url : url.slice(0, q), req)) return undefined
      } catch {
        // A throwing skip predicate traces the request rather than break it.
      }
    }
    const childOf = parent !== undefined ? parent : tracer.extract(req.headers)
    // The known tags are stored directly, as constant keys: setTag's generic path costs ~10× as much.
    const span = coreSpan(tracer.startSpan(this.#operationName, { childOf, service: this.#service, type: 'web' }))
    const meta = span.meta
    meta['span.kind'] = 'server'
    meta.component = this.#component
    meta['http.method'] = req.method ?? 'GET'
    span.metrics['_dd.measured'] = 1
    return span
  }

  #resource(method: string, route: string): string {
    let byRoute = this.#resources.get(method)
    if (byRoute === undefined) {
      byRoute = new Map()
      this.#resources.set(method, byRoute)
    }
    let resource = byRoute.get(route)
    if (resource === undefined) {
      resource = method + ' ' + route
      if (this.#resourceCount++ < 2000) byRoute.set(route, resource)
    }
    return resource
  }

  /**
   * Finishes the request span once the response is done (or the client went away). `url` is the path
   * and query as the client sent it; `route` the matched pattern, if any; `error` what the app threw or
   * passed on, recorded when the status counts as an error.
   */
  finish(requestSpan: Span, req: IncomingMessage, res: ServerResponse, url: string, route: string | undefined, error: unknown): void {
    const span = coreSpan(requestSpan)
    if (span.finished) return
    const meta = span.meta
    const status = res.statusCode
    const method = meta['http.method'] ?? req.method ?? 'GET'
    meta['http.status_code'] = status >= 0 && status < 1000 ? STATUS_TEXT[status] : String(status)
    const host = req.headers.host
    const scheme = (req.socket as { encrypted?: boolean } | null)?.encrypted === true ? 'https://' : 'http://'
    meta['http.url'] = scheme + (host === undefined || host === '' ? 'localhost' : host) + obfuscateUrl(url, this.#obfuscator)
    if (route !== undefined && route !== '') {
      meta['http.route'] = route
      if (span.resource === this.#operationName) span.resource = this.#resource(method, route)
    } else if (span.resource === this.#operationName) {
      span.resource = method
    }
    const userAgent = req.headers['user-agent']
    if (userAgent !== undefined) meta['http.useragent'] = userAgent
    if (this.#headerTags.length > 0) addHeaderTags(meta, this.#headerTags, req.headers, (name) => res.getHeader(name))
    if (this.#clientIp) {
      const ip = clientIp(req.headers, req.socket?.remoteAddress, this.#clientIpHeader)
      if (ip !== undefined) meta['http.client_ip'] = ip
    }
    if (this.#isError(status)) {
      if (error !== undefined && error !== null) span.setError(error)
      else span.error = 1
    }
    if (this.#hook !== undefined) {
      try {
        this.#hook(span, req, res)
      } catch (err) {
        this.tracer.diagnostics.warn('hook-threw', `the ${this.#component} hooks.request callback threw; the span was finished without it`, String(err))
      }
    }
    span.finish()
    detachKeepAliveTimer(req)
  }
}
