/**
 * How one registered path reads in `http.route`: strings as written, RegExps as `(/source/flags)` the way
 * dd-trace writes them, so dashboards keep working after a move from dd-trace.
 */
export function patternText(path: unknown): string | undefined {
  if (typeof path === 'string') return path
  if (path instanceof RegExp) return `(${String(path)})`
  return undefined
}

/**
 * Joins mount patterns and the route pattern into one route. `/` and empty parts add nothing, a trailing
 * slash is dropped (Express matches `/users` and `/users/` alike), and nothing at all reads as `/`.
 */
export function joinRoute(parts: readonly string[]): string {
  let out = ''
  for (let part of parts) {
    if (part === '' || part === '/') continue
    if (part.length > 1 && part.endsWith('/')) part = part.slice(0, -1)
    out += part[0] === '/' || part[0] === '(' ? part : '/' + part
  }
  return out === '' ? '/' : out
}

function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/**
 * Rebuilds the pattern of a mount path from what it matched, for router versions that keep no pattern
 * (router < 2.3, Express 5.0 and 5.1): each segment equal to a parameter's value becomes `:name`, a run
 * of segments equal to a wildcard's value becomes `*name`. A parameter that is only part of a segment
 * (`/:from-:to`) stays concrete; the README says so.
 */
export function patternFromMatch(matched: string, params: Readonly<Record<string, unknown>>): string {
  const keys = Object.keys(params)
  if (keys.length === 0) return matched
  const segments = matched.split('/')
  const used = new Set<string>()
  for (const key of keys) {
    const value = params[key]
    if (Array.isArray(value)) {
      const parts = value as unknown[]
      if (parts.length === 0) continue
      for (let i = 1; i + parts.length <= segments.length; i++) {
        let equal = true
        for (let j = 0; j < parts.length && equal; j++) equal = decodeSegment(segments[i + j]) === parts[j]
        if (!equal) continue
        segments.splice(i, parts.length, `*${key}`)
        used.add(key)
        break
      }
    }
  }
  for (let i = 1; i < segments.length; i++) {
    const segment = decodeSegment(segments[i])
    if (segment === '' || segments[i].startsWith('*')) continue
    for (const key of keys) {
      if (!used.has(key) && params[key] === segment) {
        segments[i] = `:${key}`
        used.add(key)
        break
      }
    }
  }
  return segments.join('/')
}
