import type { SpanContext } from '../model/span-context.js'
import { listValue, uniqueValue, type HeaderCarrier, type HeaderSetter } from './carrier.js'
import { hex16, hexToU64 } from './id-text.js'
import type { OutgoingContext } from './outgoing-context.js'
import { hex16At, isLowerHex, isPrintableAscii, isPropagatedTag, MAX_ORIGIN_LENGTH, RemoteContext } from './remote-context.js'
import { MAX_TRACESTATE_VALUE_LENGTH, parseTracestate, wholeTracestate } from './tracestate.js'

// W3C Trace Context (traceparent and tracestate). Upper-case hex is accepted on extract, as dd-trace does; a
// version other than 00 may carry a tail, version ff is invalid. Parsing is done with index and
// character loops rather than regexes and splits: extract runs on every request (~4× faster, measured).
const ZERO_16 = '0000000000000000'
/** Longer traceparent values are not looked at: a valid one has 55 characters (more for future versions). */
const MAX_TRACEPARENT_LENGTH = 512

// What the dd member may hold (dd-trace's filters): origin and tag values lose `,` `;` `~` and
// control characters, keys also lose spaces and `=`; `=` in values is written as `~`.
const ORIGIN_OR_VALUE_BAD = /[^\x20-\x2b\x2d-\x3a\x3c-\x7d]/g
const KEY_BAD = /[^\x21-\x2b\x2d-\x3c\x3e-\x7e]/g

/** A small signed integer (`-4`, `1`) at `text[start..end)`, or NaN. */
function smallInt(text: string, start: number, end: number): number {
  const negative = text.charCodeAt(start) === 45
  let i = negative ? start + 1 : start
  if (i === end || end - i > 4) return NaN
  let value = 0
  for (; i < end; i++) {
    const d = text.charCodeAt(i) - 48
    if (d < 0 || d > 9) return NaN
    value = value * 10 + d
  }
  return negative ? -value : value
}

/** Reads the fields of the dd member (`s:1;o:rum;p:<16 hex>;t.dm:-4;t.<tag>:<value>`); bad fields are skipped. */
function readDdMember(context: RemoteContext, dd: string, sampled: boolean): void {
  let pos = 0
  while (pos < dd.length) {
    let end = dd.indexOf(';', pos)
    if (end === -1) end = dd.length
    const start = pos
    const colon = dd.indexOf(':', pos)
    pos = end + 1
    if (colon === -1 || colon >= end || colon === start || colon + 1 === end) continue
    const keyLength = colon - start
    const k0 = dd.charCodeAt(start)
    if (keyLength === 1 && k0 === 115 /* s */) {
      const s = smallInt(dd, colon + 1, end)
      // `s` refines the priority only when it agrees with the sampled flag.
      if (s >= -1 && s <= 2 && (sampled ? s > 0 : s <= 0)) context.samplingPriority = s
    } else if (keyLength === 1 && k0 === 111 /* o */) {
      const value = dd.slice(colon + 1, end)
      const origin = value.includes('~') ? value.replaceAll('~', '=') : value
      if (origin.length <= MAX_ORIGIN_LENGTH && isPrintableAscii(origin)) context.origin = origin
    } else if (keyLength === 1 && k0 === 112 /* p */) {
      const p = hex16At(dd, colon + 1, end)
      if (p !== undefined) context.lastParentId = p
    } else if (keyLength > 2 && k0 === 116 /* t */ && dd.charCodeAt(start + 1) === 46 /* . */) {
      if (keyLength === 5 && dd.startsWith('tid', start + 2)) continue
      if (keyLength === 4 && dd.startsWith('dm', start + 2)) {
        const mechanism = smallInt(dd, colon + 1, end)
        if (!Number.isNaN(mechanism)) context.traceTags['_dd.p.dm'] = dd.charCodeAt(colon + 1) === 45 ? dd.slice(colon + 1, end) : '-' + String(mechanism)
        continue
      }
      const tagKey = '_dd.p.' + dd.slice(start + 2, colon)
      const value = dd.slice(colon + 1, end)
      const tagValue = value.includes('~') ? value.replaceAll('~', '=') : value
      if (isPropagatedTag(tagKey, tagValue)) context.traceTags[tagKey] = tagValue
    }
  }
}

/**
 * A context from W3C `traceparent` and `tracestate` values, read as extraction reads them (the dd
 * member included) whatever styles a tracer is configured with: what the OpenTelemetry bridge makes of
 * an OpenTelemetry span context. Null when the traceparent is invalid.
 */
export function contextFromTraceparent(traceparent: string, tracestate?: string): SpanContext | null {
  return extractTraceContext({ traceparent, tracestate }) ?? null
}

/** The W3C context in `carrier`, or undefined when traceparent is missing or invalid. */
export function extractTraceContext(carrier: HeaderCarrier): RemoteContext | undefined {
  const raw = uniqueValue(carrier.traceparent)
  if (raw === undefined || raw.length < 55 || raw.length > MAX_TRACEPARENT_LENGTH) return undefined
  // `version-traceid(32)-parentid(16)-flags(2)`, dashes at 2, 35 and 52.
  const tp = raw.trim().toLowerCase()
  if (tp.length < 55 || tp.charCodeAt(2) !== 45 || tp.charCodeAt(35) !== 45 || tp.charCodeAt(52) !== 45) return undefined
  if (!isLowerHex(tp, 0, 2) || !isLowerHex(tp, 3, 35) || !isLowerHex(tp, 36, 52) || !isLowerHex(tp, 53, 55)) return undefined
  const version = tp.slice(0, 2)
  if (version === 'ff') return undefined
  if (tp.length > 55 && (version === '00' || tp.charCodeAt(55) !== 45)) return undefined
  const lowHex = tp.slice(19, 35)
  const spanHex = tp.slice(36, 52)
  // A trace id whose low half is zero cannot be sent to the agent (trace_id 0 is dropped): invalid here.
  if (lowHex === ZERO_16 || spanHex === ZERO_16) return undefined
  const highHex = tp.slice(3, 19)
  const context = new RemoteContext(hexToU64(tp, 19), highHex === ZERO_16 ? '' : highHex, hexToU64(tp, 36))
  const flags = parseInt(tp.slice(53, 55), 16)
  const sampled = (flags & 1) === 1
  context.samplingPriority = sampled ? 1 : 0
  context.randomTraceId = (flags & 2) === 2
  const tracestate = listValue(carrier.tracestate)
  if (tracestate !== undefined && tracestate !== '') {
    const parsed = parseTracestate(tracestate)
    context.otherMembers = parsed.others
    context.tracestate = wholeTracestate(parsed)
    if (parsed.dd !== undefined) readDdMember(context, parsed.dd, sampled)
  }
  return context
}

function sanitizeValue(value: string): string {
  // Nearly every value is already clean (`rum`, `-4`): check before paying for two replaces.
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c < 0x20 || c > 0x7d || c === 0x2c || c === 0x3b || c === 0x3d) return value.replace(ORIGIN_OR_VALUE_BAD, '_').replaceAll('=', '~')
  }
  return value
}

/** The value of the dd tracestate member, at most 256 characters (optional `t.*` fields dropped first); '' when none fits. */
export function formatDdMember(context: OutgoingContext, spanHex: string): string {
  let dd = ''
  const priority = context.samplingPriority
  if (priority !== undefined) dd = 's:' + String(priority)
  const p = context.remote ? context.lastParentId : spanHex
  if (p !== undefined) dd += (dd === '' ? 'p:' : ';p:') + p
  if (context.origin !== undefined && context.origin !== '') dd += (dd === '' ? 'o:' : ';o:') + sanitizeValue(context.origin)
  const dm = context.decisionMaker
  if (dm !== undefined && priority !== undefined && priority > 0) dd += (dd === '' ? 't.dm:' : ';t.dm:') + sanitizeValue(dm)
  dd = dd.trimEnd()
  if (dd.length > MAX_TRACESTATE_VALUE_LENGTH) return ''
  if (context.traceIdHigh !== '') {
    const field = 't.tid:' + context.traceIdHigh
    if (dd.length + field.length + 1 > MAX_TRACESTATE_VALUE_LENGTH) return dd
    dd += (dd === '' ? '' : ';') + field
  }
  const tags = context.tags
  for (const key in tags) {
    const value = tags[key]
    if (!key.startsWith('_dd.p.') || key === '_dd.p.dm' || key === '_dd.p.tid' || typeof value !== 'string' || value === '') continue
    const field = ('t.' + key.slice(6)).replace(KEY_BAD, '_') + ':' + sanitizeValue(value).trimEnd()
    // Optional fields are dropped from the first one that does not fit: the mandatory part stays.
    if (dd.length + field.length + 1 > MAX_TRACESTATE_VALUE_LENGTH) break
    dd += (dd === '' ? '' : ';') + field
  }
  return dd
}

/** Writes `traceparent` and `tracestate` (the dd member first, then the other vendors' members). */
export function injectTraceContext<C>(context: OutgoingContext, carrier: C, set: HeaderSetter<C>): void {
  const spanHex = hex16(context.spanId)
  const high = context.traceIdHigh === '' ? ZERO_16 : context.traceIdHigh
  const sampled = context.samplingPriority !== undefined && context.samplingPriority > 0
  // Flags: sampled (0x01) from the priority; random (0x02) only as received, since this tracer's own
  // trace ids do not promise it.
  const flags = context.randomTraceId ? (sampled ? '-03' : '-02') : sampled ? '-01' : '-00'
  set(carrier, 'traceparent', '00-' + high + hex16(context.traceId) + '-' + spanHex + flags)
  const dd = formatDdMember(context, spanHex)
  const others = context.tracestate
  const state = dd === '' ? (others ?? '') : others === undefined || others === '' ? 'dd=' + dd : 'dd=' + dd + ',' + others
  if (state !== '') set(carrier, 'tracestate', state)
}
