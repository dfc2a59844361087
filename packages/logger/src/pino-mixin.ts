import { idleConfigOf, type AdapterOptions } from './adapter-options.js'
import { correlatedSpan, ddObject } from './correlation.js'

/** The part of a pino logger the mixin reads: its bindings, to leave a bound `dd` alone. */
export interface PinoBindingsSource {
  bindings(): object
}

/** pino's `mixin` option: `(mergeObject, level, logger) => fields to add`. */
export type PinoMixin = (mergeObject: object, level: number, logger?: PinoBindingsSource) => object

// pino's `bindings()` parses the logger's bound JSON on every call, so whether a logger binds `dd` (in
// `base` or a child's bindings) is read once per logger. A later `setBindings({ dd })` is not seen.
const bindsDd = new WeakMap<object, boolean>()

function hasBoundDd(logger: PinoBindingsSource | undefined): boolean {
  if (logger === null || typeof logger !== 'object') return false
  let known = bindsDd.get(logger)
  if (known === undefined) {
    const bindings = typeof logger.bindings === 'function' ? logger.bindings() : undefined
    known = bindings !== null && typeof bindings === 'object' && Object.hasOwn(bindings, 'dd')
    bindsDd.set(logger, known)
  }
  return known
}

/**
 * A pino `mixin` that adds `dd` (trace_id, span_id, service, env, version) to every record:
 * `pino({ mixin: pinoMixin() })`, or in Fastify `Fastify({ logger: { mixin: pinoMixin() } })`.
 * Through pino's public option only: the user's objects are not touched, and a `dd` the user logs or
 * binds is kept (pino's default merge lets the logged object win over the mixin's fields).
 */
export function pinoMixin(options?: AdapterOptions): PinoMixin {
  const idleConfig = idleConfigOf('pinoMixin', options)
  return function datadogMixin(mergeObject: object, _level: number, logger?: PinoBindingsSource): object {
    // A fresh object every time: pino's default merge strategy assigns the logged fields into it.
    try {
      if (mergeObject !== null && typeof mergeObject === 'object' && Object.hasOwn(mergeObject, 'dd')) return {}
      if (hasBoundDd(logger)) return {}
      const dd = ddObject(correlatedSpan(), idleConfig)
      return dd === undefined ? {} : { dd }
    } catch {
      // A failure here must cost the line its correlation, never the line itself.
      return {}
    }
  }
}
