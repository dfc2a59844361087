/**
 * Level names and their numbers. The numbers are pino's, so a threshold reads the same in both; the line
 * carries the name, which Datadog's status remapper understands without a pipeline (pino's numbers need
 * one). `silent` writes nothing.
 */
export const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const

export type LevelName = keyof typeof LEVELS

/** The levels that have a log method, lowest first; their index is the level's slot in per-level tables. */
export const METHOD_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const

export type MethodLevel = (typeof METHOD_LEVELS)[number]

const NAMES = Object.keys(LEVELS) as LevelName[]
const NAME_LIST = NAMES.map((name) => `"${name}"`).join(', ')

export function isLevelName(value: unknown): value is LevelName {
  return typeof value === 'string' && Object.hasOwn(LEVELS, value)
}

/** An option given in code: a wrong value is a programming error, reported at once. */
export function levelOption(option: string, value: unknown): LevelName {
  if (isLevelName(value)) return value
  throw new TypeError(`datadog-apm: option ${option} must be one of ${NAME_LIST}, got ${describe(value)}`)
}

/**
 * `LOG_LEVEL` from the environment: case and surrounding blanks are forgiven, as operators type them.
 * `DD_LOG_LEVEL` is deliberately not read: it is the tracer's own debug level, not the app's.
 */
export function levelFromEnv(value: string | undefined, warn: (message: string) => void): LevelName {
  if (value === undefined || value.trim() === '') return 'info'
  const name = value.trim().toLowerCase()
  if (isLevelName(name)) return name
  warn(`LOG_LEVEL=${JSON.stringify(value)} is not one of ${NAME_LIST}; using "info"`)
  return 'info'
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'symbol' || typeof value === 'function') return typeof value
  return String(value)
}
