import { DecisionMaker, SamplingPriority } from '../model/sampling-priority.js'
import type { CoreSpan, TraceState } from '../model/span.js'
import { keepThreshold, keeps } from './keep-test.js'
import { RateLimiter } from './rate-limiter.js'
import { CompiledSamplingRule, type SamplingRule } from './sampling-rules.js'

/** Options of the priority sampler; the tracer fills them from its config. */
export interface PrioritySamplerOptions {
  /** `env` of the `service:<svc>,env:<env>` keys of the agent's rates. Default ''. */
  readonly env?: string | undefined
  /** Tried in order; the first that matches the local root decides. Default none. */
  readonly rules?: readonly SamplingRule[]
  /** A catch-all rule after `rules` (`DD_TRACE_SAMPLE_RATE`). Default none: the agent's rates decide. */
  readonly sampleRate?: number | undefined
  /** Traces kept by rules per second at most; below 0 no limit, 0 none. Default 100. */
  readonly rateLimit?: number
  /** Tags every span gets from the tracer (env, version, DD_TAGS), for rules on tags. Default none. */
  readonly globalTags?: Readonly<Record<string, string>>
  /** Milliseconds clock for the limiters. Default `performance.now`. */
  readonly now?: () => number
}

/** What the agent's rate for one service resolves to. */
interface AgentRate {
  readonly rate: number
  readonly threshold: bigint
  readonly decisionMaker: string
}

const DEFAULT_KEY = 'service:,env:'
/** No rate from the agent yet, or none for this service and no default either: keep, mechanism 0. */
const NO_AGENT_RATE: AgentRate = { rate: 1, threshold: keepThreshold(1), decisionMaker: DecisionMaker.DEFAULT }
/** Services seen are few in practice; past this many the per-service cache is started over. */
const MAX_CACHED_SERVICES = 1000

/**
 * Decides a trace's sampling priority the way Datadog tracers do: the first matching
 * rule (USER_KEEP or USER_REJECT, mechanism 3, behind the rate limiter), else the agent's rate for the
 * root's service (AUTO_KEEP or AUTO_REJECT, mechanism 1, or 0 with no rate from the agent). Manual and
 * upstream decisions arrive with the priority already set and are left alone. The rates applied go on
 * the local root's metrics (`_dd.rule_psr`, `_dd.limit_psr`, `_dd.agent_psr`), so the encoder writes them
 * as any other metric.
 */
export class PrioritySampler {
  readonly #env: string
  readonly #rules: readonly CompiledSamplingRule[]
  readonly #limiter: RateLimiter
  readonly #globalTags: Readonly<Record<string, string>>
  #rates = new Map<string, AgentRate>()
  #defaultRate: AgentRate = NO_AGENT_RATE
  // Keyed by the service string, usually the same string object for every trace, so the lookup hashes
  // nothing; building `service:<svc>,env:<env>` per trace would.
  #byService = new Map<string, AgentRate>()

  constructor(options: PrioritySamplerOptions = {}) {
    this.#env = options.env ?? ''
    const rules = (options.rules ?? []).map((rule) => new CompiledSamplingRule(rule, options.now))
    if (options.sampleRate !== undefined) rules.push(new CompiledSamplingRule({ sampleRate: options.sampleRate }, options.now))
    this.#rules = rules
    this.#limiter = new RateLimiter({ perSecond: options.rateLimit ?? 100, now: options.now })
    this.#globalTags = options.globalTags ?? {}
  }

  /** Takes the agent's latest `rate_by_service` (values already checked to be from 0 to 1). */
  updateRates(rateByService: Readonly<Record<string, number>>): void {
    const rates = new Map<string, AgentRate>()
    for (const key of Object.keys(rateByService)) {
      const rate = rateByService[key]
      rates.set(key, { rate, threshold: keepThreshold(rate), decisionMaker: DecisionMaker.AGENT_RATE })
    }
    this.#rates = rates
    this.#defaultRate = rates.get(DEFAULT_KEY) ?? NO_AGENT_RATE
    this.#byService = new Map()
  }

  /** The rate the agent asks for the traces of `service` (1 when it sent none). */
  agentRate(service: string): number {
    return this.#agentRate(service).rate
  }

  /**
   * Decides, unless the trace already carries a decision (manual, upstream, or made earlier). `root` is
   * the trace's local root span: rules match against it and the applied rates are written on it.
   */
  decide(trace: TraceState, root: CoreSpan): void {
    if (trace.samplingPriority !== undefined) return
    const metrics = root.metrics
    const rules = this.#rules
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]
      if (!rule.matches(root, this.#globalTags)) continue
      metrics['_dd.rule_psr'] = rule.sampleRate
      let keep = rule.sample(trace.traceId)
      if (keep) {
        keep = this.#limiter.allow()
        metrics['_dd.limit_psr'] = this.#limiter.effectiveRate()
      }
      this.#set(trace, keep ? SamplingPriority.USER_KEEP : SamplingPriority.USER_REJECT, DecisionMaker.RULE)
      return
    }
    const agent = this.#agentRate(root.service)
    metrics['_dd.agent_psr'] = agent.rate
    this.#set(trace, keeps(trace.traceId, agent.threshold) ? SamplingPriority.AUTO_KEEP : SamplingPriority.AUTO_REJECT, agent.decisionMaker)
  }

  #set(trace: TraceState, priority: number, decisionMaker: string): void {
    trace.samplingPriority = priority
    // `_dd.p.dm` travels with kept traces only; one that came from upstream stays.
    trace.decisionMaker = priority > 0 ? (trace.decisionMaker ?? decisionMaker) : undefined
  }

  #agentRate(service: string): AgentRate {
    let rate = this.#byService.get(service)
    if (rate === undefined) {
      rate = this.#rates.get(`service:${service},env:${this.#env}`) ?? this.#defaultRate
      if (this.#byService.size >= MAX_CACHED_SERVICES) this.#byService = new Map()
      this.#byService.set(service, rate)
    }
    return rate
  }
}
