import type { CoreSpan } from '../model/span.js'

export type ProtocolVersion = '0.4' | '0.5'

/** Builds one payload at a time: `begin`, `append` chunks, `finish`. */
export interface PayloadEncoder {
  readonly protocol: ProtocolVersion
  readonly traceCount: number
  readonly spanCount: number
  readonly byteLength: number
  begin(): void
  /** Adds one trace chunk; false, with nothing written, when it does not fit under the payload cap. */
  append(chunk: readonly CoreSpan[]): boolean
  /** The payload: a copy, so the encoder can start the next one at once. */
  finish(): Buffer
  /** The payload with where each trace and span sits in it, so it can be split without its spans. */
  finishPayload(): EncodedPayload
}

/**
 * An encoded payload and its layout. Everything before `tracesAt` is shared by any part of it (v0.5's
 * string table); at `tracesAt` the traces array begins (0xdd and a uint32 count), then each trace as an
 * array header and its spans. The offsets let a payload the agent refused as too large be split in
 * halves at trace or span boundaries, byte for byte, once its spans are long gone.
 */
export interface EncodedPayload {
  readonly protocol: ProtocolVersion
  readonly bytes: Buffer
  readonly traceCount: number
  readonly spanCount: number
  readonly tracesAt: number
  /**
   * Offset in `bytes` of each trace's array header. The offsets are typed arrays: their contents live
   * outside V8's heap, so a payload waiting for the agent adds nothing for scavenges to copy.
   */
  readonly traceStarts: Uint32Array
  /** Offset in `bytes` of each span, in payload order. */
  readonly spanStarts: Uint32Array
  /** Index in `spanStarts` of each trace's first span. */
  readonly traceFirstSpan: Uint32Array
}

/** Span fields in the order both layouts write them: v0.5's fixed array order. */
export const FIELDS = ['service', 'name', 'resource', 'trace_id', 'span_id', 'parent_id', 'start', 'duration', 'error', 'meta', 'metrics', 'type'] as const
/** The place of each field in FIELDS. */
export const FIELD = { service: 0, name: 1, resource: 2, traceId: 3, spanId: 4, parentId: 5, start: 6, duration: 7, error: 8, meta: 9, metrics: 10, type: 11 } as const
