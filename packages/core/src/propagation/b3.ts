import { lastValue, type HeaderCarrier, type HeaderSetter } from './carrier.js'
import type { OutgoingContext } from './outgoing-context.js'
import { RemoteContext } from './remote-context.js'
import { hex16 } from './id-text.js'

// B3 (multi-header and single `b3`), off by default. Ids are 16 or 32 hex digits; `sampled` is 1/0 (`true`/`false`
// from old Zipkin clients too), debug (`d`, or `x-b3-flags: 1`) means USER_KEEP. A header with only a
// sampling decision and no ids is not a context to continue, so it is ignored.
const TRACE_ID = /^(?:[0-9a-f]{16}){1,2}$/
const SPAN_ID = /^[0-9a-f]{16}$/
const SINGLE = /^((?:[0-9a-f]{16}){1,2})-([0-9a-f]{16})(?:-([01d])(?:-([0-9a-f]{16}))?)?$/
const ZERO_16 = '0000000000000000'
const MAX_SINGLE_LENGTH = 128
/** Longest id text looked at (32 hex digits and some spaces). */
const MAX_ID_TEXT = 64

function context(traceHex: string, spanHex: string): RemoteContext | undefined {
  const lowHex = traceHex.length === 32 ? traceHex.slice(16) : traceHex
  if (lowHex === ZERO_16 || spanHex === ZERO_16) return undefined
  const highHex = traceHex.length === 32 ? traceHex.slice(0, 16) : ''
  return new RemoteContext(BigInt('0x' + lowHex), highHex === ZERO_16 ? '' : highHex, BigInt('0x' + spanHex))
}

function priority(sampled: string | undefined, debug: boolean): number | undefined {
  if (debug) return 2
  if (sampled === '1' || sampled === 'true') return 1
  if (sampled === '0' || sampled === 'false') return 0
  return undefined
}

/** The `x-b3-*` context in `carrier`, or undefined. */
export function extractB3Multi(carrier: HeaderCarrier): RemoteContext | undefined {
  const rawTrace = lastValue(carrier['x-b3-traceid'])
  const rawSpan = lastValue(carrier['x-b3-spanid'])
  if (rawTrace === undefined || rawSpan === undefined || rawTrace.length > MAX_ID_TEXT || rawSpan.length > MAX_ID_TEXT) return undefined
  const traceHex = rawTrace.trim().toLowerCase()
  const spanHex = rawSpan.trim().toLowerCase()
  if (!TRACE_ID.test(traceHex) || !SPAN_ID.test(spanHex)) return undefined
  const result = context(traceHex, spanHex)
  if (result === undefined) return undefined
  result.samplingPriority = priority(lastValue(carrier['x-b3-sampled'])?.trim().toLowerCase(), lastValue(carrier['x-b3-flags'])?.trim() === '1')
  return result
}

/** The single-header `b3` context in `carrier`, or undefined. */
export function extractB3Single(carrier: HeaderCarrier): RemoteContext | undefined {
  const header = lastValue(carrier.b3)
  if (header === undefined || header.length > MAX_SINGLE_LENGTH) return undefined
  const match = SINGLE.exec(header.trim().toLowerCase())
  if (match === null) return undefined
  const result = context(match[1], match[2])
  if (result === undefined) return undefined
  const sampled = match[3] as string | undefined
  result.samplingPriority = priority(sampled, sampled === 'd')
  return result
}

function traceHex(context: OutgoingContext): string {
  return context.traceIdHigh === '' ? hex16(context.traceId) : context.traceIdHigh + hex16(context.traceId)
}

export function injectB3Multi<C>(context: OutgoingContext, carrier: C, set: HeaderSetter<C>): void {
  const p = context.samplingPriority
  set(carrier, 'x-b3-traceid', traceHex(context))
  set(carrier, 'x-b3-spanid', hex16(context.spanId))
  if (p !== undefined) set(carrier, 'x-b3-sampled', p > 0 ? '1' : '0')
  if (p !== undefined && p > 1) set(carrier, 'x-b3-flags', '1')
  if (context.parentId !== 0n) set(carrier, 'x-b3-parentspanid', hex16(context.parentId))
}

export function injectB3Single<C>(context: OutgoingContext, carrier: C, set: HeaderSetter<C>): void {
  const p = context.samplingPriority
  let header = traceHex(context) + '-' + hex16(context.spanId)
  if (p !== undefined) header += p > 0 ? '-1' : '-0'
  if (p !== undefined && context.parentId !== 0n) header += '-' + hex16(context.parentId)
  set(carrier, 'b3', header)
}
