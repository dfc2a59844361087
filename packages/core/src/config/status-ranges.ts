/**
 * Parses status lists such as `500-599` or `400-403,405,429` (`DD_TRACE_HTTP_SERVER_ERROR_STATUSES`,
 * `DD_TRACE_HTTP_CLIENT_ERROR_STATUSES`) into a lookup table; undefined when the text is malformed.
 */
export function parseStatusRanges(text: string): Uint8Array | undefined {
  const table = new Uint8Array(1000)
  let any = false
  for (const raw of text.split(',')) {
    const part = raw.trim()
    if (part === '') continue
    const match = /^(\d{3})(?:\s*-\s*(\d{3}))?$/.exec(part)
    if (match === null) return undefined
    const from = Number(match[1])
    const to = match[2] === undefined ? from : Number(match[2])
    if (from < 100 || to > 999 || to < from) return undefined
    table.fill(1, from, to + 1)
    any = true
  }
  return any ? table : undefined
}

/** A validateStatus function over a table from `parseStatusRanges`: true when the status is an error. */
export function statusPredicate(table: Uint8Array): (status: number) => boolean {
  return (status) => status >= 0 && status < 1000 && table[status] === 1
}
