/**
 * Express 4 keeps no pattern on a mount layer, only the RegExp that path-to-regexp 0.1 built from it.
 * That output has a small fixed grammar, so it can be read back into the pattern; the caller then
 * proves the result by building the RegExp again with Express's own Layer and comparing the sources,
 * which turns any gap in this reader into a visible fallback instead of a wrong route.
 */

interface KeyLike {
  readonly name: string | number
}

// The suffixes path-to-regexp 0.1 appends: non-strict and strict, mount (end: false) and route (end: true).
const SUFFIXES = ['\\/?(?=\\/|$)', '(?=\\/|$)', '\\/?$', '$'] as const
// `RegExp#source` escapes `/` outside character classes only (V8), so both spellings are accepted.
const DEFAULT_CAPTURES = new Set(['[^/]+?', '[^/\\.]+?', '[^\\/]+?', '[^\\/\\.]+?'])
const STAR_GROUPS = new Set(['((?:[/].+?)?)', '((?:[/\\.].+?)?)', '((?:[\\/].+?)?)', '((?:[\\/\\.].+?)?)'])

/** Index of the `)` closing the group opened at `open`, or -1. */
function closingParen(source: string, open: number): number {
  let depth = 0
  for (let i = open; i < source.length; i++) {
    const c = source[i]
    if (c === '\\') {
      i++
    } else if (c === '[') {
      i = closingBracket(source, i)
      if (i === -1) return -1
    } else if (c === '(') {
      depth++
    } else if (c === ')') {
      depth--
      if (depth === 0) return i
    }
  }
  return -1
}

function closingBracket(source: string, open: number): number {
  for (let i = open + 1; i < source.length; i++) {
    if (source[i] === '\\') i++
    else if (source[i] === ']') return i
  }
  return -1
}

/** Capturing groups in `source` (each one took a key in path-to-regexp). */
function countCaptures(source: string): number {
  let count = 0
  for (let i = 0; i < source.length; i++) {
    const c = source[i]
    if (c === '\\') i++
    else if (c === '[') {
      const end = closingBracket(source, i)
      if (end === -1) return count
      i = end
    } else if (c === '(' && source[i + 1] !== '?') count++
  }
  return count
}

function splitAlternatives(source: string): string[] | undefined {
  const out: string[] = []
  let start = 0
  let depth = 0
  for (let i = 0; i < source.length; i++) {
    const c = source[i]
    if (c === '\\') i++
    else if (c === '[') {
      i = closingBracket(source, i)
      if (i === -1) return undefined
    } else if (c === '(') depth++
    else if (c === ')') depth--
    else if (c === '|' && depth === 0) {
      out.push(source.slice(start, i))
      start = i + 1
    }
  }
  out.push(source.slice(start))
  return out
}

class Reader {
  readonly #keys: readonly KeyLike[]
  #key = 0

  constructor(keys: readonly KeyLike[]) {
    this.#keys = keys
  }

  #nextKey(): KeyLike | undefined {
    return this.#keys[this.#key++]
  }

  /** The pattern text of a body (no `^`, no suffix), or undefined when it is not path-to-regexp output. */
  body(source: string): string | undefined {
    let out = ''
    let i = 0
    while (i < source.length) {
      const c = source[i]
      if (c === '\\') {
        const next = source[i + 1]
        if (next === undefined) return undefined
        out += next === '/' || next === '.' ? next : c + next
        i += 2
      } else if (c === '[') {
        const end = closingBracket(source, i)
        if (end === -1) return undefined
        out += source.slice(i, end + 1)
        i = end + 1
      } else if (c === '(') {
        const end = closingParen(source, i)
        if (end === -1) return undefined
        if (source.startsWith('(?:', i)) {
          const optional = source[end + 1] === '?'
          const param = this.#param(source.slice(i + 3, end), optional)
          if (param !== undefined) {
            out += param
            i = end + (optional ? 2 : 1)
            continue
          }
          // `/(` in a pattern becomes `/(?:`: a plain group the user wrote.
          const inner = this.body(source.slice(i + 3, end))
          if (inner === undefined) return undefined
          out += '(' + inner + ')'
          i = end + 1
        } else if (source[i + 1] === '?') {
          return undefined
        } else {
          // An unnamed capture: `*` became `(.*)`; anything else is a group the user wrote.
          const inner = source.slice(i + 1, end)
          this.#key += 1 + countCaptures(inner)
          out += inner === '.*' ? '*' : '(' + inner + ')'
          i = end + 1
        }
      } else {
        out += c
        i++
      }
    }
    return out
  }

  /** `(?:` [`\.`] [`\/`] `(capture)` [star group] `)` [`?`]: the shape of one `:name`. */
  #param(inner: string, optional: boolean): string | undefined {
    let k = 0
    const format = inner.startsWith('\\.', k)
    if (format) k += 2
    const slash = inner.startsWith('\\/', k)
    if (slash) k += 2
    if (inner[k] !== '(' || inner[k + 1] === '?') return undefined
    const end = closingParen(inner, k)
    if (end === -1) return undefined
    const rest = inner.slice(end + 1)
    const star = STAR_GROUPS.has(rest)
    if (rest !== '' && !star) return undefined
    const capture = inner.slice(k + 1, end)
    const key = this.#nextKey()
    if (key === undefined || typeof key.name !== 'string') return undefined
    this.#key += countCaptures(capture) + (star ? 1 : 0)
    const isDefault = DEFAULT_CAPTURES.has(capture) || (/^\(\?:\(\?!\\?\/\|/.test(capture) && capture.endsWith(').)+?'))
    return (
      (format ? '.' : '') + (slash ? '/' : '') + ':' + key.name + (isDefault ? '' : `(${capture})`) + (star ? '*' : '') + (optional ? '?' : '')
    )
  }
}

/**
 * Candidate patterns (one per alternative of an array path) read back from an Express 4 layer's RegExp,
 * or undefined when the RegExp is not path-to-regexp 0.1 output (a RegExp the user passed).
 */
export function readExpress4Regexp(source: string, keys: readonly KeyLike[]): string[] | undefined {
  const alternatives = splitAlternatives(source)
  if (alternatives === undefined) return undefined
  const reader = new Reader(keys)
  const out: string[] = []
  for (const alternative of alternatives) {
    if (alternative[0] !== '^') return undefined
    const suffix = SUFFIXES.find((s) => alternative.endsWith(s))
    if (suffix === undefined) return undefined
    const body = reader.body(alternative.slice(1, alternative.length - suffix.length))
    if (body === undefined) return undefined
    out.push(body === '' ? '/' : body)
  }
  return out
}
