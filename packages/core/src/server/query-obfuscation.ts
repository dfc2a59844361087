/**
 * dd-trace's default `DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP` (6.21.0), applied case-insensitively and
 * globally to the query string of `http.url`. Group 1 is the delimiter in front of a JWT, kept in the
 * replacement `$1<redacted>`.
 */
export const DEFAULT_QUERY_OBFUSCATION =
  '(?:(?:"|%22)?)(?:(?:old[-_]?|new[-_]?)?p(?:ass)?w(?:or)?d(?:1|2)?|pass(?:[-_]?phrase)?|secret|(?:api[-_]?|private[-_]?|public[-_]?|access[-_]?|secret[-_]?|app(?:lication)?[-_]?)key(?:[-_]?id)?|token|consumer[-_]?(?:id|key|secret)|sign(?:ed|ature)?|auth(?:entication|orization)?)(?:(?:\\s|%20)*(?:=|%3D)[^&]+|(?:"|%22)(?:\\s|%20)*(?::|%3A)(?:\\s|%20)*(?:"|%22)(?:%2[^2]|%[^2]|[^"%])+(?:"|%22))|(?:bearer(?:\\s|%20)+[a-z0-9._\\-]+|token(?::|%3A)[a-z0-9]{13}|gh[opsu]_[0-9a-zA-Z]{36}|(^|[^\\w%-]|%[0-9a-f]{2})ey[I-L][\\w-]+(?:=|%3D)*\\.ey[I-L][\\w-]+(?:=|%3D)*(?:\\.(?:[\\w.+/=-]|%3D|%2F|%2B)+)?|-{5}BEGIN(?:[a-z\\s]|%20)+PRIVATE(?:\\s|%20)KEY-{5}[^\\-]+-{5}END(?:[a-z\\s]|%20)+PRIVATE(?:\\s|%20)KEY(?:-{5})?(?:\\n|%0A)?|(?:ssh-(?:rsa|dss)|ecdsa-[a-z0-9]+-[a-z0-9]+)(?:\\s|%20|%09)+(?:[a-z0-9/.+]|%2F|%5C|%2B){100,}(?:=|%3D)*(?:(?:\\s|%20|%09)+[a-z0-9._-]+)?)'

/** Longest URL kept in `http.url`: the redaction regex never runs over more than this. */
export const MAX_URL_LENGTH = 8192

/**
 * Every match of the default pattern contains one of these words (each alternative of the pattern
 * starts with or requires one). Testing for them first is ~10× cheaper than running the full pattern
 * (`bench/micro/server-span.mjs`: 26% of the request-span work was the pattern), and most query strings
 * hold none of them.
 */
const DEFAULT_PREFILTER = /pass|pw|secret|key|token|consumer|sign|auth|bearer|gh[opsu]_|ey[i-l]|begin|ssh-|ecdsa-/i

/** How the query string of a server span's `http.url` is treated. */
export type QueryObfuscator =
  | { readonly kind: 'off' }
  | { readonly kind: 'strip' }
  | { readonly kind: 'regex'; readonly regex: RegExp; readonly replacement: string; readonly prefilter: RegExp | undefined }

/**
 * Builds the obfuscator from an option or `DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP`: '' or false turns
 * it off, `.*` or true drops the whole query, anything else is a regex. Undefined for an invalid regex.
 */
export function queryObfuscator(setting: string | RegExp | boolean | undefined): QueryObfuscator | undefined {
  if (setting === false || setting === '') return { kind: 'off' }
  if (setting === true || setting === '.*') return { kind: 'strip' }
  if (setting instanceof RegExp) {
    const flags = setting.flags.includes('g') ? setting.flags : setting.flags + 'g'
    return { kind: 'regex', regex: new RegExp(setting.source, flags), replacement: '<redacted>', prefilter: undefined }
  }
  const source = setting ?? DEFAULT_QUERY_OBFUSCATION
  try {
    const byDefault = setting === undefined
    return { kind: 'regex', regex: new RegExp(source, 'gi'), replacement: byDefault ? '$1<redacted>' : '<redacted>', prefilter: byDefault ? DEFAULT_PREFILTER : undefined }
  } catch {
    return undefined
  }
}

/** `url` (path and query) with secrets in its query string redacted, cut at MAX_URL_LENGTH. */
export function obfuscateUrl(url: string, obfuscator: QueryObfuscator): string {
  const cut = url.length > MAX_URL_LENGTH ? url.slice(0, MAX_URL_LENGTH) : url
  if (obfuscator.kind === 'off') return cut
  const q = cut.indexOf('?')
  if (q === -1) return cut
  if (obfuscator.kind === 'strip') return cut.slice(0, q)
  const query = cut.slice(q + 1)
  if (obfuscator.prefilter !== undefined && !obfuscator.prefilter.test(query)) return cut
  obfuscator.regex.lastIndex = 0
  return cut.slice(0, q + 1) + query.replace(obfuscator.regex, obfuscator.replacement)
}
