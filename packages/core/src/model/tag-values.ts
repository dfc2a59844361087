/**
 * The agent cuts meta values past this many UTF-8 bytes and marks the cut with `...`; holding more
 * would only cost memory.
 */
export const MAX_META_VALUE_LENGTH = 25_000
/** Nested objects given to `setTag` are flattened this deep; deeper values are dropped. */
const MAX_TAG_DEPTH = 4

/** Any value as tag text; `String` is what dd-trace uses too, `[object Object]` included. */
export function text(value: unknown): string {
  return typeof value === 'string' ? value : String(value)
}

/**
 * A tag value cut as the agent cuts it, `...` included. The agent counts bytes where this counts
 * characters: a value cut here is still over the byte limit, so the encoder cuts it again by bytes to
 * the same result the agent would reach from the whole value (the first 25,000 bytes lie within the
 * first 25,000 characters).
 */
export function truncate(value: string): string {
  return value.length > MAX_META_VALUE_LENGTH ? value.slice(0, MAX_META_VALUE_LENGTH) + '...' : value
}

/**
 * Stores a tag the way Datadog tracers type it: strings to meta, numbers to metrics, booleans to metrics
 * as 0/1, bigints and dates as text, plain objects and arrays flattened to dotted keys.
 */
export function addTag(meta: Record<string, string>, metrics: Record<string, number>, key: string, value: unknown, depth: number): void {
  switch (typeof value) {
    case 'string':
      meta[key] = truncate(value)
      return
    case 'number':
      if (Number.isFinite(value)) metrics[key] = value
      return
    case 'boolean':
      metrics[key] = value ? 1 : 0
      return
    case 'bigint':
      meta[key] = value.toString()
      return
    case 'object':
      if (value === null || depth >= MAX_TAG_DEPTH) return
      if (value instanceof Date) {
        meta[key] = Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString()
        return
      }
      try {
        for (const sub of Object.keys(value)) {
          addTag(meta, metrics, `${key}.${sub}`, (value as Record<string, unknown>)[sub], depth + 1)
        }
      } catch {
        // Throwing getters or revoked proxies in a tag value are skipped, never thrown into the app.
      }
      return
    default:
      // undefined, functions and symbols carry no tag.
      return
  }
}
