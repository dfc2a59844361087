import type { CoreSpan } from '../model/span.js'
import { DDSketch } from './ddsketch.js'
import { StatsKeyReader, TRACER_BLOCKED_VALUE, copyKey, emptyKey, overflowKey, sameKey, type StatsKey } from './stats-key.js'

/** Options of the stats concentrator. */
export interface ConcentratorOptions {
  /** The tracer's service: top-level and `_dd.base_service` are judged against it. */
  readonly service: string
  /** Width of a time bucket. Default 10000, as the agent's. */
  readonly bucketSizeMs?: number
  /** Distinct groups per bucket; spans of further keys go to the overflow group. Default 2000. */
  readonly maxGroupsPerBucket?: number
  /** Distinct resources per bucket; further ones become `tracer_blocked_value`. Default 1024. */
  readonly maxResourcesPerBucket?: number
  /** Distinct HTTP endpoints per bucket; further ones become `tracer_blocked_value`. Default 512. */
  readonly maxEndpointsPerBucket?: number
  /** Distinct peer tag sets per bucket; further ones become `tracer_blocked_value`. Default 512. */
  readonly maxPeerTagSetsPerBucket?: number
  /** Epoch milliseconds. Default Date.now. */
  readonly now?: () => number
}

/** The counts of one aggregation key in one bucket. */
export class StatsGroup {
  readonly key: StatsKey
  hits = 0
  errors = 0
  /** Sum of span durations, ns. */
  durationNs = 0
  topLevelHits = 0
  readonly okSummary = new DDSketch()
  readonly errorSummary = new DDSketch()

  constructor(key: StatsKey) {
    this.key = key
  }

  add(durationNs: number, error: boolean, topLevel: boolean): void {
    this.hits++
    this.durationNs += durationNs
    if (topLevel) this.topLevelHits++
    if (error) {
      this.errors++
      this.errorSummary.add(durationNs)
    } else {
      this.okSummary.add(durationNs)
    }
  }
}

/** A time bucket taken out of the concentrator. */
export interface FlushedBucket {
  /** Epoch ms, a multiple of the bucket size. */
  readonly startMs: number
  readonly durationMs: number
  /** Resources were obfuscated by the tracer: the payload must say so (`Datadog-Obfuscation-Version`). */
  readonly obfuscated: boolean
  readonly groups: readonly StatsGroup[]
  /** Spans that went to the overflow group. */
  readonly overflowSpans: number
}

class Bucket {
  readonly startMs: number
  readonly obfuscated: boolean
  /**
   * Groups by resource, then found by comparing keys: the resource strings are mostly the same objects
   * span after span, so the lookup hashes nothing new (a joined key string per span cost 0.7 µs).
   */
  readonly byResource = new Map<string, StatsGroup[]>()
  readonly endpoints = new Set<string>()
  readonly peerTagSets = new Set<string>()
  groupCount = 0
  overflow: StatsGroup | undefined
  overflowSpans = 0

  constructor(startMs: number, obfuscated: boolean) {
    this.startMs = startMs
    this.obfuscated = obfuscated
  }
}

const timeOrigin = performance.timeOrigin
const MAX_DURATION_MS = Number.MAX_SAFE_INTEGER / 1e6
// Buckets kept back at a regular flush: the current one and the one before, so spans that end a little
// late (a trace is exported when its last span ends) still land in the right bucket.
const BUFFER_BUCKETS = 2

/**
 * Aggregates spans into time buckets (by end time) and, inside a bucket, into groups by aggregation key,
 * as libdatadog's `SpanConcentrator` does. Memory is bounded by the per-bucket limits; a span that ends in
 * a bucket already flushed counts in the oldest bucket still open.
 */
export class StatsConcentrator {
  readonly reader: StatsKeyReader
  readonly #bucketMs: number
  readonly #maxGroups: number
  readonly #maxResources: number
  readonly #maxEndpoints: number
  readonly #maxPeerTagSets: number
  readonly #now: () => number
  readonly #buckets = new Map<number, Bucket>()
  readonly #scratch = emptyKey()
  #oldestMs: number
  /** Spans counted, and eligible spans among them, since the start. */
  spansSeen = 0
  spansCounted = 0

  constructor(options: ConcentratorOptions) {
    this.reader = new StatsKeyReader(options.service)
    this.#bucketMs = options.bucketSizeMs ?? 10_000
    this.#maxGroups = options.maxGroupsPerBucket ?? 2000
    this.#maxResources = options.maxResourcesPerBucket ?? 1024
    this.#maxEndpoints = options.maxEndpointsPerBucket ?? 512
    this.#maxPeerTagSets = options.maxPeerTagSetsPerBucket ?? 512
    this.#now = options.now ?? Date.now
    this.#oldestMs = this.#align(this.#now())
  }

  get bucketSizeMs(): number {
    return this.#bucketMs
  }

  /** Groups held, over all open buckets. */
  get groupCount(): number {
    let n = 0
    for (const bucket of this.#buckets.values()) n += bucket.groupCount + (bucket.overflow === undefined ? 0 : 1)
    return n
  }

  #align(ms: number): number {
    return ms - (ms % this.#bucketMs)
  }

  /** Counts the eligible spans of a finished chunk. O(spans). */
  addChunk(chunk: readonly CoreSpan[]): void {
    const reader = this.reader
    const key = this.#scratch
    this.spansSeen += chunk.length
    for (let i = 0; i < chunk.length; i++) {
      const span = chunk[i]
      const service = reader.service(span)
      const topLevel = reader.topLevel(span, service)
      if (!reader.eligible(span, topLevel)) continue
      this.spansCounted++
      let duration = span.duration
      if (!(duration >= 0) || duration > MAX_DURATION_MS) duration = 0
      const endMs = Math.floor(timeOrigin + span.start + duration)
      let startMs = Number.isFinite(endMs) ? this.#align(endMs) : this.#oldestMs
      if (startMs < this.#oldestMs) startMs = this.#oldestMs
      const obfuscated = reader.obfuscate
      // Obfuscated and raw resources never share a bucket: they go out in separate payloads.
      const id = obfuscated ? startMs + 1 : startMs
      let bucket = this.#buckets.get(id)
      if (bucket === undefined) {
        bucket = new Bucket(startMs, obfuscated)
        this.#buckets.set(id, bucket)
      }
      reader.key(span, service, key)
      this.#group(bucket, key).add(Math.round(duration * 1e6), span.error !== 0, topLevel)
    }
  }

  /** The group of `key` (a scratch key, copied when a group is made), under the per-bucket limits. */
  #group(bucket: Bucket, key: StatsKey): StatsGroup {
    let list = bucket.byResource.get(key.resource)
    if (list === undefined && bucket.byResource.size >= this.#maxResources) {
      key.resource = TRACER_BLOCKED_VALUE
      list = bucket.byResource.get(key.resource)
    }
    if (key.httpEndpoint !== '' && !bucket.endpoints.has(key.httpEndpoint)) {
      if (bucket.endpoints.size >= this.#maxEndpoints) key.httpEndpoint = TRACER_BLOCKED_VALUE
      else bucket.endpoints.add(key.httpEndpoint)
    }
    if (key.peerTags.length > 0) {
      const peers = key.peerTags.join(',')
      if (!bucket.peerTagSets.has(peers)) {
        if (bucket.peerTagSets.size >= this.#maxPeerTagSets) key.peerTags = [TRACER_BLOCKED_VALUE]
        else bucket.peerTagSets.add(peers)
      }
    }
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) if (sameKey(list[i].key, key)) return list[i]
    }
    if (bucket.groupCount >= this.#maxGroups) {
      bucket.overflowSpans++
      // The overflow group is one more than the limit: it must always have a place.
      bucket.overflow ??= new StatsGroup(overflowKey())
      return bucket.overflow
    }
    const group = new StatsGroup(copyKey(key))
    if (list === undefined) bucket.byResource.set(group.key.resource, [group])
    else list.push(group)
    bucket.groupCount++
    return group
  }

  /**
   * Takes out the buckets that are done: all of them with `force` (shutdown, an explicit flush), else
   * those that ended more than one bucket ago.
   */
  flush(force: boolean): FlushedBucket[] {
    const now = this.#now()
    const aligned = this.#align(now)
    this.#oldestMs = force ? aligned : aligned - (BUFFER_BUCKETS - 1) * this.#bucketMs
    const out: FlushedBucket[] = []
    for (const [id, bucket] of this.#buckets) {
      if (!force && bucket.startMs > now - BUFFER_BUCKETS * this.#bucketMs) continue
      this.#buckets.delete(id)
      const groups: StatsGroup[] = []
      for (const list of bucket.byResource.values()) for (const group of list) groups.push(group)
      if (bucket.overflow !== undefined) groups.push(bucket.overflow)
      out.push({ startMs: bucket.startMs, durationMs: this.#bucketMs, obfuscated: bucket.obfuscated, groups, overflowSpans: bucket.overflowSpans })
    }
    return out.sort((a, b) => a.startMs - b.startMs)
  }
}
