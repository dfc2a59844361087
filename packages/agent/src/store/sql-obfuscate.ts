// SQL with its values hidden, for display. Tracers send statements as the app wrote them, literals
// included; the Datadog Agent obfuscates them before anyone sees them, and so does this intake's page
// and API. This is a small obfuscator of the intake's own, not the agent's tokenizer and not the
// tracer's (the intake shares no code with a tracer, so a bug in one cannot hide behind the same bug
// in the other): comments go; quoted strings, numbers, TRUE, FALSE, NULL and positional parameters
// become `?`; a list of them becomes one `?` and rows of them one row; the tokens are written with
// single spaces between them, commas against the token before, as the agent lays them out.

const WORD = String.raw`[\p{L}_][\p{L}\p{N}_$#@]*`
const QUOTED_NAME = String.raw`"(?:[^"]|"")*"|\x60[^\x60]*\x60`
/** `.b`, `."b"`, `.*` after a name. */
const NAME_TAIL = String.raw`(?:\.(?:${WORD}|${QUOTED_NAME}|\*))*`

// One piece of SQL per match, tried in this order at the current position. The last alternative takes
// any single character, so every position matches and the scan always moves on.
const PIECE = new RegExp(
  [
    String.raw`(?<skip>\s+|--[^\n]*|/\*[\s\S]*?(?:\*/|$))`,
    // Quoted strings with an optional E/N/B/X prefix, '' and backslash escapes; dollar-quoted bodies.
    String.raw`(?<text>[EeNnBbXx]?'(?:[^'\\]|\\[\s\S]|'')*(?:'|$)|\$(?<tag>[\p{L}_][\p{L}\p{N}_]*)?\$[\s\S]*?(?:\$\k<tag>\$|$))`,
    String.raw`(?<hex>0[xX][\da-fA-F]+)`,
    // A number ends where a name could not go on; digits a name goes on from start a name (MySQL's 2fa).
    String.raw`(?<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(?![\p{L}\p{N}_$#@])`,
    String.raw`(?<digitName>\d+${WORD}${NAME_TAIL})`,
    // $1, %s, %(name)s and ? are placeholders for values: shown as values.
    String.raw`(?<param>\$\d+|%\([^)\s]*\)s|%[sd]|\?)`,
    String.raw`(?<op><=>|<>|!=|<=|>=|::|\|\||->>|->)`,
    // Names, plain or quoted, joined by dots: a.b, "a"."b", t.*; named binds :name and @name.
    String.raw`(?<name>(?:[@#:]?${WORD}|${QUOTED_NAME})${NAME_TAIL})`,
    String.raw`(?<char>[\s\S])`
  ].join('|'),
  'uy'
)

const VALUE_WORDS = new Set(['NULL', 'TRUE', 'FALSE'])
/** Tokens after which a minus sign belongs to the number that follows it. */
const BEFORE_SIGN = new Set(['(', ',', '=', '<', '>', '<=', '>=', '<>', '!=', '+', '-', '*', '/', '[', 'SELECT', 'WHERE', 'AND', 'OR', 'NOT', 'THEN', 'ELSE', 'WHEN', 'VALUES', 'LIMIT', 'OFFSET', 'BETWEEN', 'IN', 'SET', 'RETURN'])
/** More than the tokens one collapse takes back from the end (`( ? ) , ( ? )` becomes `( ? )`). */
const COLLAPSE_REACH = 8

/**
 * `sql` with its values replaced by `?`. Past `limitChars` tokens of output (each at least one
 * character) the scan stops: a collapse only ever rewrites the last few tokens, so nothing further on
 * could change the first `limitChars` characters, and a huge statement costs no more than what is shown.
 */
export function obfuscateSqlForDisplay(sql: string, limitChars = Infinity): string {
  const out: string[] = []
  PIECE.lastIndex = 0
  while (PIECE.lastIndex < sql.length && out.length <= limitChars + COLLAPSE_REACH) {
    const match = PIECE.exec(sql)
    const groups = match?.groups
    if (match === null || groups === undefined) break
    if (groups.skip !== undefined) continue
    if (groups.text !== undefined || groups.param !== undefined || groups.hex !== undefined) pushValue(out)
    else if (groups.number !== undefined) {
      // A sign that follows an operator or a keyword is the number's own: `= -1` is `= ?`.
      const last = out.length - 1
      if (out[last] === '-' && (last === 0 || BEFORE_SIGN.has((out[last - 1] ?? '').toUpperCase()))) out.pop()
      pushValue(out)
    } else if (groups.name !== undefined && VALUE_WORDS.has(match[0].toUpperCase())) pushValue(out)
    else {
      out.push(match[0])
      if (match[0] === ')' || match[0] === ']') collapseRows(out)
    }
  }
  while (out[out.length - 1] === ';') out.pop()
  return layout(out)
}

/** A value, unless it continues a list of values: `1, 2, 3` is one `?`. */
function pushValue(out: string[]): void {
  const n = out.length
  if (n >= 2 && out[n - 1] === ',' && out[n - 2] === '?') {
    out.pop()
    return
  }
  out.push('?')
}

/** `( ? ), ( ? )`, the rows of a multi-row INSERT, read as one `( ? )`; the same for `[ ? ]`. */
function collapseRows(out: string[]): void {
  const n = out.length
  const close = out[n - 1]
  const open = close === ')' ? '(' : '['
  if (n >= 7 && out[n - 2] === '?' && out[n - 3] === open && out[n - 4] === ',' && out[n - 5] === close && out[n - 6] === '?' && out[n - 7] === open) {
    out.length = n - 4
  }
}

function layout(out: readonly string[]): string {
  let text = ''
  for (const token of out) text += text === '' ? token : token === ',' ? ',' : ` ${token}`
  return text
}
