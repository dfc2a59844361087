import type { CoreSpan } from '../model/span.js'
import { compilePattern, type Matcher, type Pattern } from './glob.js'
import { keepThreshold, keeps } from './keep-test.js'
import { RateLimiter } from './rate-limiter.js'

/**
 * A trace sampling rule, matched against a trace's local root span when its sampling decision is made.
 * Every field is optional; an absent matcher matches anything. As JSON (`DD_TRACE_SAMPLING_RULES`) the
 * rate fields are spelled `sample_rate` and `max_per_second`, and patterns are globs only.
 */
export interface SamplingRule {
  readonly service?: Pattern
  /** The operation name. */
  readonly name?: Pattern
  readonly resource?: Pattern
  /** Tag key → pattern; every one must match a tag of the root span (meta, metrics, or the tracer's global tags). */
  readonly tags?: Readonly<Record<string, Pattern>>
  /** From 0 to 1. Default 1. */
  readonly sampleRate?: number
  /** Traces this rule keeps per second at most, before the tracer's `rateLimit`. Default: no limit of its own. */
  readonly maxPerSecond?: number
}

/**
 * A single-span sampling rule: in a trace that is dropped, matching spans are kept on their own.
 * As JSON (`DD_SPAN_SAMPLING_RULES`) the rate fields are spelled `sample_rate` and `max_per_second`.
 */
export interface SpanSamplingRule {
  readonly service?: Pattern
  readonly name?: Pattern
  /** From 0 to 1. Default 1. */
  readonly sampleRate?: number
  /** Spans this rule keeps per second at most. Default: no limit. */
  readonly maxPerSecond?: number
}

/** How a list of rules is read. */
export interface RuleSource {
  /** JSON from a variable: snake_case rate fields, no RegExps. */
  readonly json: boolean
  /** Trace rules (with `resource` and `tags`), not span rules. */
  readonly tags: boolean
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value instanceof RegExp) return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

function readPattern(raw: Record<string, unknown>, key: string, source: RuleSource, problems: string[]): Pattern | undefined {
  const value = raw[key]
  if (value === undefined || value === null) return undefined
  if (typeof value === 'string') return value
  if (!source.json && value instanceof RegExp) return value
  problems.push(`${key} ${describe(value)} is not ${source.json ? 'a string' : 'a string or a RegExp'}`)
  return undefined
}

function readTags(raw: Record<string, unknown>, source: RuleSource, problems: string[]): Record<string, Pattern> | undefined {
  const value = raw.tags
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'object' || Array.isArray(value) || value instanceof RegExp) {
    problems.push(`tags ${describe(value)} is not an object of tag patterns`)
    return undefined
  }
  const tags: Record<string, Pattern> = {}
  for (const [key, pattern] of Object.entries(value as Record<string, unknown>)) {
    if (typeof pattern === 'string' || (!source.json && pattern instanceof RegExp)) tags[key] = pattern
    // Tag values in rules are often written as numbers (`"http.status_code": 500`); they match as text.
    else if (typeof pattern === 'number' && Number.isFinite(pattern)) tags[key] = String(pattern)
    else problems.push(`tags.${key} ${describe(pattern)} is not ${source.json ? 'a string' : 'a string or a RegExp'}`)
  }
  return tags
}

function readNumber(raw: Record<string, unknown>, key: string, rate: boolean, problems: string[]): number | undefined {
  const value = raw[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || (rate && (value < 0 || value > 1))) {
    problems.push(`${key} ${describe(value)} is not ${rate ? 'a number from 0 to 1' : 'a number'}`)
    return undefined
  }
  return value
}

const JSON_SPELLING: Readonly<Record<string, string>> = { sampleRate: 'sample_rate', maxPerSecond: 'max_per_second' }
const OPTION_SPELLING: Readonly<Record<string, string>> = { sample_rate: 'sampleRate', max_per_second: 'maxPerSecond' }

/** One rule read and checked; `problems` lists what is wrong with it (the rule is then not used). */
function readRule(raw: unknown, source: RuleSource): { rule: SamplingRule; problems: string[] } {
  const problems: string[] = []
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { rule: {}, problems: [`${describe(raw)} is not an object`] }
  }
  const record = raw as Record<string, unknown>
  const rule: {
    service?: Pattern
    name?: Pattern
    resource?: Pattern
    tags?: Record<string, Pattern>
    sampleRate?: number
    maxPerSecond?: number
  } = {}
  const service = readPattern(record, 'service', source, problems)
  if (service !== undefined) rule.service = service
  const name = readPattern(record, 'name', source, problems)
  if (name !== undefined) rule.name = name
  if (source.tags) {
    const resource = readPattern(record, 'resource', source, problems)
    if (resource !== undefined) rule.resource = resource
    const tags = readTags(record, source, problems)
    if (tags !== undefined) rule.tags = tags
  }
  // The other spelling would otherwise be ignored without a word, leaving the rule at rate 1.
  const misspelled = source.json ? JSON_SPELLING : OPTION_SPELLING
  for (const key of Object.keys(misspelled)) {
    if (record[key] !== undefined) problems.push(`${key} is spelled ${misspelled[key]} here`)
  }
  const sampleRate = readNumber(record, source.json ? 'sample_rate' : 'sampleRate', true, problems)
  rule.sampleRate = sampleRate ?? 1
  const maxPerSecond = readNumber(record, source.json ? 'max_per_second' : 'maxPerSecond', false, problems)
  if (maxPerSecond !== undefined) rule.maxPerSecond = maxPerSecond
  return { rule, problems }
}

/**
 * Reads a list of rules. Rules with a problem are left out and described in `problems` (one line per
 * rule, numbered from 0), so the caller can warn once for an environment variable or throw for an option.
 */
export function readRules(list: unknown, source: RuleSource): { rules: SamplingRule[]; problems: string[] } {
  if (!Array.isArray(list)) return { rules: [], problems: ['not an array of rules'] }
  const rules: SamplingRule[] = []
  const problems: string[] = []
  for (let i = 0; i < list.length; i++) {
    const read = readRule(list[i], source)
    if (read.problems.length === 0) rules.push(read.rule)
    else problems.push(`rule ${i}: ${read.problems.join(', ')}`)
  }
  return { rules, problems }
}

/** The subject a tag matcher sees: the span's own tag, else the tracer's global tags (env, version, DD_TAGS). */
function tagValue(span: CoreSpan, key: string, globalTags: Readonly<Record<string, string>>): string | number | undefined {
  const text = span.meta[key]
  if (typeof text === 'string') return text
  const number = span.metrics[key]
  if (typeof number === 'number') return number
  const global = globalTags[key]
  return typeof global === 'string' ? global : undefined
}

/** A trace rule compiled once: matchers, the keep threshold of its rate and its own limiter. */
export class CompiledSamplingRule {
  readonly sampleRate: number
  readonly #threshold: bigint
  readonly #service: Matcher
  readonly #name: Matcher
  readonly #resource: Matcher
  readonly #tagKeys: readonly string[]
  readonly #tagMatchers: readonly Matcher[]
  readonly #limiter: RateLimiter | undefined

  constructor(rule: SamplingRule, now?: () => number) {
    this.sampleRate = rule.sampleRate ?? 1
    this.#threshold = keepThreshold(this.sampleRate)
    this.#service = compilePattern(rule.service)
    this.#name = compilePattern(rule.name)
    this.#resource = compilePattern(rule.resource)
    const keys: string[] = []
    const matchers: Matcher[] = []
    for (const [key, pattern] of Object.entries(rule.tags ?? {})) {
      const matcher = compilePattern(pattern)
      if (matcher.matchesAll) continue
      keys.push(key)
      matchers.push(matcher)
    }
    this.#tagKeys = keys
    this.#tagMatchers = matchers
    this.#limiter = rule.maxPerSecond === undefined ? undefined : new RateLimiter({ perSecond: rule.maxPerSecond, now })
  }

  matches(span: CoreSpan, globalTags: Readonly<Record<string, string>>): boolean {
    if (!this.#service.matches(span.service)) return false
    if (!this.#name.matches(span.name)) return false
    if (!this.#resource.matchesAll && !this.#resource.matches(span.resource !== '' ? span.resource : span.name)) return false
    const keys = this.#tagKeys
    for (let i = 0; i < keys.length; i++) {
      if (!this.#tagMatchers[i].matches(tagValue(span, keys[i], globalTags))) return false
    }
    return true
  }

  /** The rule's own verdict: the keep test at its rate, then its own per-second limit. */
  sample(traceId: bigint): boolean {
    if (!keeps(traceId, this.#threshold)) return false
    return this.#limiter === undefined || this.#limiter.allow()
  }
}
