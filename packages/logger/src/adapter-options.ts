import { getTracer, type Tracer, type TracerConfig } from '@datadog-apm/core'

/** Options of `pinoMixin` and `winstonFormat`. */
export interface AdapterOptions {
  /**
   * The tracer whose service, env, version and `logInjection` apply to records written outside any span.
   * Default: core's default tracer, looked up at the first such record.
   */
  tracer?: Tracer
}

/**
 * The config for records outside any span, resolved at the first such record rather than when the
 * adapter is made: adapters are made at import time, before code that sets DD_SERVICE or DD_ENV runs.
 */
export function idleConfigOf(option: string, options: AdapterOptions | undefined): () => TracerConfig {
  const tracer = options?.tracer
  if (tracer !== undefined && (tracer === null || typeof tracer !== 'object' || typeof tracer.config !== 'object')) {
    throw new TypeError(`datadog-apm: option tracer of ${option} must be a tracer from @datadog-apm/core`)
  }
  let config: TracerConfig | undefined
  return () => (config ??= (tracer ?? getTracer()).config)
}
