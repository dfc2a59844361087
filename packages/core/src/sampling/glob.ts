/** A string glob (`*` any run, `?` one character; case-insensitive, as in every Datadog tracer) or a RegExp. */
export type Pattern = string | RegExp

/** A compiled pattern: what a rule tests a span's service, name, resource or tag against. */
export interface Matcher {
  /** True when the pattern matches everything, the subject's absence included. */
  readonly matchesAll: boolean
  matches(subject: string | number | undefined): boolean
}

const STAR = 42
const QUESTION = 63

function foldAscii(code: number): number {
  return code >= 65 && code <= 90 ? code + 32 : code
}

/**
 * Glob match with one backtrack point (the last `*`): linear in practice, and never exponential since a
 * later `*` replaces the earlier restart point. `pattern` must be lower-cased already.
 */
export function globMatch(pattern: string, subject: string): boolean {
  let p = 0
  let s = 0
  let starP = -1
  let starS = 0
  const pl = pattern.length
  const sl = subject.length
  while (s < sl) {
    if (p < pl) {
      const pc = pattern.charCodeAt(p)
      if (pc === STAR) {
        starP = p++
        starS = s
        continue
      }
      if (pc === QUESTION || sameChar(pc, subject, s)) {
        p++
        s++
        continue
      }
    }
    if (starP === -1) return false
    p = starP + 1
    s = ++starS
  }
  while (p < pl && pattern.charCodeAt(p) === STAR) p++
  return p === pl
}

function sameChar(patternCode: number, subject: string, index: number): boolean {
  const code = subject.charCodeAt(index)
  if (code < 128) return foldAscii(code) === patternCode
  // Outside ASCII the pattern was lower-cased as a whole string; compare the same way, one character.
  return subject[index]?.toLowerCase() === String.fromCharCode(patternCode)
}

class AlwaysMatcher implements Matcher {
  readonly matchesAll = true
  matches(): boolean {
    return true
  }
}

const ALWAYS = new AlwaysMatcher()

class GlobMatcher implements Matcher {
  readonly matchesAll = false
  readonly #original: string
  readonly #pattern: string
  readonly #literal: boolean

  constructor(pattern: string) {
    this.#original = pattern
    this.#pattern = pattern.toLowerCase()
    this.#literal = !pattern.includes('*') && !pattern.includes('?')
  }

  matches(subject: string | number | undefined): boolean {
    if (subject === undefined) return false
    let text: string
    if (typeof subject === 'number') {
      // A number with a fractional part matches only an all-`*` pattern, as the sampling-rules spec says;
      // integers are compared as their decimal text (`http.status_code` may be stored either way).
      if (!Number.isInteger(subject)) return false
      text = String(subject)
    } else {
      text = subject
    }
    // A literal written in the subject's own case is the common rule (`name: 'express.request'`): one
    // string comparison instead of the case-folding loop, which costs ~45 ns on 15 characters.
    if (this.#literal) return text === this.#original || (text.length === this.#pattern.length && globMatch(this.#pattern, text))
    return globMatch(this.#pattern, text)
  }
}

class RegExpMatcher implements Matcher {
  readonly matchesAll = false
  readonly #regexp: RegExp

  constructor(regexp: RegExp) {
    // A global or sticky RegExp keeps `lastIndex` between calls and would alternate answers.
    this.#regexp = regexp.global || regexp.sticky ? new RegExp(regexp.source, regexp.flags.replace(/[gy]/g, '')) : regexp
  }

  matches(subject: string | number | undefined): boolean {
    if (subject === undefined) return false
    return this.#regexp.test(typeof subject === 'number' ? String(subject) : subject)
  }
}

/** Compiles a pattern once, at construction; an absent pattern or one made only of `*` matches anything. */
export function compilePattern(pattern: Pattern | undefined): Matcher {
  if (pattern === undefined) return ALWAYS
  if (pattern instanceof RegExp) return new RegExpMatcher(pattern)
  if (/^\*+$/.test(pattern)) return ALWAYS
  return new GlobMatcher(pattern)
}
