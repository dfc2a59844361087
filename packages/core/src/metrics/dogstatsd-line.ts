/** DogStatsD metric types, as the letter after the value. */
export const MetricType = {
  COUNT: 'c',
  GAUGE: 'g',
  HISTOGRAM: 'h',
  DISTRIBUTION: 'd'
} as const

export type MetricTypeLetter = (typeof MetricType)[keyof typeof MetricType]

// The characters Datadog keeps in a tag; dd-trace replaces the others in its global tag values.
const UNSAFE_TAG_VALUE = /[^a-z0-9_:./-]/gi
// What would end a line, a field or a tag list early: a name or tag holding one would turn into
// another metric, or into garbage the agent drops with the whole packet.
const LINE_BREAKERS_IN_NAME = /[\n\r|:#@,]/g
const LINE_BREAKERS_IN_TAG = /[\n\r|,]/g

/** A global tag value as dd-trace writes it: characters outside `[a-z0-9_:./-]` become `_`. */
export function sanitizeTagValue(value: string): string {
  return value.replace(UNSAFE_TAG_VALUE, '_')
}

/** A metric name from user code, with what would break the line replaced by `_`. */
export function safeMetricName(name: string): string {
  return name.replace(LINE_BREAKERS_IN_NAME, '_')
}

/** A `key:value` tag from user code, with what would break the line replaced by `_`. */
export function safeTag(tag: string): string {
  return tag.replace(LINE_BREAKERS_IN_TAG, '_')
}

/**
 * What every line ends with, computed once: the global tags (`|#a:b,c:d`, or nothing) to which a
 * metric's own tags are appended, then `|c:<entity id>` when a container is known.
 */
export interface LineSuffix {
  readonly tagPrefix: string
  readonly entity: string
}

export function lineSuffix(globalTags: readonly string[], entityId: string | undefined): LineSuffix {
  return {
    tagPrefix: globalTags.length > 0 ? `|#${globalTags.join(',')}` : '',
    entity: entityId === undefined ? '' : `|c:${entityId}`
  }
}

/**
 * One DogStatsD line, `name:value|type|#global,tags|c:entity\n`, as dd-trace writes it: the global tags
 * first, then the metric's own.
 */
export function formatLine(name: string, value: number, type: MetricTypeLetter, tags: string, suffix: LineSuffix): string {
  let line = `${name}:${value}|${type}`
  if (tags !== '') line += suffix.tagPrefix === '' ? `|#${tags}` : `${suffix.tagPrefix},${tags}`
  else line += suffix.tagPrefix
  return `${line}${suffix.entity}\n`
}
