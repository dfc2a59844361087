import { listValue, type HeaderCarrier, type HeaderSetter } from './carrier.js'

// W3C Baggage (the W3C Baggage specification). Keys are RFC 7230 tokens; values are percent-decoded on extract and
// percent-encoded on inject; `;properties` are ignored. A malformed member drops the whole header;
// members past the item or byte limits are cut.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const PERCENT_BYTE = /%([0-9A-Fa-f]{2})/g

function decode(value: string): string {
  if (!value.includes('%')) return value
  try {
    return decodeURIComponent(value)
  } catch {
    // Malformed escapes (`%zz`, a lone `%E2`): decode the well-formed bytes and keep the rest as is.
    const bytes = value.replace(PERCENT_BYTE, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    return Buffer.from(bytes, 'latin1').toString('utf8')
  }
}

/**
 * The baggage items of a header: undefined when it is absent, empty or malformed. At most `maxItems`
 * members are read, and none past the first `maxBytes` bytes of the header.
 */
export function parseBaggage(header: string, maxItems: number, maxBytes: number): Record<string, string> | undefined {
  // A null prototype: a `__proto__` key is a valid token and must stay an ordinary item.
  let items: Record<string, string> | undefined
  let count = 0
  let bytes = 0
  let start = 0
  while (start <= header.length && count < maxItems) {
    let end = header.indexOf(',', start)
    if (end === -1) end = header.length
    // The comma is counted too, so that a run of empty members cannot be read for free.
    bytes += end - start + 1
    if (bytes > maxBytes + 1) break
    const memberStart = start
    start = end + 1
    let memberEnd = header.indexOf(';', memberStart)
    if (memberEnd === -1 || memberEnd > end) memberEnd = end
    const eq = header.indexOf('=', memberStart)
    if (eq === -1 || eq >= memberEnd) {
      if (header.slice(memberStart, memberEnd).trim() === '') continue
      return undefined
    }
    const key = header.slice(memberStart, eq).trim()
    const value = header.slice(eq + 1, memberEnd).trim()
    // `a=` is a member with an empty value (the W3C grammar allows it), kept like any other; dd-trace
    // drops the whole header for it.
    if (!TOKEN.test(key)) return undefined
    items ??= Object.create(null) as Record<string, string>
    items[key] = decode(value)
    count++
  }
  return items
}

/** The baggage in `carrier`, or undefined. */
export function extractBaggage(carrier: HeaderCarrier, maxItems: number, maxBytes: number): Record<string, string> | undefined {
  const header = listValue(carrier.baggage)
  if (header === undefined || header === '' || maxItems <= 0 || maxBytes <= 0) return undefined
  return parseBaggage(header, maxItems, maxBytes)
}

/** The baggage header for `items`: members whose key is not a token are skipped; the limits cut the rest. */
export function formatBaggage(items: Readonly<Record<string, string>>, maxItems: number, maxBytes: number): string {
  let header = ''
  let count = 0
  for (const key in items) {
    const value = items[key]
    // An empty value is legal W3C, but dd-trace reads it as a malformed header and drops all baggage.
    if (typeof value !== 'string' || value === '' || !TOKEN.test(key)) continue
    if (count === maxItems) break
    let encoded: string
    try {
      encoded = encodeURIComponent(value)
    } catch {
      // A lone surrogate cannot be encoded: that one item is left out.
      continue
    }
    const member = key + '=' + encoded
    const length = header.length + (header === '' ? 0 : 1) + member.length
    if (length > maxBytes) break
    header = header === '' ? member : header + ',' + member
    count++
  }
  return header
}

export function injectBaggage<C>(items: Readonly<Record<string, string>>, carrier: C, set: HeaderSetter<C>, maxItems: number, maxBytes: number): void {
  const header = formatBaggage(items, maxItems, maxBytes)
  if (header !== '') set(carrier, 'baggage', header)
}
