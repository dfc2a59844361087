/** DogStatsD metric types, by the letters after the value. */
export const METRIC_TYPES = { c: 'count', g: 'gauge', h: 'histogram', d: 'distribution', ms: 'timing', s: 'set' } as const

export type MetricTypeName = (typeof METRIC_TYPES)[keyof typeof METRIC_TYPES]

/** One metric line as DogStatsD reads it. */
export interface MetricLine {
  readonly name: string
  readonly type: MetricTypeName
  /** One value, or several (`name:1:2:3|d`, protocol 1.1). Sets carry 1 per line. */
  readonly values: readonly number[]
  /** `@rate`; 1 when absent. */
  readonly sampleRate: number
  /** In the order written; duplicates kept. */
  readonly tags: readonly string[]
  /** `|c:` field. */
  readonly container: string | undefined
  /** `|T` field, epoch seconds. */
  readonly timestamp: number | undefined
}

export type ParseResult = { readonly ok: true; readonly metric: MetricLine } | { readonly ok: false; readonly reason: string } | { readonly ok: 'skipped'; readonly kind: 'event' | 'service-check' }

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/

/**
 * Parses one line by the DogStatsD protocol (`name:value[:value...]|type[|@rate][|#tags][|c:id][|T ts]`),
 * refusing what the agent's parser refuses: no type, an unknown type, a value that is not a number (sets
 * excepted), a rate outside (0, 1]. Events (`_e{`) and service checks (`_sc|`) are recognised and skipped.
 */
export function parseMetricLine(line: string): ParseResult {
  if (line.startsWith('_e{')) return { ok: 'skipped', kind: 'event' }
  if (line.startsWith('_sc|')) return { ok: 'skipped', kind: 'service-check' }
  const fields = line.split('|')
  const head = fields[0]
  const colon = head.indexOf(':')
  if (colon <= 0) return { ok: false, reason: 'no name:value' }
  if (fields.length < 2) return { ok: false, reason: 'no |type' }
  const name = head.slice(0, colon)
  const typeLetter = fields[1]
  const type = Object.hasOwn(METRIC_TYPES, typeLetter) ? METRIC_TYPES[typeLetter as keyof typeof METRIC_TYPES] : undefined
  if (type === undefined) return { ok: false, reason: `unknown type ${JSON.stringify(typeLetter)}` }
  const rawValues = head.slice(colon + 1).split(':')
  let values: number[]
  if (type === 'set') {
    if (rawValues.length !== 1 || rawValues[0] === '') return { ok: false, reason: 'a set takes one value' }
    values = [1]
  } else {
    if (rawValues.length > 1 && type !== 'distribution' && type !== 'histogram' && type !== 'timing') {
      return { ok: false, reason: `several values in one ${type}` }
    }
    values = []
    for (const raw of rawValues) {
      if (!NUMBER.test(raw)) return { ok: false, reason: `value ${JSON.stringify(raw)} is not a number` }
      values.push(Number(raw))
    }
  }
  let sampleRate = 1
  let tags: string[] = []
  let container: string | undefined
  let timestamp: number | undefined
  for (let i = 2; i < fields.length; i++) {
    const field = fields[i]
    if (field.startsWith('@')) {
      sampleRate = Number(field.slice(1))
      if (!(sampleRate > 0 && sampleRate <= 1)) return { ok: false, reason: `sample rate ${JSON.stringify(field)} is not in (0, 1]` }
    } else if (field.startsWith('#')) {
      tags = field.length > 1 ? field.slice(1).split(',').filter((tag) => tag !== '') : []
    } else if (field.startsWith('c:')) {
      container = field.slice(2)
    } else if (field.startsWith('T')) {
      timestamp = Number(field.slice(1))
      if (!Number.isInteger(timestamp) || timestamp <= 0) return { ok: false, reason: `timestamp ${JSON.stringify(field)} is not epoch seconds` }
    }
    // Other fields (`e:` external data, later additions) are ignored, as the agent does with ones it does not know.
  }
  return { ok: true, metric: { name, type, values, sampleRate, tags, container, timestamp } }
}
