import {
  DEFAULT_BAGGAGE_MAX_BYTES,
  DEFAULT_BAGGAGE_MAX_ITEMS,
  DEFAULT_BAGGAGE_TAG_KEYS,
  DEFAULT_STYLES,
  DEFAULT_TAGS_HEADER_MAX_LENGTH,
  parseStyles,
  type ExtractBehavior,
  type PropagationConfig,
  type PropagationOptions,
  type PropagationStyleName
} from '../propagation/styles.js'
import { envBoolean, envText, warnIfBothSet, type Env, type Warn } from './env.js'

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
  const text = envText(env, name)
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

function integer(name: string, envName: string, option: number | undefined, env: Env, fallback: number, max: number, warn: Warn): number {
  if (option !== undefined) {
    if (typeof option !== 'number' || !Number.isInteger(option) || option < 0 || option > max) {
      throw new TypeError(`datadog-apm: option propagation.${name} must be a whole number from 0 to ${max}, got ${String(option)}`)
    }
    return option
  }
  const text = envText(env, envName)
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

/**
 * Merges propagation options over `DD_TRACE_PROPAGATION_*` and `DD_TRACE_BAGGAGE_*`. `OTEL_PROPAGATORS`
 * stands in for `DD_TRACE_PROPAGATION_STYLE`, as in dd-trace.
 */
export function resolvePropagationConfig(options: PropagationOptions | undefined, env: Env, warn: Warn): PropagationConfig {
  const o = options ?? {}
  if (o === null || typeof o !== 'object') throw new TypeError('datadog-apm: option propagation must be an object')
  warnIfBothSet(env, ['DD_TRACE_PROPAGATION_STYLE'], 'OTEL_PROPAGATORS', warn)
  const both = optionStyles('style', o.style)
  const envBoth = both === undefined ? (envStyles(env, 'DD_TRACE_PROPAGATION_STYLE', warn) ?? envStyles(env, 'OTEL_PROPAGATORS', warn)) : undefined
  const extract = optionStyles('extract', o.extract) ?? both ?? envStyles(env, 'DD_TRACE_PROPAGATION_STYLE_EXTRACT', warn) ?? envBoth ?? DEFAULT_STYLES
  const inject = optionStyles('inject', o.inject) ?? both ?? envStyles(env, 'DD_TRACE_PROPAGATION_STYLE_INJECT', warn) ?? envBoth ?? DEFAULT_STYLES

  let extractFirst: boolean
  if (o.extractFirst !== undefined) {
    if (typeof o.extractFirst !== 'boolean') throw new TypeError('datadog-apm: option propagation.extractFirst must be true or false')
    extractFirst = o.extractFirst
  } else {
    extractFirst = envBoolean(env, ['DD_TRACE_PROPAGATION_EXTRACT_FIRST'], false, warn)
  }

  let behaviorExtract: ExtractBehavior = 'continue'
  if (o.behaviorExtract !== undefined) {
    if (o.behaviorExtract !== 'continue' && o.behaviorExtract !== 'restart' && o.behaviorExtract !== 'ignore') {
      throw new TypeError(`datadog-apm: option propagation.behaviorExtract must be continue, restart or ignore, got ${String(o.behaviorExtract)}`)
    }
    behaviorExtract = o.behaviorExtract
  } else {
    const text = envText(env, 'DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT')
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

  return Object.freeze({
    extract: Object.freeze(extract.slice()),
    inject: Object.freeze(inject.slice()),
    extractFirst,
    behaviorExtract,
    tagsHeaderMaxLength: integer('tagsHeaderMaxLength', 'DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH', o.tagsHeaderMaxLength, env, DEFAULT_TAGS_HEADER_MAX_LENGTH, 1_000_000, warn),
    baggageMaxItems: integer('baggageMaxItems', 'DD_TRACE_BAGGAGE_MAX_ITEMS', o.baggageMaxItems, env, DEFAULT_BAGGAGE_MAX_ITEMS, 1_000_000, warn),
    baggageMaxBytes: integer('baggageMaxBytes', 'DD_TRACE_BAGGAGE_MAX_BYTES', o.baggageMaxBytes, env, DEFAULT_BAGGAGE_MAX_BYTES, 100_000_000, warn),
    baggageTagKeys: tagKeys(keys)
  })
}
