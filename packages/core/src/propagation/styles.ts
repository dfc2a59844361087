/** The header formats a tracer reads and writes. */
export const PropagationStyle = {
  DATADOG: 'datadog',
  TRACECONTEXT: 'tracecontext',
  BAGGAGE: 'baggage',
  /** B3 single header (`b3: {trace}-{span}-{sampled}`), as `b3` means in dd-trace 6. */
  B3: 'b3',
  B3_MULTI: 'b3multi'
} as const

export type PropagationStyleName = (typeof PropagationStyle)[keyof typeof PropagationStyle]

/** What to do with an extracted context: continue the trace, start a new one linked to it, or ignore it. */
export type ExtractBehavior = 'continue' | 'restart' | 'ignore'

/** Options of context propagation (`createTracer({ propagation })`). Every field is optional. */
export interface PropagationOptions {
  /**
   * Styles read and written, in extraction order: `datadog`, `tracecontext`, `baggage`, `b3` (single
   * header), `b3multi`, `none`; a list or a comma-separated string. Env `DD_TRACE_PROPAGATION_STYLE`
   * (alias `OTEL_PROPAGATORS`); default `datadog,tracecontext,baggage`.
   */
  style?: string | readonly string[]
  /** Styles read. Env `DD_TRACE_PROPAGATION_STYLE_EXTRACT`; default: `style`. */
  extract?: string | readonly string[]
  /** Styles written. Env `DD_TRACE_PROPAGATION_STYLE_INJECT`; default: `style`. */
  inject?: string | readonly string[]
  /** Use the first valid context as is: no merging, no span links. Env `DD_TRACE_PROPAGATION_EXTRACT_FIRST`; default false. */
  extractFirst?: boolean
  /**
   * `continue` the caller's trace, `restart` (a new trace with a span link to the caller's) or `ignore`
   * incoming headers. Env `DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT`; default `continue`.
   */
  behaviorExtract?: ExtractBehavior
  /** Longest `x-datadog-tags` read or written; 0 turns the header off. Env `DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH`; default 512. */
  tagsHeaderMaxLength?: number
  /** Baggage members kept. Env `DD_TRACE_BAGGAGE_MAX_ITEMS`; default 64. */
  baggageMaxItems?: number
  /** Longest `baggage` header kept, in bytes. Env `DD_TRACE_BAGGAGE_MAX_BYTES`; default 8192. */
  baggageMaxBytes?: number
  /**
   * Baggage keys that become `baggage.<key>` tags on the first span of this service; `['*']` for all.
   * Env `DD_TRACE_BAGGAGE_TAG_KEYS`; default `user.id, session.id, account.id`.
   */
  baggageTagKeys?: readonly string[]
}

/** Propagation options after merging over the environment. */
export interface PropagationConfig {
  readonly extract: readonly PropagationStyleName[]
  readonly inject: readonly PropagationStyleName[]
  readonly extractFirst: boolean
  readonly behaviorExtract: ExtractBehavior
  readonly tagsHeaderMaxLength: number
  readonly baggageMaxItems: number
  readonly baggageMaxBytes: number
  /** 'all' for `*`. */
  readonly baggageTagKeys: ReadonlySet<string> | 'all'
}

export const DEFAULT_STYLES: readonly PropagationStyleName[] = Object.freeze(['datadog', 'tracecontext', 'baggage'] as const)
export const DEFAULT_TAGS_HEADER_MAX_LENGTH = 512
export const DEFAULT_BAGGAGE_MAX_ITEMS = 64
export const DEFAULT_BAGGAGE_MAX_BYTES = 8192
export const DEFAULT_BAGGAGE_TAG_KEYS: readonly string[] = Object.freeze(['user.id', 'session.id', 'account.id'])

const ALIASES: Readonly<Record<string, PropagationStyleName | 'none'>> = {
  datadog: 'datadog',
  tracecontext: 'tracecontext',
  baggage: 'baggage',
  b3: 'b3',
  'b3 single header': 'b3',
  b3multi: 'b3multi',
  none: 'none'
}

type Env = Record<string, string | undefined>
type Warn = (message: string) => void

/**
 * Parses a style list. Unknown names are reported through `unknown` and skipped; `none` alone means no
 * style. Undefined when nothing valid was named (so the caller can fall back).
 */
export function parseStyles(input: string | readonly string[], unknown: (name: string) => void): PropagationStyleName[] | undefined {
  const items = typeof input === 'string' ? input.split(',') : input
  const styles: PropagationStyleName[] = []
  let valid = false
  for (const raw of items) {
    if (typeof raw !== 'string') {
      unknown(String(raw))
      continue
    }
    const name = raw.trim().toLowerCase()
    if (name === '') continue
    const style = Object.hasOwn(ALIASES, name) ? ALIASES[name] : undefined
    if (style === undefined) {
      unknown(raw.trim())
      continue
    }
    valid = true
    if (style !== 'none' && !styles.includes(style)) styles.push(style)
  }
  return valid ? styles : undefined
}

function envValue(env: Env, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

function optionStyles(name: string, value: string | readonly string[] | undefined): PropagationStyleName[] | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' && !Array.isArray(value)) {
    throw new TypeError(`datadog-apm: option propagation.${name} must be a list of styles, got ${String(value)}`)
  }
  const styles = parseStyles(value, (bad) => {
    throw new TypeError(`datadog-apm: option propagation.${name} has an unknown style ${JSON.stringify(bad)}; use datadog, tracecontext, baggage, b3, b3multi or none`)
  })
  if (styles === undefined) throw new TypeError(`datadog-apm: option propagation.${name} names no style`)
  return styles
}

function envStyles(env: Env, name: string, warn: Warn): PropagationStyleName[] | undefined {
  const text = envValue(env, name)
  if (text === undefined) return undefined
  const unknown: string[] = []
  const styles = parseStyles(text, (bad) => unknown.push(bad))
  // OTEL_PROPAGATORS may name formats we do not speak (xray, jaeger): those are skipped, not an error.
  if (unknown.length > 0 && name !== 'OTEL_PROPAGATORS') {
    warn(`${name}=${JSON.stringify(text)} names unknown styles (${unknown.join(', ')}); they are ignored`)
  }
  if (styles === undefined && name !== 'OTEL_PROPAGATORS') {
    warn(`${name}=${JSON.stringify(text)} names no valid style; using ${DEFAULT_STYLES.join(',')}`)
  }
  return styles
}

function envBoolean(env: Env, name: string, fallback: boolean, warn: Warn): boolean {
  const text = envValue(env, name)
  if (text === undefined) return fallback
  const value = text.toLowerCase()
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  warn(`${name}=${JSON.stringify(text)} is not true or false; using ${fallback}`)
  return fallback
}

function integer(name: string, envName: string, option: number | undefined, env: Env, fallback: number, max: number, warn: Warn): number {
  if (option !== undefined) {
    if (typeof option !== 'number' || !Number.isInteger(option) || option < 0 || option > max) {
      throw new TypeError(`datadog-apm: option propagation.${name} must be a whole number from 0 to ${max}, got ${String(option)}`)
    }
    return option
  }
  const text = envValue(env, envName)
  if (text === undefined) return fallback
  const value = Number(text)
  if (Number.isInteger(value) && value >= 0 && value <= max) return value
  warn(`${envName}=${JSON.stringify(text)} is not a whole number from 0 to ${max}; using ${fallback}`)
  return fallback
}

function tagKeys(keys: readonly string[]): ReadonlySet<string> | 'all' {
  const set = new Set<string>()
  for (const key of keys) {
    const k = key.trim()
    if (k === '*') return 'all'
    if (k !== '') set.add(k)
  }
  return set
}

/** Merges propagation options over `DD_TRACE_PROPAGATION_*` and `DD_TRACE_BAGGAGE_*`. */
export function resolvePropagationConfig(options: PropagationOptions | undefined, env: Env, warn: Warn): PropagationConfig {
  const o = options ?? {}
  if (o === null || typeof o !== 'object') throw new TypeError('datadog-apm: option propagation must be an object')
  const both = optionStyles('style', o.style)
  const envBoth = both === undefined ? (envStyles(env, 'DD_TRACE_PROPAGATION_STYLE', warn) ?? envStyles(env, 'OTEL_PROPAGATORS', warn)) : undefined
  const extract = optionStyles('extract', o.extract) ?? both ?? envStyles(env, 'DD_TRACE_PROPAGATION_STYLE_EXTRACT', warn) ?? envBoth ?? DEFAULT_STYLES
  const inject = optionStyles('inject', o.inject) ?? both ?? envStyles(env, 'DD_TRACE_PROPAGATION_STYLE_INJECT', warn) ?? envBoth ?? DEFAULT_STYLES

  let extractFirst: boolean
  if (o.extractFirst !== undefined) {
    if (typeof o.extractFirst !== 'boolean') throw new TypeError('datadog-apm: option propagation.extractFirst must be true or false')
    extractFirst = o.extractFirst
  } else {
    extractFirst = envBoolean(env, 'DD_TRACE_PROPAGATION_EXTRACT_FIRST', false, warn)
  }

  let behaviorExtract: ExtractBehavior = 'continue'
  if (o.behaviorExtract !== undefined) {
    if (o.behaviorExtract !== 'continue' && o.behaviorExtract !== 'restart' && o.behaviorExtract !== 'ignore') {
      throw new TypeError(`datadog-apm: option propagation.behaviorExtract must be continue, restart or ignore, got ${String(o.behaviorExtract)}`)
    }
    behaviorExtract = o.behaviorExtract
  } else {
    const text = envValue(env, 'DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT')
    const value = text?.toLowerCase()
    if (value === 'continue' || value === 'restart' || value === 'ignore') behaviorExtract = value
    else if (text !== undefined) warn(`DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT=${JSON.stringify(text)} is not continue, restart or ignore; using continue`)
  }

  let keys: readonly string[] = DEFAULT_BAGGAGE_TAG_KEYS
  if (o.baggageTagKeys !== undefined) {
    if (!Array.isArray(o.baggageTagKeys) || o.baggageTagKeys.some((k) => typeof k !== 'string')) {
      throw new TypeError('datadog-apm: option propagation.baggageTagKeys must be an array of strings')
    }
    keys = o.baggageTagKeys
  } else {
    // Set but empty means "no baggage tags", unlike the other variables where empty means unset.
    const text = env.DD_TRACE_BAGGAGE_TAG_KEYS
    if (text !== undefined) keys = text.split(',')
  }

  return {
    extract: Object.freeze(extract.slice()),
    inject: Object.freeze(inject.slice()),
    extractFirst,
    behaviorExtract,
    tagsHeaderMaxLength: integer('tagsHeaderMaxLength', 'DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH', o.tagsHeaderMaxLength, env, DEFAULT_TAGS_HEADER_MAX_LENGTH, 1_000_000, warn),
    baggageMaxItems: integer('baggageMaxItems', 'DD_TRACE_BAGGAGE_MAX_ITEMS', o.baggageMaxItems, env, DEFAULT_BAGGAGE_MAX_ITEMS, 1_000_000, warn),
    baggageMaxBytes: integer('baggageMaxBytes', 'DD_TRACE_BAGGAGE_MAX_BYTES', o.baggageMaxBytes, env, DEFAULT_BAGGAGE_MAX_BYTES, 100_000_000, warn),
    baggageTagKeys: tagKeys(keys)
  }
}
