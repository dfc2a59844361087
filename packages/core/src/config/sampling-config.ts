import { readFileSync } from 'node:fs'
import { readRules, type RuleSource, type SamplingRule, type SpanSamplingRule } from '../sampling/sampling-rules.js'
import { envText, warnIfBothSet, type Env, type Warn } from './env.js'
import { show } from './option-checks.js'

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

type ReadFile = (path: string) => string

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

/**
 * The sample rate `OTEL_TRACES_SAMPLER` (and `OTEL_TRACES_SAMPLER_ARG`) stand for, mapped as dd-trace
 * maps them: `always_on` 1, `always_off` 0, `traceidratio` its argument. Every sampler acts as its
 * `parentbased_` form, since a trace continued from another service keeps the caller's decision anyway.
 */
function otelSampleRate(env: Env, warn: Warn): number | undefined {
  const sampler = envText(env, 'OTEL_TRACES_SAMPLER')
  if (sampler === undefined) return undefined
  switch (sampler.toLowerCase()) {
    case 'always_on':
    case 'parentbased_always_on':
      return 1
    case 'always_off':
    case 'parentbased_always_off':
      return 0
    case 'traceidratio':
    case 'parentbased_traceidratio': {
      const arg = envText(env, 'OTEL_TRACES_SAMPLER_ARG')
      const value = arg === undefined ? NaN : Number(arg)
      if (value >= 0 && value <= 1) return value
      warn(`OTEL_TRACES_SAMPLER_ARG=${JSON.stringify(arg ?? '')} is not a number from 0 to 1; OTEL_TRACES_SAMPLER=${sampler} is ignored`)
      return undefined
    }
  }
  warn(`OTEL_TRACES_SAMPLER=${JSON.stringify(sampler)} is not always_on, always_off or traceidratio (or their parentbased_ forms); it is ignored`)
  return undefined
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
 * Sampling settings from options over `DD_TRACE_SAMPLE_RATE` (else `OTEL_TRACES_SAMPLER`),
 * `DD_TRACE_SAMPLING_RULES`, `DD_TRACE_RATE_LIMIT`, `DD_SPAN_SAMPLING_RULES` and
 * `DD_SPAN_SAMPLING_RULES_FILE`. A bad variable gets one warning naming it; a bad option is a TypeError
 * naming it. Rules are copies, frozen with the rest.
 */
export function resolveSamplingConfig(
  options: SamplingOptions,
  env: Env,
  warn: Warn,
  readFile: ReadFile = (path) => readFileSync(path, 'utf8')
): SamplingConfig {
  warnIfBothSet(env, ['DD_TRACE_SAMPLE_RATE'], 'OTEL_TRACES_SAMPLER', warn)
  warnIfBothSet(env, ['DD_TRACE_SAMPLE_RATE'], 'OTEL_TRACES_SAMPLER_ARG', warn)
  let sampleRate = sampleRateOption(options.sampleRate)
  if (options.sampleRate === undefined) {
    const text = envText(env, 'DD_TRACE_SAMPLE_RATE')
    if (text !== undefined) {
      const value = Number(text)
      if (Number.isFinite(value) && value >= 0 && value <= 1) sampleRate = value
      else warn(`DD_TRACE_SAMPLE_RATE=${JSON.stringify(text)} is not a number from 0 to 1; ignoring it (traces follow the rules and the agent's rates)`)
    } else {
      sampleRate = otelSampleRate(env, warn)
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

  return { sampleRate, samplingRules: freezeRules(samplingRules), rateLimit, spanSamplingRules: freezeRules(spanSamplingRules) }
}

function freezeRules<T extends SpanSamplingRule | SamplingRule>(rules: T[]): readonly T[] {
  for (const rule of rules) {
    const tags = (rule as SamplingRule).tags
    if (tags !== undefined) Object.freeze(tags)
    Object.freeze(rule)
  }
  return Object.freeze(rules)
}
