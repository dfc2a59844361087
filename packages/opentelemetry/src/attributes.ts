import type { Span } from '@datadog-apm/core'

/**
 * Sets OpenTelemetry attributes as dd-trace's bridge does: strings as string tags, numbers as numeric
 * ones, booleans as numbers 0/1, arrays (and anything else) dropped; `http.response.status_code` also
 * as `http.status_code` (a string); `analytics.event` as the metric `_dd1.sr.eausr`. The keys that steer
 * a span (`service.name`, `resource.name`, `span.type`, `manual.keep`, ...) steer it here too.
 */
export function setAttribute(span: Span, key: string, value: unknown): void {
  if (typeof key !== 'string') return
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return
  if (key === 'analytics.event') {
    span.setTag('_dd1.sr.eausr', value === false || value === 0 ? 0 : 1)
    return
  }
  if (key === 'http.response.status_code') span.setTag('http.status_code', String(value))
  span.setTag(key, value)
}

export function setAttributes(span: Span, attributes: unknown): void {
  if (attributes === null || typeof attributes !== 'object') return
  for (const key of Object.keys(attributes)) setAttribute(span, key, (attributes as Record<string, unknown>)[key])
}
