import { checkOptionNames, getTracer, type OptionNames, type ReportOnce, type Tracer, type TracerConfig } from '@datadog-apm/core'
import { stderrSink, warnOnce } from './diagnostics.js'

/** Options of `pinoMixin` and `winstonFormat`. */
export interface AdapterOptions {
  /**
   * The tracer whose service, env, version and `logInjection` apply to records written outside any span.
   * Default: core's default tracer, looked up at the first such record.
   */
  tracer?: Tracer
}

/** Every option of the adapters, for the check that reports a misspelled one; typed so it cannot miss one. */
const ADAPTER_OPTION_NAMES: OptionNames<AdapterOptions> = { tracer: true }

/**
 * Reports the unknown keys of an adapter's options once per key: through the given tracer's diagnostics,
 * else on stderr. Not through the default tracer's: adapters are made at import time, and asking for
 * that tracer would resolve its configuration before the app has set its variables.
 */
function checkAdapterOptionNames(options: AdapterOptions | undefined, where: string, extra: Readonly<Record<string, true>> | undefined): void {
  if (options === null || typeof options !== 'object') return
  const diagnostics = (options.tracer as Partial<Tracer> | undefined)?.diagnostics
  const report: ReportOnce =
    diagnostics !== undefined && typeof diagnostics.warnOnce === 'function'
      ? (kind, message) => diagnostics.warnOnce(kind, message)
      : (kind, message) => warnOnce(stderrSink, kind, message)
  checkOptionNames(options, extra === undefined ? ADAPTER_OPTION_NAMES : { ...ADAPTER_OPTION_NAMES, ...extra }, where, report)
}

/**
 * The config for records outside any span (checking the options' names: `extraNames` are the adapter's
 * own options beside `tracer`), resolved at the first such record rather than when the
 * adapter is made: adapters are made at import time, before code that sets DD_SERVICE or DD_ENV runs.
 */
export function idleConfigOf(option: string, options: AdapterOptions | undefined, extraNames?: Readonly<Record<string, true>>): () => TracerConfig {
  const tracer = options?.tracer
  if (tracer !== undefined && (tracer === null || typeof tracer !== 'object' || typeof tracer.config !== 'object')) {
    throw new TypeError(`datadog-apm: option tracer of ${option} must be a tracer from @datadog-apm/core`)
  }
  checkAdapterOptionNames(options, option, extraNames)
  let config: TracerConfig | undefined
  return () => (config ??= (tracer ?? getTracer()).config)
}
