/** `DD_TAGS`: `key:value` pairs separated by commas, or by spaces when there is no comma. */
export function parseTags(text: string): Record<string, string> {
  const tags: Record<string, string> = {}
  const parts = text.includes(',') ? text.split(',') : text.split(' ')
  for (const part of parts) {
    const item = part.trim()
    if (item === '') continue
    const colon = item.indexOf(':')
    const key = (colon === -1 ? item : item.slice(0, colon)).trim()
    if (key === '') continue
    tags[key] = colon === -1 ? '' : item.slice(colon + 1).trim()
  }
  return tags
}

/** OpenTelemetry resource attributes that are Datadog's unified service tags under another name. */
const RENAMED: Readonly<Record<string, string>> = {
  'deployment.environment.name': 'env',
  'deployment.environment': 'env',
  'service.name': 'service',
  'service.version': 'version'
}

/**
 * `OTEL_RESOURCE_ATTRIBUTES` as tags, the way dd-trace reads it: `key=value` pairs separated by commas
 * (values are taken as written, not percent-decoded), and the attributes that name the service,
 * environment and version renamed to `service`, `env` and `version` (`deployment.environment.name`
 * before the older `deployment.environment`).
 */
export function parseResourceAttributes(text: string): Record<string, string> {
  const tags: Record<string, string> = {}
  let environment: string | undefined
  for (const part of text.split(',')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    const key = part.slice(0, eq).trim()
    const value = part.slice(eq + 1).trim()
    if (key === '') continue
    if (key === 'deployment.environment.name' || (key === 'deployment.environment' && environment === undefined)) environment = value
    tags[Object.hasOwn(RENAMED, key) ? RENAMED[key] : key] = value
  }
  if (environment !== undefined) tags.env = environment
  return tags
}
