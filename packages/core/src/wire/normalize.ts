// The Datadog Agent's span normalization (pkg/trace/agent/normalizer.go, traceutil/normalize), applied by
// the encoders at encode time so that what leaves the process is what the agent would have made of it:
// the agent then has nothing to fix, client-side stats aggregate on the same names, and no trace is
// dropped for a reason the tracer could have fixed. Every function here has a cheap check first; the
// rewriting paths run only for values that fail it.

/**
 * The agent's limits, in UTF-8 bytes (its normalizer and truncator): service, name and type 100;
 * resource 5000; meta and metrics keys 200; meta values 25000; a normalized tag 200 characters.
 */
export const Limits = {
  serviceBytes: 100,
  nameBytes: 100,
  typeBytes: 100,
  resourceBytes: 5000,
  metaKeyBytes: 200,
  metaValueBytes: 25_000,
  metricsKeyBytes: 200,
  tagChars: 200
} as const

export const DEFAULT_SPAN_NAME = 'unnamed_operation'
/** `unnamed-<lang>-service`, with the lang this tracer sends in `Datadog-Meta-Lang`. */
export const FALLBACK_SERVICE = 'unnamed-nodejs-service'

const encoder = new TextEncoder()

/** Cuts `s` to at most `maxBytes` UTF-8 bytes without splitting a character. */
export function truncateUtf8(s: string, maxBytes: number): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes, so short strings need no byte count.
  if (s.length * 3 <= maxBytes) return s
  let bytes = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    let size: number
    let units = 1
    if (c < 0x80) size = 1
    else if (c < 0x800) size = 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      size = 4
      units = 2
    } else size = 3
    if (bytes + size > maxBytes) return s.slice(0, i)
    bytes += size
    i += units - 1
  }
  return s
}

/** UTF-8 length, counted only when the cheap bound does not settle it. */
export function fitsBytes(s: string, maxBytes: number): boolean {
  return s.length * 3 <= maxBytes || (s.length <= maxBytes && encoder.encode(s).length <= maxBytes)
}

const isLower = (c: number): boolean => c >= 0x61 && c <= 0x7a
const isAsciiAlpha = (c: number): boolean => isLower(c) || (c >= 0x41 && c <= 0x5a)
const isAsciiDigit = (c: number): boolean => c >= 0x30 && c <= 0x39
const isTagChar = (c: number): boolean => isLower(c) || c === 0x3a || isAsciiDigit(c) || c === 0x2e || c === 0x2f || c === 0x2d
const LETTER = /^\p{L}$/u
const UPPER = /^\p{Lu}$/u
const DIGIT = /^\p{Nd}$/u

function isNormalizedAsciiTag(tag: string, checkStart: boolean): boolean {
  if (tag.length > Limits.tagChars) return false
  let i = 0
  if (checkStart && tag.length > 0) {
    const c = tag.charCodeAt(0)
    if (!(isLower(c) || c === 0x3a)) return false
    i = 1
  }
  for (; i < tag.length; i++) {
    const c = tag.charCodeAt(i)
    if (isTagChar(c)) continue
    // An underscore is fine when a valid non-underscore character follows it.
    if (c !== 0x5f) return false
    i++
    if (i === tag.length || !isTagChar(tag.charCodeAt(i))) return false
  }
  return true
}

function utf8Size(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4
}

/**
 * The agent's tag normalization: lowercase; letters, digits, `:` `.` `/` `-` kept; every run of other
 * characters becomes one `_`, a trailing run is dropped; at most 200 characters. With `removeDigitStart`
 * (full `key:value` tags) anything but a letter is trimmed from the start.
 */
function normalizeTagText(v: string, removeDigitStart: boolean): string {
  if (isNormalizedAsciiTag(v, removeDigitStart)) return v
  let out = ''
  let chars = 0
  let bytes = 0
  let started = !removeDigitStart
  let pendingCut = false
  for (const ch of v) {
    let cp = ch.codePointAt(0)!
    let piece = ch
    bytes += utf8Size(cp)
    let legal = true
    let counted = true
    if (isLower(cp) || cp === 0x3a) {
      // fast path
    } else if (cp >= 0x41 && cp <= 0x5a) {
      piece = String.fromCharCode(cp + 0x20)
    } else {
      if (cp >= 0x80 && UPPER.test(ch)) {
        const low = ch.toLowerCase()
        // Only when the width stays the same, as the agent does (U+017F and a few others change it).
        if (low.length === ch.length && utf8Size(low.codePointAt(0)!) === utf8Size(cp)) {
          piece = low
          cp = low.codePointAt(0)!
        }
      }
      if (cp >= 0x80 && LETTER.test(piece)) {
        // a letter
      } else if (removeDigitStart && chars === 0) {
        counted = false
        legal = false
      } else if (isAsciiDigit(cp) || cp === 0x2e || cp === 0x2f || cp === 0x2d || (cp >= 0x80 && DIGIT.test(piece))) {
        // allowed inside
      } else {
        legal = false
      }
    }
    if (counted) {
      chars++
      if (legal) {
        if (pendingCut && started) out += '_'
        pendingCut = false
        started = true
        out += piece
      } else if (started || !removeDigitStart) {
        pendingCut = true
      }
    }
    if (bytes >= 2 * Limits.tagChars || chars >= Limits.tagChars) break
  }
  return out
}

/** A tag value (service names, env): digits and `.` `/` `-` may lead. */
export function normalizeTagValue(v: string): string {
  return normalizeTagText(v, false)
}

/** A full `key:value` tag: only a letter may lead. */
export function normalizeTag(v: string): string {
  return normalizeTagText(v, true)
}

/** A span's service as the agent makes it: cut to 100 bytes, tag-normalized, a fallback when empty. */
export function normalizeService(service: string): string {
  if (service === '') return FALLBACK_SERVICE
  const s = normalizeTagValue(truncateUtf8(service, Limits.serviceBytes))
  return s === '' ? FALLBACK_SERVICE : s
}

/** `peer.service` and `_dd.base_service`: like a service, but an invalid value becomes ''. */
export function normalizePeerService(service: string): string {
  if (service === '') return ''
  return normalizeTagValue(truncateUtf8(service, Limits.serviceBytes))
}

function isValidMetricName(name: string, from: number): boolean {
  if (!isAsciiAlpha(name.charCodeAt(from))) return false
  for (let j = from + 1; j < name.length; j++) {
    const b = name.charCodeAt(j)
    const prev = name.charCodeAt(j - 1)
    if (isAsciiAlpha(b) || isAsciiDigit(b)) continue
    if ((b === 0x2e || b === 0x5f) && prev !== 0x5f) continue
    return false
  }
  return true
}

/** An operation name as the agent makes it (metric-name rules), `unnamed_operation` when nothing is left. */
export function normalizeName(name: string): string {
  if (name === '') return DEFAULT_SPAN_NAME
  // Names are ASCII in practice; a multi-byte name is cut to 100 bytes first, like the agent.
  const cut = truncateUtf8(name, Limits.nameBytes)
  let i = 0
  while (i < cut.length && !isAsciiAlpha(cut.charCodeAt(i))) i++
  if (i === cut.length) return DEFAULT_SPAN_NAME
  if (isValidMetricName(cut, i)) {
    const tail = cut.slice(i)
    return tail.endsWith('_') ? tail.slice(0, -1) : tail
  }
  let res = ''
  for (; i < cut.length; i++) {
    const c = cut.charCodeAt(i)
    const last = res.charCodeAt(res.length - 1)
    if (isAsciiAlpha(c) || isAsciiDigit(c)) res += cut[i]
    else if (c === 0x2e) res = last === 0x5f ? `${res.slice(0, -1)}.` : `${res}.`
    else if (last !== 0x2e && last !== 0x5f) res += '_'
  }
  return res.endsWith('_') ? res.slice(0, -1) : res
}

const DECIMAL = /^\d+$/

/** `http.status_code` survives the agent only as an integer from 100 to 599. */
export function isValidStatusCode(value: string): boolean {
  if (value.length === 3) {
    // Every status a server span records: three digits, checked without the regex.
    const a = value.charCodeAt(0) - 48
    const b = value.charCodeAt(1) - 48
    const c = value.charCodeAt(2) - 48
    if (b >= 0 && b <= 9 && c >= 0 && c <= 9 && a >= 0 && a <= 9) return a >= 1 && a <= 5
  }
  if (!DECIMAL.test(value)) return false
  const code = Number(value)
  return code >= 100 && code < 600
}

/** Span types whose resource the agent obfuscates as SQL. */
export function isSqlType(type: string): boolean {
  return type === 'sql' || type === 'cassandra'
}

/** SQL longer than this many UTF-16 units is cut to the resource limit before it is sent. */
export const SQL_MAX_CHARS = 100_000

/**
 * The resource of a SQL span as it is sent. The agent obfuscates it before its truncator runs, so a
 * statement goes out whole: a bulk INSERT of 20 kB obfuscates to a short resource, but cut at 5000 bytes
 * first it would end inside a literal and the agent would make it `Non-parsable SQL query`. Past
 * SQL_MAX_CHARS it is cut all the same, to bound the payload and the obfuscation cost. Client-side stats
 * obfuscate this same text, so their key is what the agent makes of the span.
 */
export function sqlResourceToSend(resource: string): string {
  return resource.length > SQL_MAX_CHARS ? truncateUtf8(resource, Limits.resourceBytes) : resource
}

/** Meta and metrics keys past 200 bytes, meta values past 25000: cut, and `...` appended, as the agent's truncator does. */
export function truncateWithEllipsis(s: string, maxBytes: number): string {
  return fitsBytes(s, maxBytes) ? s : `${truncateUtf8(s, maxBytes)}...`
}

/**
 * Remembers normalized values (services, names) so the common case is one Map lookup. Bounded: a
 * hostile stream of distinct values clears it rather than growing it.
 */
export class NormalizeCache {
  readonly #fn: (raw: string) => string
  readonly #max: number
  readonly #map = new Map<string, string>()

  constructor(fn: (raw: string) => string, max = 512) {
    this.#fn = fn
    this.#max = max
  }

  get(raw: string): string {
    let value = this.#map.get(raw)
    if (value === undefined) {
      value = this.#fn(raw)
      if (this.#map.size >= this.#max) this.#map.clear()
      this.#map.set(raw, value)
    }
    return value
  }
}

/** Anything a span field may hold after user code wrote to it directly, as text. */
export function asText(value: unknown): string {
  if (typeof value === 'string') return value
  if (value === undefined || value === null) return ''
  try {
    // Whatever user code stored: `[object Object]` included, as span.setTag does with String().
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
    return String(value)
  } catch {
    return ''
  }
}
