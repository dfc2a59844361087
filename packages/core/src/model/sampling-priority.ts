/** Datadog's sampling priorities (`_sampling_priority_v1`, `x-datadog-sampling-priority`). */
export const SamplingPriority = {
  USER_REJECT: -1,
  AUTO_REJECT: 0,
  AUTO_KEEP: 1,
  USER_KEEP: 2
} as const

export type SamplingPriorityValue = (typeof SamplingPriority)[keyof typeof SamplingPriority]

/** Decision makers, sent as `_dd.p.dm=-<n>` with a kept trace. */
export const DecisionMaker = {
  DEFAULT: '-0',
  AGENT_RATE: '-1',
  RULE: '-3',
  MANUAL: '-4'
} as const
