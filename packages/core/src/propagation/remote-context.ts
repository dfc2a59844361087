import type { SpanContext, SpanLink } from '../model/span-context.js'

/**
 * A context read from headers: mutable while the styles are merged, then handed out as a readonly
 * `SpanContext`. Every field is set in the constructor, so all extracted contexts share one shape.
 * A trace id of 0n means "no trace to continue": such a context only carries baggage or links into
 * a new trace.
 */
export class RemoteContext implements SpanContext {
  traceId: bigint
  traceIdHigh: string
  spanId: bigint
  samplingPriority: number | undefined
  origin: string | undefined
  traceTags: Record<string, string>
  baggage: Record<string, string> | undefined
  /** The tracestate received: every valid member, the dd member first (what a link to this context sends). */
  tracestate: string | undefined
  /** The other vendors' members of it: what a trace continued from this context sends on after its own dd member. */
  otherMembers: string | undefined
  randomTraceId: boolean
  lastParentId: string | undefined
  links: SpanLink[] | undefined

  constructor(traceId: bigint, traceIdHigh: string, spanId: bigint) {
    this.traceId = traceId
    this.traceIdHigh = traceIdHigh
    this.spanId = spanId
    this.samplingPriority = undefined
    this.origin = undefined
    this.traceTags = {}
    this.baggage = undefined
    this.tracestate = undefined
    this.otherMembers = undefined
    this.randomTraceId = false
    this.lastParentId = undefined
    this.links = undefined
  }
}

/** The largest 64-bit id. */
export const MAX_U64 = 0xffff_ffff_ffff_ffffn

/** True when `text[start..end)` is lowercase hex digits. Character loops: 3–5× faster than a regex here. */
export function isLowerHex(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i)
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false
  }
  return true
}

/** 16 lowercase hex digits, not all zero: a valid `_dd.p.tid` or `p`. */
export function isHex16(text: string): boolean {
  return text.length === 16 && isLowerHex(text, 0, 16) && text !== '0000000000000000'
}

/**
 * The 16 hex digits at `text[start..end)` in lower case, when they are 16 and not all zero (a valid
 * `_dd.p.tid` or `p`); undefined otherwise. Checked in place: lower case, what tracers send, is sliced
 * once, where slicing, lower-casing and checking the copy cost ~2.5× as much.
 */
export function hex16At(text: string, start: number, end: number): string | undefined {
  if (end - start !== 16) return undefined
  let upper = false
  let zero = true
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      if (c !== 48) zero = false
    } else if (c >= 97 && c <= 102) {
      zero = false
    } else if (c >= 65 && c <= 70) {
      zero = false
      upper = true
    } else {
      return undefined
    }
  }
  if (zero) return undefined
  const hex = text.slice(start, end)
  return upper ? hex.toLowerCase() : hex
}

/** Printable ASCII (space to tilde): what can go into a header value unchanged. */
export function isPrintableAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x20 || c > 0x7e) return false
  }
  return true
}

/** Longest origin kept: real ones are a word (`synthetics`, `rum`); anything longer is junk. */
export const MAX_ORIGIN_LENGTH = 256

/** True when `text[start..end)` is non-empty printable ASCII without comma (and without space unless allowed). */
export function isTagRange(text: string, start: number, end: number, allowSpace: boolean): boolean {
  if (end <= start) return false
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c > 0x7e || c === 0x2c || c < 0x20 || (c === 0x20 && !allowSpace)) return false
  }
  return true
}

/**
 * True for a `_dd.p.*` tag that may go into x-datadog-tags: the key is `_dd.p.` and printable ASCII
 * without space or comma, the value printable ASCII without comma, neither empty.
 */
export function isPropagatedTag(key: string, value: string): boolean {
  return key.startsWith('_dd.p.') && isTagRange(key, 6, key.length, false) && isTagRange(value, 0, value.length, true)
}
