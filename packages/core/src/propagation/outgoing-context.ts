import type { SpanContext } from '../model/span-context.js'
import type { CoreSpan } from '../model/span.js'
import { isHex16, isPrintableAscii, MAX_U64, RemoteContext } from './remote-context.js'
import { parseTracestate } from './tracestate.js'

/**
 * What the injectors write: built once per injection from a local span and its trace, or from a
 * `SpanContext` given by the caller. One class, so every injector sees one object shape.
 */
export class OutgoingContext {
  readonly traceId: bigint
  /** '' for a 64-bit trace. */
  readonly traceIdHigh: string
  readonly spanId: bigint
  /** 0n when unknown (a caller's SpanContext) or for a root span; b3 writes it when set. */
  readonly parentId: bigint
  readonly samplingPriority: number | undefined
  /** `_dd.p.dm`, written only with a kept priority. */
  readonly decisionMaker: string | undefined
  readonly origin: string | undefined
  /** `_dd.p.*` other than `_dd.p.tid` and `_dd.p.dm`. */
  readonly tags: Readonly<Record<string, string>>
  readonly baggage: Readonly<Record<string, string>> | undefined
  /** Other vendors' tracestate members. */
  readonly tracestate: string | undefined
  /**
   * `p` of the dd tracestate member: undefined for a local span (its own id is written), the upstream
   * value (possibly none) for a remote context.
   */
  readonly lastParentId: string | undefined
  readonly remote: boolean
  /** The W3C random flag, written back as received. */
  readonly randomTraceId: boolean

  constructor(
    traceId: bigint,
    traceIdHigh: string,
    spanId: bigint,
    parentId: bigint,
    samplingPriority: number | undefined,
    decisionMaker: string | undefined,
    origin: string | undefined,
    tags: Readonly<Record<string, string>>,
    baggage: Readonly<Record<string, string>> | undefined,
    tracestate: string | undefined,
    lastParentId: string | undefined,
    remote: boolean,
    randomTraceId = false
  ) {
    this.traceId = traceId
    this.traceIdHigh = traceIdHigh
    this.spanId = spanId
    this.parentId = parentId
    this.samplingPriority = samplingPriority
    this.decisionMaker = decisionMaker
    this.origin = origin
    this.tags = tags
    this.baggage = baggage
    this.tracestate = tracestate
    this.lastParentId = lastParentId
    this.remote = remote
    this.randomTraceId = randomTraceId
  }
}

/** The outgoing context of a local span: its trace's state, and its own id as `p`. */
export function outgoingFromSpan(span: CoreSpan): OutgoingContext {
  const trace = span.trace
  return new OutgoingContext(
    trace.traceId,
    trace.traceIdHigh,
    span.spanId,
    span.parentId,
    trace.samplingPriority,
    trace.decisionMaker,
    trace.origin,
    trace.tags,
    trace.baggage,
    trace.tracestate,
    undefined,
    false,
    trace.randomTraceId
  )
}

/**
 * The outgoing context of a caller's `SpanContext` (one extracted earlier, forwarded as is). Its fields
 * are checked here, since it may have been built by hand: invalid ones are left out. Undefined when
 * the ids are not usable.
 */
export function outgoingFromContext(context: SpanContext): OutgoingContext | undefined {
  const traceId = context.traceId
  const spanId = context.spanId
  if (typeof traceId !== 'bigint' || typeof spanId !== 'bigint' || traceId <= 0n || traceId > MAX_U64 || spanId < 0n || spanId > MAX_U64) return undefined
  const high = typeof context.traceIdHigh === 'string' && isHex16(context.traceIdHigh) ? context.traceIdHigh : ''
  const priority = context.samplingPriority
  const tags: Record<string, string> = {}
  let decisionMaker: string | undefined
  const incoming = context.traceTags
  if (incoming !== undefined && incoming !== null && typeof incoming === 'object') {
    for (const key of Object.keys(incoming)) {
      const value = incoming[key]
      if (typeof value !== 'string') continue
      if (key === '_dd.p.dm') decisionMaker = value
      else if (key !== '_dd.p.tid' && key.startsWith('_dd.p.')) tags[key] = value
    }
  }
  const baggage = context.baggage !== null && typeof context.baggage === 'object' ? context.baggage : undefined
  // The dd member is written anew from the context's fields: only the other vendors' members go on.
  const tracestate = context instanceof RemoteContext ? context.otherMembers : typeof context.tracestate === 'string' ? parseTracestate(context.tracestate).others : undefined
  const lastParentId = typeof context.lastParentId === 'string' && isHex16(context.lastParentId) ? context.lastParentId : undefined
  return new OutgoingContext(
    traceId,
    high,
    spanId,
    0n,
    typeof priority === 'number' && Number.isInteger(priority) && priority >= -1 && priority <= 2 ? priority : undefined,
    decisionMaker,
    typeof context.origin === 'string' && isPrintableAscii(context.origin) ? context.origin : undefined,
    tags,
    baggage,
    tracestate,
    lastParentId,
    true,
    context.randomTraceId === true
  )
}
