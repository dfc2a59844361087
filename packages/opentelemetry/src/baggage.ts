import type { Baggage, BaggageEntry } from '@opentelemetry/api'

/** The context key OpenTelemetry keeps baggage under (a global symbol: every copy of the API shares it). */
export const BAGGAGE_KEY = Symbol.for('OpenTelemetry Baggage Key')

/** OpenTelemetry `Baggage` over entries; immutable, as the API's own. */
export class BridgeBaggage implements Baggage {
  readonly #entries: ReadonlyMap<string, BaggageEntry>

  constructor(entries: ReadonlyMap<string, BaggageEntry>) {
    this.#entries = entries
  }

  /** Baggage of plain items (what the tracer extracted); undefined when there are none. */
  static of(items: Readonly<Record<string, string>> | undefined): BridgeBaggage | undefined {
    if (items === undefined || items === null) return undefined
    const entries = new Map<string, BaggageEntry>()
    for (const key of Object.keys(items)) {
      const value = items[key]
      if (typeof value === 'string') entries.set(key, { value })
    }
    return entries.size === 0 ? undefined : new BridgeBaggage(entries)
  }

  getEntry(key: string): BaggageEntry | undefined {
    const entry = this.#entries.get(key)
    return entry === undefined ? undefined : { ...entry }
  }

  getAllEntries(): [string, BaggageEntry][] {
    return [...this.#entries].map(([key, entry]) => [key, { ...entry }])
  }

  setEntry(key: string, entry: BaggageEntry): BridgeBaggage {
    const entries = new Map(this.#entries)
    entries.set(key, entry)
    return new BridgeBaggage(entries)
  }

  removeEntry(key: string): BridgeBaggage {
    const entries = new Map(this.#entries)
    entries.delete(key)
    return new BridgeBaggage(entries)
  }

  removeEntries(...keys: string[]): BridgeBaggage {
    const entries = new Map(this.#entries)
    for (const key of keys) entries.delete(key)
    return new BridgeBaggage(entries)
  }

  clear(): BridgeBaggage {
    return new BridgeBaggage(new Map())
  }
}

/** The items of a context's baggage; undefined when it has none (or it cannot be read). */
export function baggageItems(baggage: unknown): Record<string, string> | undefined {
  if (baggage === null || typeof baggage !== 'object' || typeof (baggage as Baggage).getAllEntries !== 'function') return undefined
  try {
    const items: Record<string, string> = Object.create(null) as Record<string, string>
    let any = false
    for (const [key, entry] of (baggage as Baggage).getAllEntries()) {
      if (typeof key === 'string' && typeof entry?.value === 'string') {
        items[key] = entry.value
        any = true
      }
    }
    return any ? items : undefined
  } catch {
    return undefined
  }
}
