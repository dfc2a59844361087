import type { SpanContext, SpanLink } from '../model/span-context.js'
import type { CoreSpan } from '../model/span.js'
import { isHex16, RemoteContext } from './remote-context.js'
import type { PropagationConfig } from './styles.js'
import { parseTracestate } from './tracestate.js'

/**
 * What a span started from a remote context takes from it beyond ids and sampling (which the tracer
 * copies): baggage and other vendors' tracestate members for the whole trace, and on the span itself
 * `_dd.parent_id`, `baggage.<key>` tags, and links to the contexts it names (sent as `_dd.span_links`).
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
    // An extracted context was checked member by member already; one built by hand is checked here.
    // Only the other vendors' members are kept: the trace's own dd member is written on inject.
    if (remote instanceof RemoteContext) trace.tracestate = remote.otherMembers
    else if (typeof remote.tracestate === 'string' && remote.tracestate !== '') trace.tracestate = parseTracestate(remote.tracestate).others
    const lastParentId = remote.lastParentId
    if (typeof lastParentId === 'string' && isHex16(lastParentId)) meta['_dd.parent_id'] = lastParentId
  }
  const links = remote.links
  if (links !== undefined && links !== null && Array.isArray(links)) {
    for (const link of links as readonly SpanLink[]) span.addLink(link.context, link.attributes)
  }
}
