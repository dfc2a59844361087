/**
 * Every key of an options type, each mapped to true. Declaring a table of names with this type makes the
 * compiler refuse it when the options type gains a key the table lacks (or the table names a key the
 * type does not have), so the list a check warns from cannot drift from the type users write against.
 */
export type OptionNames<T> = { readonly [K in keyof T]-?: true }

/** Where an option that is unknown in one place belongs instead, or what became of it: shown after the key. */
export type OptionHints = Readonly<Record<string, string>>

/** What `checkOptionNames` reports through: a kind to report each key under once, and the message. */
export type ReportOnce = (kind: string, message: string) => void

/** How a check reads a set of options: the full name of a nested one, keys that are not ours, hints. */
export interface CheckScope {
  /** Prefix of nested option names (`propagation.`), so that the message names the whole path. */
  readonly prefix?: string
  /** Keys that belong to someone else and are passed through (Fastify's own register options). */
  readonly ignore?: readonly string[]
  /** Keys known to be wrong here with a better word than a near name (another function's option, a dd-trace name). */
  readonly hints?: OptionHints
}

/**
 * Edit distance with adjacent transpositions (optimal string alignment), so that `serivce` is one edit
 * from `service` rather than two: swapped letters are the commonest typo.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[] = new Array<number>(rows * cols).fill(0)
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[(i - 1) * cols + j] + 1, d[i * cols + j - 1] + 1, d[(i - 1) * cols + j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[(i - 2) * cols + j - 2] + 1)
      d[i * cols + j] = best
    }
  }
  return d[rows * cols - 1]
}

/**
 * The known name nearest to `name`, case ignored; undefined when none is near enough to be a plausible
 * typo (a third of the name's letters, at least two, or one a prefix of the other), so that a key of
 * another library is not answered with an unrelated suggestion. Ties go to the first of `known`.
 */
export function nearestName(name: string, known: Iterable<string>): string | undefined {
  const lower = name.toLowerCase()
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const other = candidate.toLowerCase()
    // A name cut short or run on (`host` for `hostname`, `flushInterval` for `flushIntervalMs`) is as
    // near as a one-letter slip, whatever the length of the missing part.
    const prefix = lower.length >= 3 && other.length >= 3 && (other.startsWith(lower) || lower.startsWith(other))
    const distance = prefix ? 1 : editDistance(lower, other)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined
}

/**
 * Reports each key of `given` that `known` does not have, once per key: the option is ignored, and the
 * message names it and what was probably meant. `where` is what took the options (`createTracer`).
 */
export function checkOptionNames(given: unknown, known: Readonly<Record<string, true>>, where: string, report: ReportOnce, scope: CheckScope = {}): void {
  if (given === null || typeof given !== 'object') return
  const prefix = scope.prefix ?? ''
  for (const key of Object.keys(given)) {
    if (Object.hasOwn(known, key) || scope.ignore?.includes(key) === true) continue
    const hint = scope.hints !== undefined && Object.hasOwn(scope.hints, key) ? scope.hints[key] : undefined
    const near = hint === undefined ? nearestName(key, Object.keys(known)) : undefined
    const advice = hint !== undefined ? `; ${hint}` : near === undefined ? '' : `; did you mean ${prefix}${near}?`
    report(`option:${where}:${prefix}${key}`, `${where}: unknown option ${prefix}${key} is ignored${advice}`)
  }
}
