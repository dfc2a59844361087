import type { Diagnostics } from '../base/diagnostics.js'

/**
 * The `rate_by_service` of a trace answer, with every rate a number in [0, 1]; undefined when the body
 * has none (an empty body, `{}`, or something that is not JSON).
 */
export function parseRates(body: string, diagnostics: Diagnostics): Record<string, number> | undefined {
  if (body === '') return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    diagnostics.debug(`the agent answered with a body that is not JSON: ${body.slice(0, 200)}`)
    return undefined
  }
  const rates = (parsed as { rate_by_service?: unknown } | null)?.rate_by_service
  if (rates === null || typeof rates !== 'object') return undefined
  const clean: Record<string, number> = {}
  for (const [key, value] of Object.entries(rates)) {
    if (typeof value === 'number' && value >= 0 && value <= 1) clean[key] = value
  }
  return clean
}
