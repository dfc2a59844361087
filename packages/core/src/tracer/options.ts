import type { DiagnosticSink } from '../base/diagnostics.js'
import type { OptionNames } from '../base/option-names.js'
import type { ConfigOptions } from '../config/config.js'
import { CONFIG_OPTION_NAMES } from '../config/option-keys.js'
import type { Exporter } from '../export/exporter.js'

/**
 * Options of `createTracer`. Every field is optional; each one wins over its `DD_*` variable. The
 * settings resolved against the environment are `ConfigOptions` (config/); these are the tracer's own
 * parts, which the layers below config know nothing of.
 */
export interface TracerOptions extends ConfigOptions {
  /** Replaces the agent exporter (tests use the in-memory one from `@datadog-apm/core/testing`). */
  exporter?: Exporter
  /** Where warnings go; default stderr. */
  diagnostics?: DiagnosticSink
}

/** Every option of `createTracer`, for the check that reports a misspelled one. */
export const TRACER_OPTION_NAMES: OptionNames<TracerOptions> = { ...CONFIG_OPTION_NAMES, exporter: true, diagnostics: true }
