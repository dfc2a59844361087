import { RingBuffer } from '../store/ring-buffer.js'
import type { ReceivedStatsPayload } from './stats-decoder.js'

/** A `/v0.6/stats` payload as the intake keeps it. */
export interface ReceivedStats extends ReceivedStatsPayload {
  /** Request headers, keys lowercased. */
  headers: Record<string, string>
  receivedAt: number
  /** The `id` of the request among `agent.payloads()`. */
  payloadId: number
}

/** The last `capacity` stats payloads, oldest first. */
export class StatsStore {
  readonly #payloads: RingBuffer<ReceivedStats>

  constructor(capacity: number) {
    this.#payloads = new RingBuffer(capacity)
  }

  add(stats: ReceivedStats): void {
    this.#payloads.push(stats)
  }

  all(): ReceivedStats[] {
    return this.#payloads.toArray()
  }

  get size(): number {
    return this.#payloads.size
  }

  clear(): void {
    this.#payloads.clear()
  }
}
