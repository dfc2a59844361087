/** The environment as the resolver reads it: `process.env`, or a plain object in tests. */
export type Env = Readonly<Record<string, string | undefined>>

/** Reports a variable that cannot be used as it is: one message, naming it. */
export type Warn = (message: string) => void

/** The trimmed value of a variable; undefined when it is unset or blank, which dd-trace treats alike. */
export function envText(env: Env, name: string): string | undefined {
  const value = env[name]
  if (value === undefined) return undefined
  const trimmed = value.trim()
  return trimmed === '' ? undefined : trimmed
}

/** The first of `names` (a variable and its aliases, in order of precedence) that is set, with its value. */
export function envEntry(env: Env, names: readonly string[]): [name: string, value: string] | undefined {
  for (const name of names) {
    const value = envText(env, name)
    if (value !== undefined) return [name, value]
  }
  return undefined
}

/** true/1 or false/0, any case; anything else warns and gives `fallback`. */
export function envBoolean(env: Env, names: readonly string[], fallback: boolean, warn: Warn): boolean {
  const found = envEntry(env, names)
  return found === undefined ? fallback : booleanText(found[0], found[1], fallback, warn)
}

export function booleanText(name: string, text: string, fallback: boolean, warn: Warn): boolean {
  const value = text.toLowerCase()
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  warn(`${name}=${JSON.stringify(text)} is not true or false; using ${fallback}`)
  return fallback
}

/** A whole number from `min` to `max`; anything else warns and gives `fallback`. */
export function envInteger(env: Env, name: string, fallback: number, min: number, max: number, warn: Warn): number {
  const text = envText(env, name)
  if (text === undefined) return fallback
  const value = Number(text)
  if (Number.isInteger(value) && value >= min && value <= max) return value
  warn(`${name}=${JSON.stringify(text)} is not a whole number from ${min} to ${max}; using ${fallback}`)
  return fallback
}

/**
 * dd-trace reads some `OTEL_*` variables as aliases of its own, and warns when a variable and its alias
 * are both set: the Datadog one wins. `ddNames` are the Datadog variable and its own aliases.
 */
export function warnIfBothSet(env: Env, ddNames: readonly string[], otelName: string, warn: Warn, outcome = `${otelName} is ignored`): void {
  const dd = envEntry(env, ddNames)
  if (dd !== undefined && envText(env, otelName) !== undefined) warn(`${dd[0]} and ${otelName} are both set; ${outcome}`)
}
