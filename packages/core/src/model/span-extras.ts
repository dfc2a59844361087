import { performance } from 'node:perf_hooks'
import type { SpanContext, SpanLink } from './span-context.js'
import type { SpanAttributes, SpanAttributeValue, SpanTime } from './span-interface.js'
import { MAX_META_VALUE_LENGTH } from './tag-values.js'

// Links and events are rare next to tags, so they live in an object a span makes only when it gets
// its first one: the span itself keeps one field for them. The limits are OpenTelemetry's defaults, plus
// a budget of characters per span, since each value may hold 25,000 of them.

/** Links kept per span; later ones are counted in `droppedLinks`. */
export const MAX_LINKS_PER_SPAN = 128
/** Events kept per span; later ones are counted in `droppedEvents`. */
export const MAX_EVENTS_PER_SPAN = 128
/** Attributes kept per link or event (array items count one each); the rest are counted in `droppedAttributes`. */
export const MAX_ATTRIBUTES = 128
/** Characters of names, keys and string values a span keeps in its links and events together. */
export const MAX_EXTRAS_CHARS = 100_000

const timeOrigin = performance.timeOrigin

/** Something that happened at a point in a span. */
export interface SpanEvent {
  readonly name: string
  /** Epoch milliseconds. */
  readonly time: number
  readonly attributes: Readonly<Record<string, SpanAttributeValue>>
}

/** The links and events of one span, and what was left out of them. */
export class SpanExtras {
  readonly links: SpanLink[] = []
  readonly events: SpanEvent[] = []
  /** Links not kept: past the limit or the character budget, or naming no valid span. */
  droppedLinks = 0
  /** Events not kept: past the limit or the character budget. */
  droppedEvents = 0
  /** Attributes left out of kept links and events: past the limit, or of a type an attribute cannot have. */
  droppedAttributes = 0
  /** Characters held, against MAX_EXTRAS_CHARS. */
  chars = 0
}

function epochMs(time: SpanTime | undefined): number {
  if (typeof time === 'number' && Number.isFinite(time)) return time
  if (time instanceof Date && !Number.isNaN(time.getTime())) return time.getTime()
  return timeOrigin + performance.now()
}

function cut(value: string): string {
  return value.length > MAX_META_VALUE_LENGTH ? value.slice(0, MAX_META_VALUE_LENGTH) : value
}

/** A copy of an array attribute if its items are all strings, all finite numbers or all booleans. */
function arrayValue(value: readonly unknown[], room: number): SpanAttributeValue | undefined {
  if (value.length > room) return undefined
  const kind = value.length === 0 ? 'string' : typeof value[0]
  if (kind !== 'string' && kind !== 'number' && kind !== 'boolean') return undefined
  const copy: unknown[] = []
  for (const item of value) {
    if (typeof item !== kind || (kind === 'number' && !Number.isFinite(item))) return undefined
    copy.push(kind === 'string' ? cut(item as string) : item)
  }
  return Object.freeze(copy) as SpanAttributeValue
}

function attributeValue(value: unknown, room: number): SpanAttributeValue | undefined {
  if (typeof value === 'string') return cut(value)
  if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return value
  return Array.isArray(value) ? arrayValue(value as unknown[], room) : undefined
}

function charsOf(value: SpanAttributeValue): number {
  if (typeof value === 'string') return value.length
  if (!Array.isArray(value)) return 8
  let chars = 0
  for (const item of value as readonly unknown[]) chars += typeof item === 'string' ? item.length : 8
  return chars
}

/** Attributes as a link or event keeps them, with the characters they hold. */
function typedAttributes(extras: SpanExtras, attributes: SpanAttributes | undefined): { values: Record<string, SpanAttributeValue>; chars: number } {
  const values: Record<string, SpanAttributeValue> = {}
  let chars = 0
  if (attributes === undefined || attributes === null || typeof attributes !== 'object') return { values, chars }
  let count = 0
  let dropped = 0
  for (const key of Object.keys(attributes)) {
    const value: unknown = attributes[key]
    if (value === undefined) continue
    const kept = count < MAX_ATTRIBUTES ? attributeValue(value, MAX_ATTRIBUTES - count) : undefined
    if (kept === undefined) {
      dropped++
      continue
    }
    count += Array.isArray(kept) ? Math.max(kept.length, 1) : 1
    chars += key.length + charsOf(kept)
    values[key] = kept
  }
  extras.droppedAttributes += dropped
  return { values, chars }
}

/** Link attributes as Datadog sends them: strings, arrays flattened to `key.0`, `key.1`, ... */
function linkAttributes(extras: SpanExtras, attributes: SpanAttributes | undefined): { values: Record<string, string>; chars: number } {
  const typed = typedAttributes(extras, attributes)
  const values: Record<string, string> = {}
  for (const key of Object.keys(typed.values)) {
    const value = typed.values[key]
    if (Array.isArray(value)) (value as readonly unknown[]).forEach((item, i) => (values[`${key}.${i}`] = String(item)))
    else values[key] = String(value)
  }
  return { values, chars: typed.chars }
}

/** Keeps a link, unless the span has its fill of them or `context` names no span. */
export function addLink(extras: SpanExtras, context: SpanContext, attributes: SpanAttributes | undefined): void {
  const traceId = context?.traceId
  const spanId = context?.spanId
  if (extras.links.length >= MAX_LINKS_PER_SPAN || typeof traceId !== 'bigint' || typeof spanId !== 'bigint' || traceId <= 0n || spanId < 0n) {
    extras.droppedLinks++
    return
  }
  const { values, chars } = linkAttributes(extras, attributes)
  // The tracestate goes whole, the dd member included: it tells the linked trace's state as it was.
  const tracestate = typeof context.tracestate === 'string' && context.tracestate !== '' ? cut(context.tracestate) : undefined
  const total = chars + (tracestate?.length ?? 0)
  if (extras.chars + total > MAX_EXTRAS_CHARS) {
    extras.droppedLinks++
    return
  }
  extras.chars += total
  // A copy of what a link sends, so that a context the caller changes later cannot change the link.
  const linked: SpanContext = Object.freeze({
    traceId,
    traceIdHigh: typeof context.traceIdHigh === 'string' ? context.traceIdHigh : '',
    spanId,
    samplingPriority: typeof context.samplingPriority === 'number' ? context.samplingPriority : undefined,
    tracestate
  })
  extras.links.push(Object.freeze({ context: linked, attributes: Object.freeze(values) }))
}

/** Keeps an event, unless the span has its fill of them. */
export function addEvent(extras: SpanExtras, name: unknown, attributes: SpanAttributes | undefined, time: SpanTime | undefined): void {
  if (extras.events.length >= MAX_EVENTS_PER_SPAN) {
    extras.droppedEvents++
    return
  }
  const eventName = cut(typeof name === 'string' ? name : String(name))
  const { values, chars } = typedAttributes(extras, attributes)
  if (extras.chars + eventName.length + chars > MAX_EXTRAS_CHARS) {
    extras.droppedEvents++
    return
  }
  extras.chars += eventName.length + chars
  extras.events.push(Object.freeze({ name: eventName, time: epochMs(time), attributes: Object.freeze(values) }))
}
