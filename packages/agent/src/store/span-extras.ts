import type { ReceivedSpan } from '../intake/types.js'

// A span's events and links as the page and the query API show them, whichever way the tracer sent
// them: events in the native `span_events` field or as the JSON of meta `events` (what dd-trace sends
// by default); links in meta `_dd.span_links` (JSON, what dd-trace sends) or the native `span_links`
// field. What cannot be read (JSON cut at the meta value limit, fields of the wrong type) is left out;
// the raw values stay in the span's meta and fields.

export interface ShownEvent {
  name: string
  /** ns since the epoch, decimal. */
  time: string
  /** ns from the span's start. */
  offsetNs: number
  attributes: Record<string, unknown>
}

export interface ShownLink {
  /** 32 hex digits. */
  traceId: string
  /** The low 64 bits in decimal: what `/api/traces/<id>` and the page's `#/trace/<id>` take. */
  traceIdLow: string
  /** 16 hex digits. */
  spanId: string
  attributes: Record<string, string>
  flags?: number
  tracestate?: string
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function toBigInt(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number' && Number.isFinite(value)) return BigInt(Math.round(value))
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value)
  return undefined
}

/** An AnyValue of the native field (`{type, <kind>_value}`) as a plain value. */
function anyValue(value: unknown): unknown {
  if (!isRecord(value)) return value
  switch (value.type) {
    case 0:
      return value.string_value
    case 1:
      return value.bool_value
    case 2:
      return typeof value.int_value === 'bigint' ? value.int_value.toString() : value.int_value
    case 3:
      return value.double_value
    case 4: {
      const array = value.array_value
      return isRecord(array) && Array.isArray(array.values) ? array.values.map(anyValue) : []
    }
    default:
      return value
  }
}

function shownEvent(raw: unknown, span: ReceivedSpan, native: boolean): ShownEvent | undefined {
  if (!isRecord(raw) || typeof raw.name !== 'string') return undefined
  const time = toBigInt(raw.time_unix_nano)
  if (time === undefined) return undefined
  const attributes: Record<string, unknown> = {}
  if (isRecord(raw.attributes)) {
    for (const [key, value] of Object.entries(raw.attributes)) {
      Object.defineProperty(attributes, key, { value: native ? anyValue(value) : value, enumerable: true, writable: true, configurable: true })
    }
  }
  return { name: raw.name, time: time.toString(), offsetNs: Number(time - span.start), attributes }
}

/** The span's events, oldest first; undefined when it has none. */
export function shownEvents(span: ReceivedSpan): ShownEvent[] | undefined {
  const native = span.span_events
  // Epoch ns are past 2^53: quoted before parsing, so JSON.parse keeps every digit.
  const list = native ?? parseJson(span.meta.events?.replace(/"time_unix_nano":(\d+)/g, '"time_unix_nano":"$1"'))
  if (!Array.isArray(list)) return undefined
  const events: ShownEvent[] = []
  for (const raw of list) {
    const event = shownEvent(raw, span, native !== undefined)
    if (event !== undefined) events.push(event)
  }
  return events.length > 0 ? events.sort((a, b) => a.offsetNs - b.offsetNs) : undefined
}

function hex(value: bigint, digits: number): string {
  return value.toString(16).padStart(digits, '0')
}

function stringAttributes(value: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (!isRecord(value)) return out
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === 'string') Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true })
  }
  return out
}

function jsonLink(raw: unknown): ShownLink | undefined {
  if (!isRecord(raw) || typeof raw.trace_id !== 'string' || typeof raw.span_id !== 'string') return undefined
  if (!/^[0-9a-f]{32}$/.test(raw.trace_id) || !/^[0-9a-f]{16}$/.test(raw.span_id)) return undefined
  const link: ShownLink = {
    traceId: raw.trace_id,
    traceIdLow: BigInt('0x' + raw.trace_id.slice(16)).toString(),
    spanId: raw.span_id,
    attributes: stringAttributes(raw.attributes)
  }
  if (typeof raw.flags === 'number') link.flags = raw.flags
  if (typeof raw.tracestate === 'string') link.tracestate = raw.tracestate
  return link
}

function nativeLink(raw: unknown): ShownLink | undefined {
  if (!isRecord(raw)) return undefined
  const low = toBigInt(raw.trace_id)
  const spanId = toBigInt(raw.span_id)
  if (low === undefined || spanId === undefined) return undefined
  const high = toBigInt(raw.trace_id_high) ?? 0n
  const link: ShownLink = { traceId: hex(high, 16) + hex(low, 16), traceIdLow: low.toString(), spanId: hex(spanId, 16), attributes: stringAttributes(raw.attributes) }
  const flags = toBigInt(raw.flags)
  if (flags !== undefined) link.flags = Number(flags)
  if (typeof raw.tracestate === 'string') link.tracestate = raw.tracestate
  return link
}

/** The span's links, from `_dd.span_links` and the native field; undefined when it has none. */
export function shownLinks(span: ReceivedSpan): ShownLink[] | undefined {
  const links: ShownLink[] = []
  const json = parseJson(span.meta['_dd.span_links'])
  if (Array.isArray(json)) {
    for (const raw of json) {
      const link = jsonLink(raw)
      if (link !== undefined) links.push(link)
    }
  }
  for (const raw of span.span_links ?? []) {
    const link = nativeLink(raw)
    if (link !== undefined) links.push(link)
  }
  return links.length > 0 ? links : undefined
}
