import { MsgpackWriter, PayloadTooLargeError, encodeString } from '../wire/msgpack-writer.js'
import { DDSketch } from './ddsketch.js'
import type { FlushedBucket, StatsGroup } from './concentrator.js'

// The `/v0.6/stats` body: a msgpack `ClientStatsPayload` with the PascalCase keys the agent's msgp
// decoder reads (its `ClientStatsPayload`, `ClientStatsBucket` and `ClientGroupedStats`; `srv_src` is the
// one key in another case). Only the fields a tracer fills are written; the agent sets the rest
// (container tags, agent aggregation).

/** Who sent the stats: the payload's identity fields. */
export interface StatsPayloadMeta {
  readonly service: string
  /** '' lets the agent apply its default env, as it does for spans without `env`. */
  readonly env: string
  readonly version: string
  readonly runtimeId: string
  readonly tracerVersion: string
  readonly lang: string
  /** The host's name, as dd-trace sends it; '' lets the agent use its own. */
  readonly hostname: string
}

const key = (s: string): Uint8Array => encodeString(s)
const K = {
  hostname: key('Hostname'),
  env: key('Env'),
  version: key('Version'),
  stats: key('Stats'),
  lang: key('Lang'),
  tracerVersion: key('TracerVersion'),
  runtimeId: key('RuntimeID'),
  sequence: key('Sequence'),
  service: key('Service'),
  start: key('Start'),
  duration: key('Duration'),
  name: key('Name'),
  resource: key('Resource'),
  httpStatusCode: key('HTTPStatusCode'),
  type: key('Type'),
  dbType: key('DBType'),
  hits: key('Hits'),
  errors: key('Errors'),
  okSummary: key('OkSummary'),
  errorSummary: key('ErrorSummary'),
  synthetics: key('Synthetics'),
  topLevelHits: key('TopLevelHits'),
  spanKind: key('SpanKind'),
  peerTags: key('PeerTags'),
  isTraceRoot: key('IsTraceRoot'),
  grpcStatusCode: key('GRPCStatusCode'),
  httpMethod: key('HTTPMethod'),
  httpEndpoint: key('HTTPEndpoint'),
  serviceSource: key('srv_src')
} as const
const GROUP_FIELDS = 20
const EMPTY_SKETCH = new DDSketch().toProto()
const TWO_32 = 0x1_0000_0000

/** An unsigned integer in its smallest form; past 2^32 as uint64 (0xcf), exact up to 2^53. */
function u64(w: MsgpackWriter, n: number): void {
  if (n < TWO_32) {
    w.uint(n)
    return
  }
  const out = new Uint8Array(9)
  const view = new DataView(out.buffer)
  out[0] = 0xcf
  view.setUint32(1, Math.floor(n / TWO_32))
  view.setUint32(5, n % TWO_32)
  w.raw(out)
}

function bin(w: MsgpackWriter, bytes: Uint8Array): void {
  const n = bytes.length
  if (n < 0x100) w.raw(Uint8Array.of(0xc4, n))
  else if (n < 0x10000) w.raw(Uint8Array.of(0xc5, n >> 8, n & 0xff))
  else w.raw(Uint8Array.of(0xc6, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff))
  w.raw(bytes)
}

function group(w: MsgpackWriter, g: StatsGroup): void {
  const k = g.key
  w.mapHeader(GROUP_FIELDS)
  w.raw(K.service)
  w.string(k.service)
  w.raw(K.name)
  w.string(k.name)
  w.raw(K.resource)
  w.string(k.resource)
  w.raw(K.httpStatusCode)
  w.uint(k.httpStatusCode)
  w.raw(K.type)
  w.string(k.type)
  w.raw(K.dbType)
  w.string(k.dbType)
  w.raw(K.hits)
  u64(w, g.hits)
  w.raw(K.errors)
  u64(w, g.errors)
  w.raw(K.duration)
  u64(w, g.durationNs)
  w.raw(K.okSummary)
  bin(w, g.okSummary.count > 0 ? g.okSummary.toProto() : EMPTY_SKETCH)
  w.raw(K.errorSummary)
  bin(w, g.errorSummary.count > 0 ? g.errorSummary.toProto() : EMPTY_SKETCH)
  w.raw(K.synthetics)
  w.fixedHeader(k.synthetics ? 0xc3 : 0xc2)
  w.raw(K.topLevelHits)
  u64(w, g.topLevelHits)
  w.raw(K.spanKind)
  w.string(k.spanKind)
  w.raw(K.peerTags)
  w.arrayHeader(k.peerTags.length)
  for (const tag of k.peerTags) w.string(tag)
  w.raw(K.isTraceRoot)
  w.uint(k.isTraceRoot)
  w.raw(K.grpcStatusCode)
  w.string(k.grpcStatusCode)
  w.raw(K.httpMethod)
  w.string(k.httpMethod)
  w.raw(K.httpEndpoint)
  w.string(k.httpEndpoint)
  w.raw(K.serviceSource)
  w.string(k.serviceSource)
}

/** One payload of `buckets` (which may hold a part of a bucket's groups). */
export function encodeStatsPayload(meta: StatsPayloadMeta, sequence: number, buckets: readonly FlushedBucket[], maxBytes: number): Buffer {
  const w = new MsgpackWriter(Math.min(64 * 1024, maxBytes), maxBytes)
  w.mapHeader(9)
  w.raw(K.hostname)
  w.string(meta.hostname)
  w.raw(K.env)
  w.string(meta.env)
  w.raw(K.version)
  w.string(meta.version)
  w.raw(K.stats)
  w.arrayHeader(buckets.length)
  for (const bucket of buckets) {
    w.mapHeader(3)
    w.raw(K.start)
    // Epoch ns is past 2^53: the bucket start in ms times 1e6, as a bigint.
    w.uint64(BigInt(bucket.startMs) * 1_000_000n)
    w.raw(K.duration)
    u64(w, bucket.durationMs * 1e6)
    w.raw(K.stats)
    w.arrayHeader(bucket.groups.length)
    for (const g of bucket.groups) group(w, g)
  }
  w.raw(K.lang)
  w.string(meta.lang)
  w.raw(K.tracerVersion)
  w.string(meta.tracerVersion)
  w.raw(K.runtimeId)
  w.string(meta.runtimeId)
  w.raw(K.sequence)
  u64(w, sequence)
  w.raw(K.service)
  w.string(meta.service)
  return w.bytes()
}

/**
 * The buckets as payloads no larger than `maxBytes`, numbered from `firstSequence`: all in one when they
 * fit, else split by buckets, then by groups. A single group too large for a payload (sketches are
 * bounded, so only with an absurd limit) is dropped and counted.
 */
export function encodeStatsPayloads(
  meta: StatsPayloadMeta,
  firstSequence: number,
  buckets: readonly FlushedBucket[],
  maxBytes: number
): { payloads: Buffer[]; droppedGroups: number } {
  const payloads: Buffer[] = []
  let droppedGroups = 0
  const pending: FlushedBucket[][] = [buckets.filter((b) => b.groups.length > 0)]
  while (pending.length > 0) {
    const part = pending.shift()!
    if (part.length === 0) continue
    try {
      payloads.push(encodeStatsPayload(meta, firstSequence + payloads.length, part, maxBytes))
      continue
    } catch (err) {
      if (!(err instanceof PayloadTooLargeError)) throw err
    }
    if (part.length > 1) {
      const half = part.length >> 1
      pending.unshift(part.slice(0, half), part.slice(half))
      continue
    }
    const only = part[0]
    if (only.groups.length <= 1) {
      droppedGroups += only.groups.length
      continue
    }
    const half = only.groups.length >> 1
    pending.unshift([{ ...only, groups: only.groups.slice(0, half) }], [{ ...only, groups: only.groups.slice(half) }])
  }
  return { payloads, droppedGroups }
}
