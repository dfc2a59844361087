// SQL obfuscation as the Datadog Agent does it by default (pkg/obfuscate/sql.go and sql_tokenizer.go, the
// tokenizer mode used when no `sql_obfuscation_mode` is configured): literals become `?`, groups of them
// collapse to `( ? )`, comments and `AS` aliases go, and the tokens are joined by single spaces. Matching
// its output token for token matters: client-side stats group by resource, and the agent obfuscates the
// result again, which must then change nothing.

/** What the agent writes into resource and `sql.query` when the query cannot be tokenized. */
export const NON_PARSABLE_SQL = 'Non-parsable SQL query'

const T = {
  end: -1,
  lexError: 1,
  id: 2,
  limit: 3,
  null: 4,
  string: 5,
  doubleQuoted: 6,
  dollarQuoted: 7,
  number: 8,
  boolean: 9,
  valueArg: 10,
  listArg: 11,
  comment: 12,
  variable: 13,
  savepoint: 14,
  prepared: 15,
  escapeSequence: 16,
  nullSafeEqual: 17,
  le: 18,
  ge: 19,
  ne: 20,
  not: 21,
  as: 22,
  alter: 23,
  drop: 24,
  create: 25,
  grant: 26,
  revoke: 27,
  commit: 28,
  begin: 29,
  truncate: 30,
  select: 31,
  from: 32,
  update: 33,
  delete: 34,
  insert: 35,
  into: 36,
  join: 37,
  colonCast: 38,
  filteredGroupable: 39,
  filteredGroupableParen: 40,
  filtered: 41,
  filteredBracketed: 42,
  // Single-character tokens are their char code plus this, so they never meet the kinds above.
  char: 1000
} as const

const ch = (c: string): number => T.char + c.charCodeAt(0)
const C = {
  comma: ch(','),
  open: ch('('),
  close: ch(')'),
  eq: ch('='),
  colon: ch(':'),
  question: ch('?'),
  semicolon: ch(';'),
  bracketOpen: ch('['),
  bracketClose: ch(']')
} as const

const KEYWORDS: ReadonlyMap<string, number> = new Map(Object.entries({
  NULL: T.null,
  TRUE: T.boolean,
  FALSE: T.boolean,
  SAVEPOINT: T.savepoint,
  LIMIT: T.limit,
  AS: T.as,
  ALTER: T.alter,
  CREATE: T.create,
  GRANT: T.grant,
  REVOKE: T.revoke,
  COMMIT: T.commit,
  BEGIN: T.begin,
  TRUNCATE: T.truncate,
  DROP: T.drop,
  SELECT: T.select,
  FROM: T.from,
  UPDATE: T.update,
  DELETE: T.delete,
  INSERT: T.insert,
  INTO: T.into,
  JOIN: T.join
}))

const EOF = -1
const SPACE = /^\s$/u
const LETTER = /^\p{L}$/u

function isSpace(c: number): boolean {
  if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) return true
  return c >= 0x80 && SPACE.test(String.fromCodePoint(c))
}
function isLeadingLetter(c: number): boolean {
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x40) return true
  return c >= 0x80 && LETTER.test(String.fromCodePoint(c))
}
const isLetter = (c: number): boolean => isLeadingLetter(c) || c === 0x23
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39
function digitVal(c: number): number {
  if (isDigit(c)) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10
  return 16
}

class LexError extends Error {}

/** The agent's tokenizer, on code points of a JS string. */
class Tokenizer {
  readonly #s: string
  readonly #literalEscapes: boolean
  #pos = 0 // index of `last` in #s
  #last = 0 // the current code point, EOF at the end
  #start = 0 // where the token being scanned began
  #curlys = 0
  seenEscape = false

  constructor(s: string, literalEscapes: boolean) {
    this.#s = s
    this.#literalEscapes = literalEscapes
    this.#pos = 0
    this.#last = s.length === 0 ? EOF : s.codePointAt(0)!
  }

  // A method, not the field: TypeScript would narrow the field across #advance() calls.
  #c(): number {
    return this.#last
  }

  #advance(): void {
    if (this.#c() === EOF) return
    this.#pos += this.#c() > 0xffff ? 2 : 1
    this.#last = this.#pos < this.#s.length ? this.#s.codePointAt(this.#pos)! : EOF
  }

  #text(): string {
    const text = this.#s.slice(this.#start, this.#pos)
    this.#start = this.#pos
    return text
  }

  /** Returns [kind, text]; text is what goes to the output unless a filter replaces it. */
  scan(): [number, string] {
    while (isSpace(this.#c())) this.#advance()
    this.#start = this.#pos
    const c = this.#c()
    if (isLeadingLetter(c)) return this.#identifier()
    if (isDigit(c)) return this.#number(false)
    this.#advance()
    const next = this.#c()
    switch (c) {
      case EOF:
        return [T.end, '']
      case 0x3a: // :
        if (next === 0x3a) {
          this.#advance()
          return [T.colonCast, this.#text()]
        }
        if (isSpace(next)) return [T.char + c, this.#text()]
        if (next !== 0x3d) return this.#bindVar()
        return [T.char + c, this.#text()]
      case 0x7e: // ~
        if (next === 0x2a) this.#advance()
        return [T.char + c, this.#text()]
      case 0x3f: // ?
      case 0x3d: // =
      case 0x2c: // ,
      case 0x3b: // ;
      case 0x28: // (
      case 0x29: // )
      case 0x2b: // +
      case 0x2a: // *
      case 0x26: // &
      case 0x7c: // |
      case 0x5e: // ^
      case 0x5b: // [
      case 0x5d: // ]
        return [T.char + c, this.#text()]
      case 0x2e: // .
        if (isDigit(next)) return this.#number(true)
        return [T.char + c, this.#text()]
      case 0x2f: // /
        if (next === 0x2f) return this.#lineComment()
        if (next === 0x2a) {
          this.#advance()
          return this.#blockComment()
        }
        return [T.char + c, this.#text()]
      case 0x2d: // -
        if (next === 0x2d) return this.#lineComment()
        // '->' outside Postgres: the agent scans the '-' as a number, and so the output has a '?'.
        if (isDigit(next) || next === 0x3e) return this.#number(false)
        if (next === 0x2e) {
          this.#advance()
          if (isDigit(this.#c())) return this.#number(true)
          // Not a number after all: only the '-' is the token, the '.' comes next.
          this.#pos--
          this.#last = 0x2e
        }
        return [T.char + c, this.#text()]
      case 0x23: // #
        this.#advance()
        return this.#lineComment()
      case 0x3c: // <
        if (next === 0x3e) {
          this.#advance()
          return [T.ne, this.#text()]
        }
        if (next === 0x3d) {
          this.#advance()
          if (this.#c() === 0x3e) {
            this.#advance()
            return [T.nullSafeEqual, this.#text()]
          }
          return [T.le, this.#text()]
        }
        return [T.char + c, this.#text()]
      case 0x3e: // >
        if (next === 0x3d) {
          this.#advance()
          return [T.ge, this.#text()]
        }
        return [T.char + c, this.#text()]
      case 0x21: // !
        if (next === 0x3d) {
          this.#advance()
          return [T.ne, this.#text()]
        }
        if (next === 0x7e) {
          this.#advance()
          if (this.#c() === 0x2a) this.#advance()
          return [T.ne, this.#text()]
        }
        if (next === 0x28 || next === 0x60 || next === 0x27 || next === 0x22 || next === 0x2b || next === 0x2d || isSpace(next) || isLetter(next) || isDigit(next)) {
          return [T.not, this.#text()]
        }
        throw new LexError('unexpected char after !')
      case 0x27: // '
        return this.#string(c, T.string)
      case 0x22: // "
        return this.#string(c, T.doubleQuoted)
      case 0x60: // `
        return this.#string(c, T.id)
      case 0x25: // %
        if (next === 0x28) return this.#variableIdentifier()
        if (isLetter(next)) {
          this.#advance()
          return [T.variable, this.#text()]
        }
        return [T.char + c, this.#text()]
      case 0x24: // $
        if (isDigit(next)) return this.#prepared()
        return this.#dollarQuoted()
      case 0x40: // @ (only reached when not leading an identifier, which it always does here)
      case 0x7b: // {
        // Only a query that starts with '{' is a top-level escape sequence ({call proc(...)}), kept readable.
        if (this.#start === 0 || this.#curlys > 0) {
          this.#curlys++
          return [T.char + c, this.#text()]
        }
        return this.#escapeSequence()
      case 0x7d: // }
        if (this.#curlys === 0) throw new LexError('unexpected }')
        this.#curlys--
        return [T.char + c, this.#text()]
      default:
        throw new LexError(`unexpected character ${c}`)
    }
  }

  #identifier(): [number, string] {
    this.#advance()
    while (isLetter(this.#c()) || isDigit(this.#c()) || this.#c() === 0x2e || this.#c() === 0x2a) this.#advance()
    const text = this.#text()
    return [KEYWORDS.get(text.toUpperCase()) ?? T.id, text]
  }

  #variableIdentifier(): [number, string] {
    this.#advance()
    while (this.#c() !== 0x29 && this.#c() !== EOF) this.#advance()
    this.#advance()
    if (!isLetter(this.#c())) throw new LexError('invalid character after variable identifier')
    this.#advance()
    return [T.variable, this.#text()]
  }

  #dollarQuoted(): [number, string] {
    const [, tag] = this.#string(0x24, T.string)
    const delim = tag === '$$' ? '$$' : `$${tag}$`
    let got = 0
    let body = ''
    for (;;) {
      const c = this.#c()
      this.#advance()
      if (c === EOF) throw new LexError('unexpected EOF in dollar-quoted string')
      if (c === delim.charCodeAt(got)) {
        got++
        if (got === delim.length) break
        continue
      }
      if (got > 0) {
        body += delim.slice(0, got)
        got = 0
      }
      body += String.fromCodePoint(c)
    }
    this.#start = this.#pos
    return [T.dollarQuoted, body]
  }

  #prepared(): [number, string] {
    const [kind, text] = this.#number(false)
    if (kind === T.lexError) throw new LexError('invalid number')
    return [T.prepared, text]
  }

  #escapeSequence(): [number, string] {
    while (this.#c() !== 0x7d && this.#c() !== EOF) this.#advance()
    if (this.#c() === EOF) throw new LexError('unexpected EOF in escape sequence')
    this.#advance()
    return [T.escapeSequence, this.#text()]
  }

  #bindVar(): [number, string] {
    let kind: number = T.valueArg
    if (this.#c() === 0x3a) {
      kind = T.listArg
      this.#advance()
    }
    if (!isLetter(this.#c()) && !isDigit(this.#c())) throw new LexError('bind variables should start with letters or digits')
    while (isLetter(this.#c()) || isDigit(this.#c()) || this.#c() === 0x2e) this.#advance()
    return [kind, this.#text()]
  }

  #mantissa(base: number): void {
    while (digitVal(this.#c()) < base) this.#advance()
  }

  #number(seenDecimalPoint: boolean): [number, string] {
    let fraction = !seenDecimalPoint
    if (seenDecimalPoint) {
      this.#mantissa(10)
    } else if (this.#c() === 0x30) {
      this.#advance()
      if (this.#c() === 0x78 || this.#c() === 0x58) {
        this.#advance()
        this.#mantissa(16)
        return this.#numberText()
      }
      let decimalDigit = false
      this.#mantissa(8)
      if (this.#c() === 0x38 || this.#c() === 0x39) {
        decimalDigit = true
        this.#mantissa(10)
      }
      if (this.#c() !== 0x2e && this.#c() !== 0x65 && this.#c() !== 0x45) {
        if (decimalDigit) throw new LexError('invalid octal number')
        return this.#numberText()
      }
    } else {
      this.#mantissa(10)
    }
    if (fraction && this.#c() === 0x2e) {
      this.#advance()
      this.#mantissa(10)
    }
    fraction = false
    if (this.#c() === 0x65 || this.#c() === 0x45) {
      this.#advance()
      if (this.#c() === 0x2b || this.#c() === 0x2d) this.#advance()
      this.#mantissa(10)
    }
    return this.#numberText()
  }

  #numberText(): [number, string] {
    const text = this.#text()
    return text.length === 0 ? [T.lexError, ''] : [T.number, text]
  }

  #string(delim: number, kind: number): [number, string] {
    let body = ''
    for (;;) {
      let c = this.#c()
      this.#advance()
      if (c === delim) {
        if (this.#c() !== delim) break
        // A doubled delimiter embeds the delimiter.
        this.#advance()
      } else if (c === 0x5c) {
        this.seenEscape = true
        if (!this.#literalEscapes) {
          c = this.#c()
          this.#advance()
        }
      }
      if (c === EOF) throw new LexError('unexpected EOF in string')
      body += String.fromCodePoint(c)
    }
    this.#start = this.#pos
    if ((kind === T.id && body.length === 0) || body.trim() === '') {
      // An empty or blank identifier keeps its delimiters so the query stays valid.
      const d = String.fromCodePoint(delim)
      return [kind, d + d]
    }
    return [kind, body]
  }

  #lineComment(): [number, string] {
    while (this.#c() !== EOF) {
      if (this.#c() === 0x0a) {
        this.#advance()
        break
      }
      this.#advance()
    }
    return [T.comment, this.#text()]
  }

  #blockComment(): [number, string] {
    for (;;) {
      if (this.#c() === 0x2a) {
        this.#advance()
        if (this.#c() === 0x2f) {
          this.#advance()
          break
        }
        continue
      }
      if (this.#c() === EOF) throw new LexError('unexpected EOF in comment')
      this.#advance()
    }
    return [T.comment, this.#text()]
  }
}

const isFilteredGroupable = (k: number): boolean => k === T.filteredGroupable || k === T.filteredGroupableParen
const markFilteredGroupable = (k: number): number => (k === C.open ? T.filteredGroupableParen : T.filteredGroupable)

function obfuscate(query: string, literalEscapes: boolean, tokenizer: Tokenizer = new Tokenizer(query, literalEscapes)): string {
  let out = ''
  let last = 0
  let groupFilter = 0
  let groupMulti = 0
  for (;;) {
    let [kind, text] = tokenizer.scan()
    if (kind === T.end) break
    let drop = false
    // discard filter: comments, `AS alias`, MSSQL `AS [alias]`.
    if (last === T.filteredBracketed || last === T.as) {
      if (last === T.filteredBracketed && kind !== C.bracketClose) {
        if (kind !== T.id) throw new LexError('expected identifier in bracketed alias')
        kind = T.filteredBracketed
        drop = true
      } else if (kind === C.bracketOpen) {
        kind = T.filteredBracketed
        drop = true
      } else {
        kind = T.filtered
        drop = true
      }
    } else if (kind === T.comment) {
      kind = T.filtered
      drop = true
    } else if (kind === C.semicolon) {
      kind = markFilteredGroupable(kind)
      drop = true
    } else if (kind === T.as) {
      drop = true
    }
    // replace filter: literals become '?'. After SAVEPOINT even a dropped token comes back as '?', as in the agent.
    if (last === T.savepoint || (last === C.eq && kind === T.doubleQuoted)) {
      kind = markFilteredGroupable(kind)
      text = '?'
      drop = false
    } else {
      switch (kind) {
        case T.dollarQuoted:
        case T.string:
        case T.number:
        case T.null:
        case T.variable:
        case T.prepared:
        case T.boolean:
        case T.escapeSequence:
        case C.question:
          kind = markFilteredGroupable(kind)
          text = '?'
      }
    }
    // grouping filter: '( ?, ?, ? )' and '( ? ), ( ? )' collapse to one '( ? )'.
    if ((last === C.open && isFilteredGroupable(kind)) || (kind === C.open && groupMulti > 0)) groupMulti++
    const subquery = kind === T.select || kind === T.delete || kind === T.update || kind === T.id
    if (groupMulti > 0 && last === T.filteredGroupableParen && subquery) {
      groupFilter = 0
      groupMulti = 0
      if (!drop) text = `( ${text}`
    } else if (isFilteredGroupable(kind)) {
      groupFilter++
      if (groupFilter > 1) {
        kind = markFilteredGroupable(kind)
        drop = true
      }
    } else if (groupFilter > 0 && (kind === C.comma || kind === C.question)) {
      kind = markFilteredGroupable(kind)
      drop = true
    } else if (groupMulti > 1) {
      kind = markFilteredGroupable(kind)
      drop = true
    } else if (kind !== C.comma && kind !== C.open && kind !== C.close && !isFilteredGroupable(kind)) {
      groupFilter = 0
      groupMulti = 0
    }
    if (!drop) {
      if (out.length !== 0 && kind !== C.comma && !(kind === C.eq && last === C.colon)) out += ' '
      out += text
    }
    last = kind
  }
  if (out.length === 0) throw new LexError('result is empty')
  return out
}

/** One query through the agent's obfuscator; `Non-parsable SQL query` when it would fail to parse it. */
export function obfuscateSql(query: string): string {
  const tokenizer = new Tokenizer(query, false)
  try {
    return obfuscate(query, false, tokenizer)
  } catch (err) {
    if (!(err instanceof LexError)) throw err
    // As the agent: a failure after a backslash gets a second try with backslashes taken literally.
    if (!tokenizer.seenEscape) return NON_PARSABLE_SQL
  }
  try {
    return obfuscate(query, true)
  } catch (err) {
    if (!(err instanceof LexError)) throw err
    return NON_PARSABLE_SQL
  }
}

/** Caches obfuscated queries: apps run the same few statements over and over. Bounded. */
export class SqlObfuscator {
  readonly #cache = new Map<string, string>()
  readonly #maxEntries: number
  /** Longer queries are not cached (they are rarely repeated verbatim, and would hold memory). */
  readonly #maxCachedLength: number

  constructor(maxEntries = 1000, maxCachedLength = 5000) {
    this.#maxEntries = maxEntries
    this.#maxCachedLength = maxCachedLength
  }

  obfuscate(query: string): string {
    const hit = this.#cache.get(query)
    if (hit !== undefined) return hit
    let result: string
    try {
      result = obfuscateSql(query)
    } catch {
      // A bug of ours must not cost the trace: the agent would obfuscate it anyway.
      result = NON_PARSABLE_SQL
    }
    if (query.length <= this.#maxCachedLength) {
      if (this.#cache.size >= this.#maxEntries) this.#cache.clear()
      this.#cache.set(query, result)
    }
    return result
  }
}
