import { activeSpan as activeCoreSpan } from '../model/context.js'
import { coreSpan } from '../model/span.js'
import type { Span } from '../model/span-interface.js'

/** The span active in the current async context, if any. */
export const activeSpan: () => Span | undefined = activeCoreSpan

/**
 * True when the active span belongs to `span`'s trace in this process: `span` itself, or a span the
 * app started under it. The framework packages use it to re-enter a request's span only when its
 * context was lost; it compares the trace the spans share, so it allocates nothing.
 */
export function isTraceActive(span: Span): boolean {
  const active = activeCoreSpan()
  return active !== undefined && active.trace === coreSpan(span).trace
}
