import { lastValue, listValue, type HeaderCarrier, type HeaderSetter } from './carrier.js'
import type { OutgoingContext } from './outgoing-context.js'
import { decimalToU64 } from './id-text.js'
import { hex16At, isPrintableAscii, isPropagatedTag, isTagRange, MAX_ORIGIN_LENGTH, RemoteContext } from './remote-context.js'

// Datadog headers (dd-trace's x-datadog-*): ids in decimal, the low 64 bits of the trace id only; the high half
// travels as `_dd.p.tid` in x-datadog-tags.
const PRIORITY = /^-?\d{1,4}$/

const PRIORITY_TEXT: Readonly<Record<string, string | undefined>> = { '-1': '-1', '0': '0', '1': '1', '2': '2' }

/** A decimal 64-bit id; undefined when malformed or past 2^64−1. */
export function parseDecimalId(text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined
  const first = text.charCodeAt(0)
  const last = text.charCodeAt(text.length - 1)
  // Header values are trimmed by Node already; a hand-made carrier may still have spaces.
  return decimalToU64(first === 32 || first === 9 || last === 32 || last === 9 ? text.trim() : text)
}

/** A sampling priority from a header: −1 to 2, else undefined. */
export function parsePriority(text: string | undefined): number | undefined {
  switch (text) {
    case '1':
      return 1
    case '0':
      return 0
    case '2':
      return 2
    case '-1':
      return -1
    case undefined:
      return undefined
  }
  const trimmed = text.trim()
  if (!PRIORITY.test(trimmed)) return undefined
  const priority = Number(trimmed)
  return priority >= -1 && priority <= 2 ? priority : undefined
}

/**
 * Reads `x-datadog-tags` into `context` (`_dd.p.tid` becomes `traceIdHigh`). The whole header is
 * dropped, and false returned, when it is longer than `maxLength` (0: the header is off) or holds one
 * malformed member; an invalid `_dd.p.tid` alone is dropped. Nothing is sliced before it is checked,
 * and the common keys are stored under constant names, which V8 need not internalize per request.
 */
function readTagsHeader(header: string, maxLength: number, context: RemoteContext): boolean {
  if (maxLength <= 0 || header.length > maxLength) return false
  const tags: Record<string, string> = {}
  let high = ''
  let start = 0
  while (start <= header.length) {
    let end = header.indexOf(',', start)
    if (end === -1) end = header.length
    const eq = header.indexOf('=', start)
    if (eq === -1 || eq > end || eq - start <= 6 || !header.startsWith('_dd.p.', start)) return false
    if (!isTagRange(header, start + 6, eq, false) || !isTagRange(header, eq + 1, end, true)) return false
    const keyLength = eq - start
    if (keyLength === 9 && header.startsWith('tid', start + 6)) {
      const tid = hex16At(header, eq + 1, end)
      if (tid !== undefined) high = tid
    } else if (keyLength === 8 && header.startsWith('dm', start + 6)) {
      tags['_dd.p.dm'] = header.slice(eq + 1, end)
    } else {
      tags[header.slice(start, eq)] = header.slice(eq + 1, end)
    }
    start = end + 1
  }
  context.traceTags = tags
  if (high !== '') context.traceIdHigh = high
  return true
}

/** `x-datadog-tags` as `_dd.p.*` tags (see `readTagsHeader`); undefined when it is dropped. */
export function parseTagsHeader(header: string, maxLength: number): Record<string, string> | undefined {
  const context = new RemoteContext(1n, '', 1n)
  if (!readTagsHeader(header, maxLength, context)) return undefined
  return context.traceIdHigh === '' ? context.traceTags : { '_dd.p.tid': context.traceIdHigh, ...context.traceTags }
}

/** The Datadog context in `carrier`, or undefined when the trace id or parent id is missing or invalid. */
export function extractDatadog(carrier: HeaderCarrier, tagsMaxLength: number): RemoteContext | undefined {
  const traceId = parseDecimalId(lastValue(carrier['x-datadog-trace-id']))
  if (traceId === undefined || traceId === 0n) return undefined
  // Parent id 0 is accepted, as dd-trace does: synthetic and RUM callers may send it.
  const parentId = parseDecimalId(lastValue(carrier['x-datadog-parent-id']))
  if (parentId === undefined) return undefined
  const context = new RemoteContext(traceId, '', parentId)
  context.samplingPriority = parsePriority(lastValue(carrier['x-datadog-sampling-priority']))
  const origin = lastValue(carrier['x-datadog-origin'])
  if (origin !== undefined && origin !== '' && origin.length <= MAX_ORIGIN_LENGTH && isPrintableAscii(origin)) context.origin = origin
  const header = listValue(carrier['x-datadog-tags'])
  if (header !== undefined && header !== '') readTagsHeader(header, tagsMaxLength, context)
  return context
}

/** The x-datadog-tags value of `context`: `_dd.p.tid`, `_dd.p.dm` (kept traces) and the other `_dd.p.*` tags. */
export function formatTagsHeader(context: OutgoingContext): string {
  let header = ''
  if (context.traceIdHigh !== '') header = '_dd.p.tid=' + context.traceIdHigh
  const dm = context.decisionMaker
  if (dm !== undefined && context.samplingPriority !== undefined && context.samplingPriority > 0 && isTagRange(dm, 0, dm.length, true)) {
    header += (header === '' ? '_dd.p.dm=' : ',_dd.p.dm=') + dm
  }
  const tags = context.tags
  for (const key in tags) {
    const value = tags[key]
    if (key === '_dd.p.tid' || key === '_dd.p.dm' || typeof value !== 'string' || !isPropagatedTag(key, value)) continue
    header += (header === '' ? '' : ',') + key + '=' + value
  }
  return header
}

/**
 * Writes the Datadog headers. Returns false when x-datadog-tags was longer than `tagsMaxLength` and
 * left out (the other headers are written), so the caller can report it.
 */
export function injectDatadog<C>(context: OutgoingContext, carrier: C, set: HeaderSetter<C>, tagsMaxLength: number): boolean {
  set(carrier, 'x-datadog-trace-id', context.traceId.toString())
  set(carrier, 'x-datadog-parent-id', context.spanId.toString())
  const priority = context.samplingPriority
  if (priority !== undefined) {
    const text = PRIORITY_TEXT[priority]
    set(carrier, 'x-datadog-sampling-priority', text ?? String(priority))
  }
  const origin = context.origin
  if (origin !== undefined && origin !== '' && isPrintableAscii(origin)) set(carrier, 'x-datadog-origin', origin)
  if (tagsMaxLength <= 0) return true
  const header = formatTagsHeader(context)
  if (header === '') return true
  if (header.length > tagsMaxLength) return false
  set(carrier, 'x-datadog-tags', header)
  return true
}
