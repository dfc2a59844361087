// The W3C tracestate list (W3C Trace Context, section 3.3): read by the tracecontext extractor, and by
// whoever forwards a caller's tracestate as is. Its own file, so the context types need not import a header format.

/** W3C: at most 32 list members in tracestate. */
export const MAX_TRACESTATE_MEMBERS = 32
/** W3C: a list member's value holds at most 256 characters. */
export const MAX_TRACESTATE_VALUE_LENGTH = 256

/** The dd member and the other vendors' members of a tracestate header. */
export interface ParsedTracestate {
  readonly dd: string | undefined
  /** Up to 31 members, in order, joined by `,` (room is left for the dd member). */
  readonly others: string | undefined
}

/**
 * W3C key: a lowercase letter or digit first, then lowercase letters, digits, `_ - * /`, and `@` for
 * multi-tenant keys; at most 256 characters.
 */
function isMemberKey(text: string, start: number, end: number): boolean {
  if (end <= start || end - start > 256) return false
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i)
    const ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (i > start && (c === 95 || c === 45 || c === 42 || c === 47 || c === 64))
    if (!ok) return false
  }
  return true
}

/** W3C value: 1 to 256 printable ASCII characters without `,` and `=`, not ending in a space. */
function isMemberValue(text: string, start: number, end: number): boolean {
  if (end <= start || end - start > MAX_TRACESTATE_VALUE_LENGTH || text.charCodeAt(end - 1) === 32) return false
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x20 || c > 0x7e || c === 0x2c || c === 0x3d) return false
  }
  return true
}

function isOws(c: number): boolean {
  return c === 32 || c === 9
}

/** Every member kept of a parsed tracestate, the dd member first; undefined when there is none. */
export function wholeTracestate(parsed: ParsedTracestate): string | undefined {
  if (parsed.dd === undefined) return parsed.others
  return parsed.others === undefined ? 'dd=' + parsed.dd : 'dd=' + parsed.dd + ',' + parsed.others
}

/**
 * Splits `tracestate`; malformed or duplicate members are dropped, and only the first 32 are read.
 * Empty list members (`a=1,,b=2`, a trailing comma) are allowed by W3C and are not members: they do
 * not count toward the 32. The loop is bounded by the header's length, which the HTTP server bounds.
 */
export function parseTracestate(header: string): ParsedTracestate {
  let dd: string | undefined
  let others: string | undefined
  let otherCount = 0
  let seen: string[] | undefined
  let pos = 0
  for (let n = 0; n < MAX_TRACESTATE_MEMBERS && pos <= header.length; ) {
    let end = header.indexOf(',', pos)
    if (end === -1) end = header.length
    let a = pos
    let b = end
    pos = end + 1
    while (a < b && isOws(header.charCodeAt(a))) a++
    while (b > a && isOws(header.charCodeAt(b - 1))) b--
    if (a === b) continue
    n++
    const eq = header.indexOf('=', a)
    if (eq === -1 || eq >= b || !isMemberKey(header, a, eq) || !isMemberValue(header, eq + 1, b)) continue
    if (eq - a === 2 && header.charCodeAt(a) === 100 && header.charCodeAt(a + 1) === 100) {
      dd ??= header.slice(eq + 1, b)
      continue
    }
    const key = header.slice(a, eq)
    seen ??= []
    if (seen.includes(key)) continue
    seen.push(key)
    if (otherCount === MAX_TRACESTATE_MEMBERS - 1) continue
    const member = a === 0 && b === header.length ? header : header.slice(a, b)
    others = others === undefined ? member : others + ',' + member
    otherCount++
  }
  return { dd, others }
}
