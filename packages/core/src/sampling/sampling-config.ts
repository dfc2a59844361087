import { readFileSync } from 'node:fs'
import { readRules, type RuleSource, type SamplingRule, type SpanSamplingRule } from './sampling-rules.js'

/** The sampling part of the tracer options (fields of `TracerOptions`). */
export interface SamplingOptions {
  sampleRate?: number
  samplingRules?: readonly SamplingRule[]
  rateLimit?: number
  spanSamplingRules?: readonly SpanSamplingRule[]
}

/** The sampling part of the resolved config (fields of `TracerConfig`). */
export interface SamplingConfig {
  readonly sampleRate: number | undefined
  readonly samplingRules: readonly SamplingRule[]
  readonly rateLimit: number
  readonly spanSamplingRules: readonly SpanSamplingRule[]
}

/** dd-trace's default: traces kept by a rule, at most 100 a second. */
export const DEFAULT_RATE_LIMIT = 100

type Env = Record<string, string | undefined>
type Warn = (message: string) => void
type ReadFile = (path: string) => string

function envText(env: Env, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null || typeof value !== 'object') return String(value)
  try {
    return JSON.stringify(value)
  } catch {
    return 'an object'
  }
}

function sampleRateOption(value: unknown): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new TypeError(`datadog-apm: option sampleRate must be a number from 0 to 1, got ${show(value)}`)
  }
  return value
}

function rateLimitOption(value: unknown): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`datadog-apm: option rateLimit must be a number (traces a second; below 0 no limit, 0 none), got ${show(value)}`)
  }
  return value
}

function rulesOption<T>(name: 'samplingRules' | 'spanSamplingRules', value: unknown): T[] | undefined {
  if (value === undefined) return undefined
  const { rules, problems } = readRules(value, { json: false, tags: name === 'samplingRules' })
  if (problems.length > 0) throw new TypeError(`datadog-apm: option ${name}: ${problems.join('; ')}`)
  return rules as T[]
}

/** Parses a JSON rules variable; what is wrong is reported in one warning, and the good rules still apply. */
function rulesFromJson(name: string, text: string, source: RuleSource, warn: Warn): SamplingRule[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    warn(`${name} is not valid JSON (${err instanceof Error ? err.message : String(err)}); no rules from it apply`)
    return []
  }
  const { rules, problems } = readRules(parsed, source)
  if (problems.length > 0) {
    const rest = Array.isArray(parsed) ? `; ${rules.length === 1 ? 'the 1 valid rule applies' : `the ${rules.length} valid rules apply`}` : '; no rules from it apply'
    warn(`${name}: ${problems.join('; ')}${rest}`)
  }
  return rules
}

function spanRulesFromEnv(env: Env, warn: Warn, readFile: ReadFile): SpanSamplingRule[] {
  const source = { json: true, tags: false }
  const inline = envText(env, 'DD_SPAN_SAMPLING_RULES')
  const file = envText(env, 'DD_SPAN_SAMPLING_RULES_FILE')
  if (inline !== undefined) {
    if (file !== undefined) warn(`DD_SPAN_SAMPLING_RULES_FILE is ignored, since DD_SPAN_SAMPLING_RULES is set`)
    return rulesFromJson('DD_SPAN_SAMPLING_RULES', inline, source, warn)
  }
  if (file === undefined) return []
  let text: string
  try {
    text = readFile(file)
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code
    warn(`DD_SPAN_SAMPLING_RULES_FILE=${JSON.stringify(file)} could not be read (${typeof code === 'string' ? code : String(err)}); no span sampling rules apply`)
    return []
  }
  return rulesFromJson(`DD_SPAN_SAMPLING_RULES_FILE (${file})`, text, source, warn)
}

/**
 * Sampling settings from options over `DD_TRACE_SAMPLE_RATE`, `DD_TRACE_SAMPLING_RULES`,
 * `DD_TRACE_RATE_LIMIT`, `DD_SPAN_SAMPLING_RULES` and `DD_SPAN_SAMPLING_RULES_FILE`. A bad variable gets
 * one warning naming it; a bad option is a TypeError naming it.
 */
export function resolveSamplingConfig(
  options: SamplingOptions,
  env: Env,
  warn: Warn,
  readFile: ReadFile = (path) => readFileSync(path, 'utf8')
): SamplingConfig {
  let sampleRate = sampleRateOption(options.sampleRate)
  if (options.sampleRate === undefined) {
    const text = envText(env, 'DD_TRACE_SAMPLE_RATE')
    if (text !== undefined) {
      const value = Number(text)
      if (Number.isFinite(value) && value >= 0 && value <= 1) sampleRate = value
      else warn(`DD_TRACE_SAMPLE_RATE=${JSON.stringify(text)} is not a number from 0 to 1; ignoring it (traces follow the rules and the agent's rates)`)
    }
  }

  let rateLimit = rateLimitOption(options.rateLimit)
  if (rateLimit === undefined) {
    rateLimit = DEFAULT_RATE_LIMIT
    const text = envText(env, 'DD_TRACE_RATE_LIMIT')
    if (text !== undefined) {
      const value = Number(text)
      if (Number.isFinite(value)) rateLimit = value
      else warn(`DD_TRACE_RATE_LIMIT=${JSON.stringify(text)} is not a number; using ${DEFAULT_RATE_LIMIT}`)
    }
  }

  let samplingRules = rulesOption<SamplingRule>('samplingRules', options.samplingRules)
  if (samplingRules === undefined) {
    const text = envText(env, 'DD_TRACE_SAMPLING_RULES')
    samplingRules = text === undefined ? [] : rulesFromJson('DD_TRACE_SAMPLING_RULES', text, { json: true, tags: true }, warn)
  }

  const spanSamplingRules = rulesOption<SpanSamplingRule>('spanSamplingRules', options.spanSamplingRules) ?? spanRulesFromEnv(env, warn, readFile)

  return { sampleRate, samplingRules, rateLimit, spanSamplingRules }
}
