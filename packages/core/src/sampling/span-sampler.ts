import type { CoreSpan } from '../model/span.js'
import { compilePattern, type Matcher } from './glob.js'
import { keepThreshold, keeps } from './keep-test.js'
import { RateLimiter } from './rate-limiter.js'
import type { SpanSamplingRule } from './sampling-rules.js'

/** `_dd.span_sampling.mechanism`: the span was kept by a single-span rule. */
export const SPAN_SAMPLING_MECHANISM = 8

class CompiledSpanRule {
  readonly sampleRate: number
  readonly maxPerSecond: number | undefined
  readonly #threshold: bigint
  readonly #service: Matcher
  readonly #name: Matcher
  readonly #limiter: RateLimiter | undefined

  constructor(rule: SpanSamplingRule, now: (() => number) | undefined) {
    this.sampleRate = rule.sampleRate ?? 1
    this.maxPerSecond = rule.maxPerSecond
    this.#threshold = keepThreshold(this.sampleRate)
    this.#service = compilePattern(rule.service)
    this.#name = compilePattern(rule.name)
    this.#limiter = rule.maxPerSecond === undefined ? undefined : new RateLimiter({ perSecond: rule.maxPerSecond, now })
  }

  matches(span: CoreSpan): boolean {
    return this.#service.matches(span.service) && this.#name.matches(span.name)
  }

  // The keep test runs on the span id: spans of one trace are sampled independently of each other.
  sample(span: CoreSpan): boolean {
    if (!keeps(span.spanId, this.#threshold)) return false
    return this.#limiter === undefined || this.#limiter.allow()
  }
}

/**
 * Single-span sampling (DD_SPAN_SAMPLING_RULES): in a trace the tracer does not keep, spans matching a rule get
 * `_dd.span_sampling.*` metrics, and the agent keeps those spans although it drops the trace. Each span
 * is looked at once, when its chunk leaves; the first rule that matches it decides.
 */
export class SpanSampler {
  readonly #rules: readonly CompiledSpanRule[]

  constructor(rules: readonly SpanSamplingRule[], now?: () => number) {
    this.#rules = rules.map((rule) => new CompiledSpanRule(rule, now))
  }

  get empty(): boolean {
    return this.#rules.length === 0
  }

  /** Marks the spans of a chunk of a rejected trace that the rules keep. */
  sampleChunk(chunk: readonly CoreSpan[]): void {
    const rules = this.#rules
    for (let s = 0; s < chunk.length; s++) {
      const span = chunk[s]
      for (let r = 0; r < rules.length; r++) {
        const rule = rules[r]
        if (!rule.matches(span)) continue
        if (rule.sample(span)) {
          const metrics = span.metrics
          metrics['_dd.span_sampling.mechanism'] = SPAN_SAMPLING_MECHANISM
          metrics['_dd.span_sampling.rule_rate'] = rule.sampleRate
          if (rule.maxPerSecond !== undefined) metrics['_dd.span_sampling.max_per_second'] = rule.maxPerSecond
        }
        break
      }
    }
  }
}
