/**
 * Headers to read from: lowercase names to values, as node's `IncomingHttpHeaders` (a repeated header is
 * an array, or a ', '-joined string). Values of any other type are ignored, never thrown on.
 */
export type HeaderCarrier = Readonly<Record<string, unknown>>

/** Writes one header. Module-level functions, so injecting creates no closure per request. */
export type HeaderSetter<C> = (carrier: C, name: string, value: string) => void

/** The value of a header that must appear once: a string, or the last string of an array. */
export function lastValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (!Array.isArray(value)) return undefined
  for (let i = value.length - 1; i >= 0; i--) {
    const item: unknown = value[i]
    if (typeof item === 'string') return item
  }
  return undefined
}

/** The value of a list header (`tracestate`, `baggage`, `x-datadog-tags`): repeated values joined by commas. */
export function listValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (!Array.isArray(value)) return undefined
  let joined: string | undefined
  for (const item of value as unknown[]) {
    if (typeof item !== 'string') continue
    joined = joined === undefined ? item : joined + ',' + item
  }
  return joined
}

/** The value of `traceparent`: W3C makes a repeated header invalid. */
export function uniqueValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'string') return value[0]
  return undefined
}

export const setOnObject: HeaderSetter<Record<string, unknown>> = (carrier, name, value) => {
  carrier[name] = value
}

export const setOnHeaders: HeaderSetter<Headers> = (carrier, name, value) => {
  carrier.set(name, value)
}

/** Header names read by some style; a fetch `Headers` is copied through these into a plain carrier. */
export const READ_HEADERS: readonly string[] = [
  'x-datadog-trace-id',
  'x-datadog-parent-id',
  'x-datadog-sampling-priority',
  'x-datadog-origin',
  'x-datadog-tags',
  'traceparent',
  'tracestate',
  'baggage',
  'b3',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-sampled',
  'x-b3-flags'
]

/** A plain carrier from a fetch `Headers` (whose `get` already joins repeated values with ', '). */
export function fromHeaders(headers: Headers): Record<string, string> {
  const carrier: Record<string, string> = {}
  for (const name of READ_HEADERS) {
    const value = headers.get(name)
    if (value !== null) carrier[name] = value
  }
  return carrier
}
