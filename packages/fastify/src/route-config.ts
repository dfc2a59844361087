import type { FastifyRequest } from 'fastify'

/** What the plugin reads from the matched route: its URL pattern (undefined on a 404) and its config. */
export interface RouteConfig {
  readonly url?: string
  readonly datadog?: unknown
}

type RouteContext = { readonly config?: RouteConfig } | undefined
type WithContext = Record<symbol, RouteContext>

// Fastify 4 and 5 keep the matched route's context on every request under `Symbol('fastify.context')`; its
// `config` is `{ ...route.config, url, method }`, exactly what `request.routeOptions.config` returns. The
// public getter builds a new object per call: 27 ns on Fastify 5.12 and 1.15 µs on Fastify 4.29 (it
// freezes the object and defines two getters), against 2–3 ns for the property read (1e6 reads, Node 20).
// Read twice per request, that was the largest cost of the plugin on Fastify 4.
const CONTEXT_DESCRIPTION = 'fastify.context'

/**
 * Reads the matched route's config. The context symbol is looked up once, on the first request, since
 * each copy of Fastify has its own; without it the public `routeOptions` is used.
 */
export class RouteConfigReader {
  #key: symbol | null | undefined = undefined

  config(request: FastifyRequest): RouteConfig | undefined {
    let key = this.#key
    if (key === undefined) key = this.#key = findContextKey(request)
    if (key !== null) {
      const config = (request as unknown as WithContext)[key]?.config
      if (config !== null && typeof config === 'object') return config
    }
    return (request.routeOptions as { config?: RouteConfig } | undefined)?.config
  }
}

function findContextKey(request: object): symbol | null {
  for (const key of Object.getOwnPropertySymbols(request)) {
    const context = (request as WithContext)[key]
    if (key.description === CONTEXT_DESCRIPTION && context !== null && typeof context === 'object') return key
  }
  return null
}
