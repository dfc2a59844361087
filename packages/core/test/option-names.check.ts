// Type tests, checked by `tsc -p tsconfig.check.json` (never run): a table of option names typed with
// OptionNames must list every key of its options type and nothing else, which is what keeps the
// warnings about misspelled options in step with the types.
import type { OptionNames } from '../src/base/option-names.js'

interface SampleOptions {
  service?: string
  sampleRate?: number
}

export const complete: OptionNames<SampleOptions> = { service: true, sampleRate: true }

// @ts-expect-error a key of the type is missing from the table
export const missing: OptionNames<SampleOptions> = { service: true }

// @ts-expect-error the table names a key the type does not have
export const extra: OptionNames<SampleOptions> = { service: true, sampleRate: true, serivce: true }
