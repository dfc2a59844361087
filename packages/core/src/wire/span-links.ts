import type { SpanLink } from '../model/span-context.js'
import { hex16 } from '../propagation/id-text.js'
import { isHex16 } from '../propagation/remote-context.js'

// Span links as dd-trace sends them: meta `_dd.span_links`, a JSON array, in v0.4 and v0.5 alike (the
// agent's native `span_links` field takes uint64 ids and bit-31 flags, which dd-trace never writes).

const ZERO_16 = '0000000000000000'

/** Where links go: the meta key dd-trace uses. */
export const SPAN_LINKS_KEY = '_dd.span_links'

/**
 * One link: `trace_id` as 32 hex digits (a 64-bit trace padded with zeros), `span_id` as 16,
 * `attributes` when there are any, `flags` 1 or 0 once the linked trace's priority is known (none for
 * −1, as dd-trace), `tracestate` whole when the context had one. Undefined for a link that names no span.
 */
function linkJson(link: SpanLink): string | undefined {
  const context = link?.context
  if (context === null || typeof context !== 'object') return undefined
  const { traceId, spanId } = context
  if (typeof traceId !== 'bigint' || typeof spanId !== 'bigint' || traceId < 0n || spanId < 0n) return undefined
  const high = typeof context.traceIdHigh === 'string' && isHex16(context.traceIdHigh) ? context.traceIdHigh : ZERO_16
  let json = '{"trace_id":"' + high + hex16(traceId) + '","span_id":"' + hex16(spanId) + '"'
  const attributes = link.attributes
  if (attributes !== null && typeof attributes === 'object') {
    let fields = ''
    for (const key of Object.keys(attributes)) {
      const value = attributes[key]
      if (typeof value === 'string') fields += (fields === '' ? '' : ',') + JSON.stringify(key) + ':' + JSON.stringify(value)
    }
    if (fields !== '') json += ',"attributes":{' + fields + '}'
  }
  const priority = context.samplingPriority
  if (typeof priority === 'number' && priority >= 0) json += priority > 0 ? ',"flags":1' : ',"flags":0'
  if (typeof context.tracestate === 'string' && context.tracestate !== '') json += ',"tracestate":' + JSON.stringify(context.tracestate)
  return json + '}'
}

/** The `_dd.span_links` value for `links`; undefined when none names a span. */
export function spanLinksJson(links: readonly SpanLink[]): string | undefined {
  let out = ''
  for (const link of links) {
    const json = linkJson(link)
    if (json === undefined) continue
    out += (out === '' ? '[' : ',') + json
  }
  return out === '' ? undefined : out + ']'
}
