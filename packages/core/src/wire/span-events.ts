import type { SpanEvent } from '../model/span-extras.js'
import type { SpanAttributeValue } from '../model/span-interface.js'
import type { MsgpackWriter } from './msgpack-writer.js'

// Span events as dd-trace sends them. By default, meta `events`: a JSON array of
// `{name, time_unix_nano, attributes}` (attributes left out when empty), in v0.4 and v0.5. With native
// span events on (v0.4 only: v0.5's span is a fixed array of 12 with no slot for them), the span's own
// `span_events` field: `{time_unix_nano u64, name, attributes: map of AnyValue}`, an AnyValue being
// `{type: 0 string | 1 bool | 2 int | 3 double | 4 array, <kind>_value}`.

/** Where events go unless they are native: the meta key dd-trace uses. */
export const EVENTS_KEY = 'events'

/**
 * Epoch ms as the decimal digits of epoch ns. Through microseconds, which stay below 2^53, so no
 * BigInt: event times are `performance` readings, good to a fraction of a microsecond at best.
 */
function epochNsText(ms: number): string {
  const us = Math.round(ms * 1000)
  return us > 0 ? String(us) + '000' : '0'
}

function epochNs(ms: number): bigint {
  const us = Math.round(ms * 1000)
  return us > 0 ? BigInt(us) * 1000n : 0n
}

/** The meta `events` value for `events`; undefined when there are none. */
export function spanEventsJson(events: readonly SpanEvent[]): string | undefined {
  if (events.length === 0) return undefined
  let out = '['
  for (let i = 0; i < events.length; i++) {
    const event = events[i]
    if (i > 0) out += ','
    out += '{"name":' + JSON.stringify(event.name) + ',"time_unix_nano":' + epochNsText(event.time)
    const attributes = event.attributes
    // Attribute values were checked when the event was added: strings, finite numbers, booleans, and
    // arrays of one of them, which JSON writes as they are.
    if (Object.keys(attributes).length > 0) out += ',"attributes":' + JSON.stringify(attributes)
    out += '}'
  }
  return out + ']'
}

const TWO_31 = 0x8000_0000
const TWO_32 = 0x1_0000_0000

/** A safe integer as msgpack int: the agent reads `int_value` as int64, never from a float. */
function writeInteger(w: MsgpackWriter, n: number): void {
  if (n >= -TWO_31 && n < TWO_32) {
    w.number(n)
    return
  }
  const bits = BigInt.asUintN(64, BigInt(n))
  w.int64Parts(Number(bits >> 32n), Number(bits & 0xffff_ffffn))
}

function writeAnyValue(w: MsgpackWriter, value: SpanAttributeValue): void {
  w.mapHeader(2)
  w.string('type')
  if (typeof value === 'string') {
    w.fixint(0)
    w.string('string_value')
    w.string(value)
  } else if (typeof value === 'boolean') {
    w.fixint(1)
    w.string('bool_value')
    w.raw(value ? TRUE : FALSE)
  } else if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) {
      w.fixint(2)
      w.string('int_value')
      writeInteger(w, value)
    } else {
      w.fixint(3)
      w.string('double_value')
      w.float64(value)
    }
  } else {
    const items = value as readonly (string | number | boolean)[]
    w.fixint(4)
    w.string('array_value')
    w.mapHeader(1)
    w.string('values')
    w.arrayHeader(items.length)
    for (const item of items) writeAnyValue(w, item)
  }
}

const TRUE = Uint8Array.of(0xc3)
const FALSE = Uint8Array.of(0xc2)

/** Writes `events` as the native `span_events` array (the key is the caller's). */
export function writeNativeSpanEvents(w: MsgpackWriter, events: readonly SpanEvent[]): void {
  w.arrayHeader(events.length)
  for (const event of events) {
    const attributes = event.attributes
    const keys = Object.keys(attributes)
    w.mapHeader(keys.length > 0 ? 3 : 2)
    w.string('time_unix_nano')
    w.uint64(epochNs(event.time))
    w.string('name')
    w.string(event.name)
    if (keys.length === 0) continue
    w.string('attributes')
    w.mapHeader(keys.length)
    for (const key of keys) {
      w.string(key)
      writeAnyValue(w, attributes[key])
    }
  }
}
