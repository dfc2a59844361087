import type { MsgpackWriter } from './msgpack-writer.js'
import { asText, normalizeService } from './normalize.js'
import { SHORT_KEY, fixMetaPair } from './span-fixes.js'

/**
 * How span events are sent: `native` (v0.4's `span_events` field) or, by default, as meta `events`.
 * The exporter holds it and turns `native` on or off when the agent's /info changes; encoders read it
 * span by span.
 */
export interface SpanEventsMode {
  native: boolean
}

/** What the encoder adds to every span: the tracer's identity and global tags. */
export interface SpanDecorations {
  /** The tracer's service: spans of another service get `_dd.base_service`. */
  readonly service: string
  /** Meta on every span unless the span set the key itself: env, version, language, runtime-id, DD_TAGS. */
  readonly globalMeta: Readonly<Record<string, string>>
  readonly processId: number
  /** Default: events as meta `events`. */
  readonly spanEvents?: SpanEventsMode
}

/** Strings every payload may use, by their place among the fixed strings; v0.5 puts them at fixed places in its string table. */
export const FIXED = { tid: 0, dm: 1, origin: 2, baseService: 3, priority: 4, topLevel: 5, processId: 6, service: 7 } as const
const FIXED_STRINGS = ['_dd.p.tid', '_dd.p.dm', '_dd.origin', '_dd.base_service', '_sampling_priority_v1', '_dd.top_level', 'process_id'] as const

/** At most this many global keys are tracked as bits of one int32 while a span's meta is written. */
const MAX_BIT_KEYS = 31

/**
 * The decorations encoded once, as an encoder writes them: the keys the encoder adds and the tracer's
 * service (`constants`, in FIXED order), then each global tag as one pre-encoded key and value. A span
 * then costs a copy of bytes for each, instead of writing the same strings again.
 */
export class EncodedDecorations {
  /** The service as the tracer was given it, and normalized as the agent would. */
  readonly rawService: string
  readonly service: string
  readonly processId: number
  /** Every fixed string in the order the fragments were built from: FIXED's, then key, value of each global tag. */
  readonly fixedStrings: readonly string[]
  /** The encoded strings of FIXED, by place. */
  readonly constants: readonly Uint8Array[]
  /** The global tags' keys as sent (normalized and cut). */
  readonly globalKeys: readonly string[]
  /** 1 at the length of each global key (≤ 31 keys; more are looked up in meta span by span). */
  readonly globalLength = new Uint8Array(SHORT_KEY + 1)
  readonly #globalPairs: readonly Uint8Array[]
  /** Every global pair, one after the other: what a span that set none of them itself gets. */
  readonly #allGlobalPairs: Uint8Array

  /** `constant(s, i)` encodes the i-th fixed string as the encoder writes it. */
  constructor(decorations: SpanDecorations, constant: (s: string, index: number) => Uint8Array) {
    this.rawService = decorations.service
    this.service = normalizeService(asText(decorations.service))
    this.processId = decorations.processId
    const pairs: [string, string][] = []
    for (const key of Object.keys(decorations.globalMeta)) {
      const pair = fixMetaPair(key, decorations.globalMeta[key])
      if (pair !== undefined) pairs.push(pair)
    }
    this.globalKeys = pairs.map(([k]) => k)
    if (this.globalKeys.length <= MAX_BIT_KEYS) for (const k of this.globalKeys) if (k.length <= SHORT_KEY) this.globalLength[k.length] = 1
    const fixed: string[] = [...FIXED_STRINGS, this.service]
    for (const [k, v] of pairs) fixed.push(k, v)
    this.fixedStrings = fixed
    const encoded = fixed.map((s, i) => constant(s, i))
    this.constants = encoded.slice(0, FIXED.service + 1)
    this.#globalPairs = pairs.map((_, i) => {
      const a = encoded[FIXED.service + 1 + 2 * i]
      const b = encoded[FIXED.service + 2 + 2 * i]
      const both = new Uint8Array(a.length + b.length)
      both.set(a, 0)
      both.set(b, a.length)
      return both
    })
    this.#allGlobalPairs = new Uint8Array(this.#globalPairs.reduce((n, pair) => n + pair.length, 0))
    let at = 0
    for (const pair of this.#globalPairs) {
      this.#allGlobalPairs.set(pair, at)
      at += pair.length
    }
  }

  /** The bit of a global key in `ownGlobals`; 0 for a key of a global key's length that is none. */
  globalBit(k: string): number {
    const globalKeys = this.globalKeys
    for (let i = 0; i < globalKeys.length; i++) if (globalKeys[i] === k) return 1 << i
    return 0
  }

  /**
   * Writes the global pairs a span did not set itself and returns how many. `ownGlobals` holds the bits
   * (`globalBit`) of the global keys the span set, noted while its meta was written; past 31 global
   * keys, `meta` is looked up instead.
   */
  writeGlobals(w: MsgpackWriter, ownGlobals: number, meta: Readonly<Record<string, string>>): number {
    const globalKeys = this.globalKeys
    const n = globalKeys.length
    if (n > MAX_BIT_KEYS) {
      let count = 0
      for (let i = 0; i < n; i++) {
        if (meta[globalKeys[i]] === undefined) {
          w.raw(this.#globalPairs[i])
          count++
        }
      }
      return count
    }
    if (ownGlobals === 0) {
      // The usual case: the span set none of the global keys, so they go in one copy.
      w.raw(this.#allGlobalPairs)
      return n
    }
    let count = 0
    for (let i = 0; i < n; i++) {
      if ((ownGlobals & (1 << i)) === 0) {
        w.raw(this.#globalPairs[i])
        count++
      }
    }
    return count
  }
}
