/** One configured header tag: the lowercased header name and the tag it becomes, if not the default. */
export interface HeaderTag {
  readonly header: string
  readonly tag: string | undefined
}

/**
 * Parses `DD_TRACE_HEADER_TAGS` / the `headers` option: `header` or `header:tag`, comma-separated in the
 * variable. Header names are lowercased; a custom tag applies to request and response alike.
 */
export function parseHeaderTags(items: readonly string[]): HeaderTag[] {
  const tags: HeaderTag[] = []
  for (const raw of items) {
    const item = raw.trim()
    if (item === '') continue
    const colon = item.indexOf(':')
    const header = (colon === -1 ? item : item.slice(0, colon)).trim().toLowerCase()
    const tag = colon === -1 ? undefined : item.slice(colon + 1).trim()
    if (header !== '') tags.push({ header, tag: tag === '' ? undefined : tag })
  }
  return tags
}

function headerText(value: string | number | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  return typeof value === 'object' ? value.join(', ') : String(value)
}

/** Adds `http.request.headers.<h>` / `http.response.headers.<h>` (or the custom tag) to `meta`. */
export function addHeaderTags(
  meta: Record<string, string>,
  tags: readonly HeaderTag[],
  requestHeaders: Readonly<Record<string, string | string[] | undefined>>,
  responseHeader: (name: string) => string | number | readonly string[] | undefined
): void {
  for (const { header, tag } of tags) {
    const request = headerText(requestHeaders[header])
    if (request !== undefined) meta[tag ?? `http.request.headers.${header}`] = request
    const response = headerText(responseHeader(header))
    if (response !== undefined) meta[tag ?? `http.response.headers.${header}`] = response
  }
}
