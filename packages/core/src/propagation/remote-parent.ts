import type { SpanContext, SpanLink } from '../model/span-context.js'
import type { CoreSpan } from '../model/span.js'
import { isHex16, RemoteContext } from './remote-context.js'
import type { PropagationConfig } from './styles.js'
import { hex16 } from './id-text.js'
import { parseTracestate } from './tracestate.js'

/** The agent cuts meta values past this length. */
const MAX_LINKS_LENGTH = 25_000
const ZERO_16 = '0000000000000000'

function linkJson(link: SpanLink): string | undefined {
  const context = link?.context
  if (context === null || typeof context !== 'object') return undefined
  const { traceId, spanId } = context
  if (typeof traceId !== 'bigint' || typeof spanId !== 'bigint' || traceId < 0n || spanId < 0n) return undefined
  const high = typeof context.traceIdHigh === 'string' && isHex16(context.traceIdHigh) ? context.traceIdHigh : ZERO_16
  let json = '{"trace_id":"' + high + hex16(traceId) + '","span_id":"' + hex16(spanId) + '"'
  const attributes = link.attributes
  if (attributes !== null && typeof attributes === 'object') {
    const clean: Record<string, string> = {}
    let any = false
    for (const key of Object.keys(attributes)) {
      const value = attributes[key]
      if (typeof value === 'string') {
        clean[key] = value
        any = true
      }
    }
    if (any) json += ',"attributes":' + JSON.stringify(clean)
  }
  const priority = context.samplingPriority
  if (typeof priority === 'number' && priority >= 0) json += priority > 0 ? ',"flags":1' : ',"flags":0'
  if (typeof context.tracestate === 'string' && context.tracestate !== '') json += ',"tracestate":' + JSON.stringify(context.tracestate)
  return json + '}'
}

/** `_dd.span_links`: the JSON array dd-trace sends in v0.4 payloads (ids as 32 and 16 hex digits). */
export function formatSpanLinks(links: readonly SpanLink[]): string | undefined {
  let out = ''
  for (const link of links) {
    const json = linkJson(link)
    if (json === undefined) continue
    out += (out === '' ? '[' : ',') + json
  }
  if (out === '') return undefined
  out += ']'
  return out.length > MAX_LINKS_LENGTH ? out.slice(0, MAX_LINKS_LENGTH) : out
}

/**
 * What a span started from a remote context takes from it beyond ids and sampling (which the tracer
 * copies): baggage and other vendors' tracestate members for the whole trace, and on the span itself
 * `_dd.parent_id`, `baggage.<key>` tags and `_dd.span_links`.
 */
export function applyRemoteParent(span: CoreSpan, remote: SpanContext, config: PropagationConfig): void {
  const trace = span.trace
  const meta = span.meta
  const baggage = remote.baggage
  if (baggage !== undefined && baggage !== null && typeof baggage === 'object') {
    trace.baggage = baggage
    const keys = config.baggageTagKeys
    if (keys === 'all') {
      for (const key of Object.keys(baggage)) {
        const value = baggage[key]
        if (typeof value === 'string') meta['baggage.' + key] = value
      }
    } else {
      for (const key of keys) {
        if (!Object.hasOwn(baggage, key)) continue
        const value = baggage[key]
        if (typeof value === 'string') meta['baggage.' + key] = value
      }
    }
  }
  if (remote.traceId !== 0n) {
    const tracestate = remote.tracestate
    if (typeof tracestate === 'string' && tracestate !== '') {
      // An extracted context was checked member by member already; one built by hand is checked here.
      trace.tracestate = remote instanceof RemoteContext ? tracestate : parseTracestate(tracestate).others
    }
    const lastParentId = remote.lastParentId
    if (typeof lastParentId === 'string' && isHex16(lastParentId)) meta['_dd.parent_id'] = lastParentId
  }
  const links = remote.links
  if (Array.isArray(links) && links.length > 0) {
    const json = formatSpanLinks(links)
    if (json !== undefined) meta['_dd.span_links'] = json
  }
}
