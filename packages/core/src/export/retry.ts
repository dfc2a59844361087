/** When and how often a failed payload is sent again. */
export interface RetryOptions {
  /** How long after its first attempt a payload may still be retried; 0 never retries. */
  readonly deadlineMs: number
  /** The first wait; each next one doubles. */
  readonly baseDelayMs: number
  /** No wait is longer than this. */
  readonly maxDelayMs: number
  /** Jitter source in [0, 1); Math.random by default, a fixed one in tests. */
  readonly random?: () => number
}

/** What to do with a payload after an answer (or none). */
export const Verdict = {
  sent: 'sent',
  /** Network error, timeout, 408, 429, 5xx: try again after a backoff while the deadline allows. */
  retry: 'retry',
  /** 413: the agent's limit is lower than ours; halve and send the halves. */
  split: 'split',
  /** 404 or 415 on v0.5: the agent does not speak it; send the same traces as v0.4. */
  downgrade: 'downgrade',
  /** 400 and any other status: retrying cannot help. */
  drop: 'drop'
} as const
export type VerdictValue = (typeof Verdict)[keyof typeof Verdict]

/** The verdict on an HTTP status for a payload sent in `protocol`; `undefined` status = no answer at all. */
export function verdictFor(status: number | undefined, protocol: '0.4' | '0.5'): VerdictValue {
  if (status === undefined) return Verdict.retry
  if (status >= 200 && status < 300) return Verdict.sent
  if (status === 408 || status === 429 || status >= 500) return Verdict.retry
  if (status === 413) return Verdict.split
  if ((status === 404 || status === 415) && protocol === '0.5') return Verdict.downgrade
  return Verdict.drop
}

/**
 * Exponential backoff with "equal jitter": the n-th wait is between half and all of
 * min(max, base·2^(n-1)), so many tracers failing together do not come back in step, and a wait never
 * collapses to zero.
 */
export function backoffMs(attempt: number, options: RetryOptions): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1))
  const random = options.random ?? Math.random
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}
