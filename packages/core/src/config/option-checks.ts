// Checks of programmatic options. A bad option is a TypeError naming it, thrown by createTracer: unlike
// a variable, the code that passed it can be fixed.

export function optionInteger(name: string, value: number | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`datadog-apm: option ${name} must be a whole number from ${min} to ${max}, got ${String(value)}`)
  }
  return value
}

export function optionBoolean(name: string, value: boolean | undefined): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  throw new TypeError(`datadog-apm: option ${name} must be true or false, got ${String(value)}`)
}

export function optionString(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`datadog-apm: option ${name} must be a non-empty string, got ${JSON.stringify(value)}`)
  }
  return value
}

/** A value as an error message shows it: strings quoted, objects as JSON where they can be. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null || typeof value !== 'object') return String(value)
  try {
    return JSON.stringify(value)
  } catch {
    return 'an object'
  }
}
