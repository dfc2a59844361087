// JSON text for anything a caller may hand to a log method. Every string goes through JSON escaping, so
// a newline, quote or control character in a message, key or value can never end the line early or
// break out of its string: one call, one line, always valid JSON.

// JSON.stringify on a short string costs ~65 ns; this test plus a concatenation ~35 ns (Node 20, six
// typical keys and messages). Any surrogate sends the text to JSON.stringify, which keeps valid pairs
// (emoji) and escapes lone ones as \udxxx rather than letting them become invalid UTF-8.
// eslint-disable-next-line no-control-regex -- control characters are what must be escaped
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/

/** A JSON string literal. */
export function quote(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : '"' + text + '"'
}

/** `instanceof Error` that cannot throw: on a revoked proxy the prototype lookup itself throws. */
export function isError(value: object): value is Error {
  try {
    return value instanceof Error
  } catch {
    return false
  }
}

/** Deeper than this, the fallback walker writes a marker instead of recursing. */
const MAX_DEPTH = 16
const UNSERIALIZABLE = '"[Unserializable]"'
const THREW: unique symbol = Symbol('threw')

/** A property read that cannot throw: a throwing getter or proxy trap gives a marker written as "[Unserializable]". */
export function read(target: object, key: PropertyKey): unknown {
  try {
    return (target as Record<PropertyKey, unknown>)[key]
  } catch {
    return THREW
  }
}

/** `err.name` as core writes `error.type` on spans, so a log line and its span name an error the same. */
function errorKind(err: Error): string {
  const name = read(err, 'name')
  if (typeof name === 'string' && name !== '') return name
  const ctor = read(err, 'constructor') as { name?: unknown } | undefined
  return typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'Error'
}

/**
 * `{"kind","message","stack", ...own enumerable fields such as code, "cause"}`: Datadog's standard
 * `error.kind`, `error.message` and `error.stack` once the object sits under `error`.
 */
function errorText(err: Error, ancestors: object[]): string {
  ancestors.push(err)
  try {
    const message = read(err, 'message')
    let out = '{"kind":' + quote(errorKind(err)) + ',"message":' + (typeof message === 'string' ? quote(message) : walk(message, ancestors) ?? '""')
    const stack = read(err, 'stack')
    if (typeof stack === 'string') out += ',"stack":' + quote(stack)
    for (const key of Object.keys(err)) {
      if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause' || key === 'kind') continue
      const json = walk(read(err, key), ancestors)
      if (json !== undefined) out += ',' + quote(key) + ':' + json
    }
    const cause = read(err, 'cause')
    if (cause !== undefined) {
      const json = walk(cause, ancestors)
      if (json !== undefined) out += ',"cause":' + json
    }
    return out + '}'
  } finally {
    ancestors.pop()
  }
}

/**
 * What JSON.stringify would write, except that a cycle becomes "[Circular]", a BigInt a decimal string,
 * a throwing getter or toJSON "[Unserializable]", an Error its kind, message and stack, and depth is
 * bounded. Only used after JSON.stringify threw, so its cost is paid by hostile values alone.
 * undefined means "no value" (undefined, a function, a symbol), as with JSON.stringify.
 */
function walk(value: unknown, ancestors: object[]): string | undefined {
  switch (typeof value) {
    case 'string':
      return quote(value)
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null'
    case 'boolean':
      return value ? 'true' : 'false'
    case 'bigint':
      return '"' + value.toString() + '"'
    case 'object':
      break
    case 'symbol':
      return value === THREW ? UNSERIALIZABLE : undefined
    default:
      return undefined
  }
  if (value === null) return 'null'
  if (ancestors.includes(value)) return '"[Circular]"'
  if (ancestors.length >= MAX_DEPTH) return '"[Too deep]"'
  try {
    if (isError(value)) return errorText(value, ancestors)
    if (value instanceof String || value instanceof Number || value instanceof Boolean) return walk(value.valueOf(), ancestors)
    ancestors.push(value)
    try {
      const toJSON = read(value, 'toJSON')
      if (toJSON === THREW) return UNSERIALIZABLE
      if (typeof toJSON === 'function') return walk(toJSON.call(value, ''), ancestors)
      if (Array.isArray(value)) {
        let out = '['
        for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + (walk(read(value, i), ancestors) ?? 'null')
        return out + ']'
      }
      let out = ''
      for (const key of Object.keys(value)) {
        const json = walk(read(value, key), ancestors)
        if (json !== undefined) out += (out === '' ? '' : ',') + quote(key) + ':' + json
      }
      return '{' + out + '}'
    } finally {
      ancestors.pop()
    }
  } catch {
    // A revoked proxy, a toJSON that throws, a proxy trap that throws.
    return UNSERIALIZABLE
  }
}

/** An error as a JSON object; never throws. */
export function errorJson(err: Error): string {
  try {
    return errorText(err, [])
  } catch {
    return UNSERIALIZABLE
  }
}

/** Any value as JSON, or undefined when JSON has no value for it. Never throws. */
export function valueJson(value: unknown): string | undefined {
  if (value !== null && typeof value === 'object' && isError(value)) return errorJson(value)
  try {
    // The native serializer first: it is several times faster than any walker, and plain data (the
    // common case) never makes it throw.
    return JSON.stringify(value)
  } catch {
    return walk(value, [])
  }
}

/**
 * `,"key":value` for one field, or '' when the value has no JSON (undefined, a function, a symbol).
 * An Error under `err` (pino's convention) is written under `error`, Datadog's standard attribute.
 */
export function fieldJson(key: string, value: unknown): string {
  switch (typeof value) {
    case 'string':
      return ',' + quote(key) + ':' + quote(value)
    case 'number':
      return ',' + quote(key) + ':' + (Number.isFinite(value) ? String(value) : 'null')
    case 'boolean':
      return ',' + quote(key) + (value ? ':true' : ':false')
    case 'bigint':
      // As a string: a number literal past 2^53 would be rounded by every JSON reader on the way.
      return ',' + quote(key) + ':"' + value.toString() + '"'
    case 'object': {
      if (value === null) return ',' + quote(key) + ':null'
      if (isError(value)) return ',' + (key === 'err' ? '"error"' : quote(key)) + ':' + errorJson(value)
      const json = valueJson(value)
      return json === undefined ? '' : ',' + quote(key) + ':' + json
    }
    case 'symbol':
      return value === THREW ? ',' + quote(key) + ':' + UNSERIALIZABLE : ''
    default:
      return ''
  }
}

/** The message of a line: strings as they are, anything else as String() would show it. */
export function messageJson(message: unknown): string {
  if (typeof message === 'string') return quote(message)
  try {
    return quote(String(message))
  } catch {
    return UNSERIALIZABLE
  }
}
