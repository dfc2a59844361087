import type { ServerSpanOptions, Span } from '@datadog-apm/core'
import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * Options of `datadogPlugin`. Every field is optional; the shared ones (tracer, service, query
 * obfuscation, header tags, error statuses, client IP, skip list) are core's `ServerSpanOptions`.
 */
export interface DatadogPluginOptions extends ServerSpanOptions {
  /**
   * Where the plugin makes sure the request span is the active one. `'handler'` (default): the rest of
   * the request runs inside the span from onRequest on, and a check just before each route handler
   * restores it if a hook of the app handed over another async context. `'every-hook'`: that check at
   * the start of every stage (preParsing, preValidation, preHandler, preSerialization, onSend) too, for
   * apps whose callback-style hooks finish from pooled connections or shared timers; it costs ~2.5 µs
   * per request.
   */
  contextGuard?: 'handler' | 'every-hook'
  hooks?: ServerSpanOptions['hooks'] & {
    /**
     * Called just before the request span finishes, after its status, route and URL tags are set, with
     * Fastify's request and reply (runs after `hooks.request`). Errors it throws are caught.
     */
    fastifyRequest?: (span: Span, request: FastifyRequest, reply: FastifyReply) => void
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The request span (`fastify.request`), undefined when the request is not traced (tracer disabled,
     * path skipped, route opted out with `config: { datadog: false }`).
     */
    readonly span: Span | undefined
  }

  interface FastifyContextConfig {
    /** `false` leaves the route's requests untraced. */
    datadog?: boolean
  }
}
