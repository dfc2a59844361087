import { readExpress4Regexp } from './express4-regexp.js'
import { patternFromMatch, patternText } from './route-text.js'

/**
 * The parts of an Express router layer this package reads. Nothing here is ever written or wrapped:
 * Express 5 (router 2.3+) keeps the pattern as `rawPath` and matches without side effects; router 2.0-2.2
 * keep pure `matchers`; Express 4 keeps the RegExp and its keys.
 */
export interface LayerLike {
  readonly handle?: unknown
  readonly route?: unknown
  readonly rawPath?: unknown
  readonly matchers?: unknown
  readonly slash?: unknown
  readonly regexp?: unknown
  readonly keys?: unknown
  match?(path: string): unknown
}

export interface LayerMatch {
  /** The part of the path the layer consumed (concrete). */
  readonly consumed: string
  /** The pattern that matched it. */
  readonly pattern: string
}

/** What a layer contributes to a route: a fixed pattern, or a match against the request path. */
export interface LayerPattern {
  /** The pattern when it does not depend on the request; undefined for array paths and router < 2.3 mounts. */
  readonly fixed: string | undefined
  match(path: string): LayerMatch | undefined
}

type Express4Regexp = RegExp & { fast_slash?: unknown; fast_star?: unknown }
type Express4LayerClass = new (path: unknown, options: object, fn: () => void) => { regexp?: unknown }

const noop = (): void => {}
const NO_MATCH: LayerPattern = { fixed: undefined, match: () => undefined }
const cache = new WeakMap<object, LayerPattern>()

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object'
}

/** The pattern of a route layer (`routePath` is `req.route.path`) or of a mount layer (`routePath` undefined). */
export function layerPattern(layer: LayerLike, routePath?: unknown): LayerPattern {
  let info = cache.get(layer)
  if (info === undefined) {
    try {
      info = build(layer, routePath)
    } catch {
      info = NO_MATCH
    }
    cache.set(layer, info)
  }
  return info
}

function build(layer: LayerLike, routePath: unknown): LayerPattern {
  if ('rawPath' in layer && typeof layer.match === 'function') return fromRouter23(layer)
  if (Array.isArray(layer.matchers)) return fromRouter22(layer, layer.matchers as unknown[], routePath)
  if (layer.regexp instanceof RegExp) return fromExpress4(layer, layer.regexp, routePath)
  return NO_MATCH
}

/** router 2.3+ (Express 5.2+): the pattern is kept, and `match` returns which one of an array matched. */
function fromRouter23(layer: LayerLike): LayerPattern {
  const fixed = patternText(layer.rawPath)
  return {
    fixed,
    match(path) {
      const m = layer.match!(path)
      if (!isObject(m) || typeof m.path !== 'string') return undefined
      return { consumed: m.path, pattern: patternText(m.pattern) ?? fixed ?? '' }
    }
  }
}

interface MatcherResult {
  readonly path: string
  readonly params: Readonly<Record<string, unknown>>
}

function runMatcher(matcher: unknown, path: string): MatcherResult | undefined {
  if (typeof matcher !== 'function') return undefined
  const m: unknown = (matcher as (p: string) => unknown)(path)
  if (!isObject(m) || typeof m.path !== 'string') return undefined
  return { path: m.path, params: isObject(m.params) ? m.params : {} }
}

/** router 2.0-2.2 (Express 5.0, 5.1): pure matchers but no pattern, so mounts are rebuilt from the match. */
function fromRouter22(layer: LayerLike, matchers: unknown[], routePath: unknown): LayerPattern {
  if (layer.slash === true) return { fixed: '', match: () => ({ consumed: '', pattern: '' }) }
  if (routePath !== undefined) {
    const fixed = patternText(routePath)
    const alternatives = Array.isArray(routePath) ? (routePath as unknown[]) : [routePath]
    return {
      fixed,
      match(path) {
        for (let i = 0; i < matchers.length; i++) {
          const m = runMatcher(matchers[i], path)
          if (m !== undefined) return { consumed: m.path, pattern: patternText(alternatives[i]) ?? '' }
        }
        return undefined
      }
    }
  }
  return {
    fixed: undefined,
    match(path) {
      for (const matcher of matchers) {
        const m = runMatcher(matcher, path)
        if (m !== undefined) return { consumed: m.path, pattern: patternFromMatch(m.path, m.params) }
      }
      return undefined
    }
  }
}

function execRegexp(regexp: Express4Regexp, path: string): string | undefined {
  if (regexp.fast_slash === true) return ''
  if (regexp.fast_star === true) return path
  const m = regexp.exec(path)
  return m === null ? undefined : m[0]
}

/** Builds the RegExp Express 4 would build for `path`, with Express's own Layer class. */
function express4Regexp(layerClass: Express4LayerClass, path: unknown, options: object): RegExp | undefined {
  const regexp = new layerClass(path, options, noop).regexp
  return regexp instanceof RegExp ? regexp : undefined
}

/**
 * Express 4: a route's pattern is `req.route.path`; a mount's is read back from its RegExp and kept only
 * when Express's own Layer rebuilds the very same RegExp from it.
 */
function fromExpress4(layer: LayerLike, regexp: Express4Regexp, routePath: unknown): LayerPattern {
  if (regexp.fast_slash === true) return { fixed: '', match: () => ({ consumed: '', pattern: '' }) }
  const layerClass = (layer as { constructor?: unknown }).constructor
  const sensitive = !regexp.flags.includes('i')
  let alternatives: string[] | undefined
  let regexps: RegExp[] | undefined
  if (routePath !== undefined) {
    if (!Array.isArray(routePath)) {
      const fixed = patternText(routePath) ?? ''
      return { fixed, match: (path) => matchOne(regexp, path, fixed) }
    }
    alternatives = (routePath as unknown[]).map((p) => patternText(p) ?? '')
    if (typeof layerClass === 'function') {
      const options = { end: true, strict: false, sensitive }
      regexps = (routePath as unknown[]).map((p) => express4Regexp(layerClass as Express4LayerClass, p, options) ?? /(?!)/)
    }
  } else if (regexp.fast_star === true) {
    return { fixed: '*', match: (path) => ({ consumed: path, pattern: '*' }) }
  } else {
    const keys = Array.isArray(layer.keys) ? (layer.keys as { name: string | number }[]) : []
    const read = readExpress4Regexp(regexp.source, keys)
    if (read !== undefined && typeof layerClass === 'function') {
      for (const strict of [false, true]) {
        const options = { end: false, strict, sensitive }
        const rebuilt = express4Regexp(layerClass as Express4LayerClass, read.length === 1 ? read[0] : read, options)
        if (rebuilt?.source !== regexp.source) continue
        if (read.length === 1) return { fixed: read[0], match: (path) => matchOne(regexp, path, read[0]) }
        alternatives = read
        regexps = read.map((p) => express4Regexp(layerClass as Express4LayerClass, p, options) ?? /(?!)/)
        break
      }
    }
    if (alternatives === undefined) {
      const fixed = patternText(regexp)!
      return { fixed, match: (path) => matchOne(regexp, path, fixed) }
    }
  }
  const names = alternatives
  const tests = regexps
  return {
    fixed: undefined,
    match(path) {
      if (tests === undefined) return matchOne(regexp, path, names.join(','))
      for (let i = 0; i < tests.length; i++) {
        const consumed = execRegexp(tests[i], path)
        if (consumed !== undefined) return { consumed, pattern: names[i] }
      }
      return undefined
    }
  }
}

function matchOne(regexp: Express4Regexp, path: string, pattern: string): LayerMatch | undefined {
  const consumed = execRegexp(regexp, path)
  return consumed === undefined ? undefined : { consumed, pattern }
}
