import type { OptionNames, ServerOptionNames, ServerSpanOptions, Span } from '@datadog-apm/core'
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

type PluginHooks = NonNullable<DatadogPluginOptions['hooks']>

/**
 * How the plugin's options are checked for misspelled names: core's request-span options, the plugin's
 * own (typed, so that an option added to `DatadogPluginOptions` must be added here), and the options
 * Fastify's `register` reads for itself, which are not ours to warn about.
 */
export const PLUGIN_OPTION_NAMES: ServerOptionNames = {
  where: 'the Fastify plugin',
  extra: { contextGuard: true } satisfies OptionNames<Omit<DatadogPluginOptions, keyof ServerSpanOptions>>,
  hooks: { fastifyRequest: true } satisfies OptionNames<Omit<PluginHooks, keyof NonNullable<ServerSpanOptions['hooks']>>>,
  ignore: ['prefix', 'logLevel', 'logSerializers']
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
