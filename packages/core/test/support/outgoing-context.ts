import { OutgoingContext } from '../../src/propagation/outgoing-context.js'

/** An OutgoingContext from `defaults` overridden by `fields` (a field set to undefined stays undefined). */
export function outgoingContext(defaults: Partial<OutgoingContext>, fields: Partial<OutgoingContext> = {}): OutgoingContext {
  const f = { ...defaults, ...fields }
  return new OutgoingContext(
    f.traceId ?? 0n,
    f.traceIdHigh ?? '',
    f.spanId ?? 0n,
    f.parentId ?? 0n,
    f.samplingPriority,
    f.decisionMaker,
    f.origin,
    f.tags ?? {},
    f.baggage,
    f.tracestate,
    f.lastParentId,
    f.remote ?? false,
    f.randomTraceId ?? false
  )
}
