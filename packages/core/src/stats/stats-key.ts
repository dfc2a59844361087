import { Limits, NormalizeCache, asText, isSqlType, isValidStatusCode, normalizeName, normalizeService, sqlResourceToSend, truncateUtf8 } from '../wire/normalize.js'
import { SqlObfuscator } from '../wire/obfuscate-sql.js'
import type { CoreSpan } from '../model/span.js'
import { quantizeRedis } from './quantize-redis.js'

// What a span contributes to client-side stats: whether it counts, and the fields of its aggregation key
// (the agent's `ClientGroupedStats`, as libdatadog's `libdd-trace-stats` `aggregation.rs` fills it).
// Values are read the way the span encoder writes them (normalized service and name, resource defaulting
// to the name, status code only when valid), so the groups match the spans the agent receives. Spans go
// out with their SQL as written; when the agent lets the tracer obfuscate stats resources, the key holds
// what the agent makes of the span's resource: obfuscated, then truncated.

/** The value libdatadog puts in place of a field over its cardinality limit (and in the overflow group). */
export const TRACER_BLOCKED_VALUE = 'tracer_blocked_value'

/** `IsTraceRoot` (protobuf `Trilean`). */
export const Trilean = { notSet: 0, true: 1, false: 2 } as const

const NO_PEER_TAGS: string[] = []

/** One aggregation key. Every field is part of the key. */
export interface StatsKey {
  service: string
  name: string
  resource: string
  type: string
  httpStatusCode: number
  dbType: string
  synthetics: boolean
  spanKind: string
  /** `key:value` pairs, in the order of the agent's peer tag keys. */
  peerTags: string[]
  isTraceRoot: number
  grpcStatusCode: string
  httpMethod: string
  httpEndpoint: string
  serviceSource: string
}

/** Where spans over the per-bucket group limit go, as in libdatadog. */
export function overflowKey(): StatsKey {
  const b = TRACER_BLOCKED_VALUE
  return {
    service: b,
    name: b,
    resource: b,
    type: b,
    httpStatusCode: 0,
    dbType: '',
    synthetics: false,
    spanKind: b,
    peerTags: [b],
    isTraceRoot: Trilean.notSet,
    grpcStatusCode: '',
    httpMethod: b,
    httpEndpoint: b,
    serviceSource: b
  }
}

/** A key to fill in; every field set, so all keys share one shape. */
export function emptyKey(): StatsKey {
  return {
    service: '',
    name: '',
    resource: '',
    type: '',
    httpStatusCode: 0,
    dbType: '',
    synthetics: false,
    spanKind: '',
    peerTags: NO_PEER_TAGS,
    isTraceRoot: Trilean.notSet,
    grpcStatusCode: '',
    httpMethod: '',
    httpEndpoint: '',
    serviceSource: ''
  }
}

/** A copy that owns its peer tags (the reader reuses its scratch key and array). */
export function copyKey(k: StatsKey): StatsKey {
  return { ...k, peerTags: k.peerTags.length === 0 ? NO_PEER_TAGS : [...k.peerTags] }
}

/**
 * Same group? Compares the fields most likely to differ first. Mostly the same string objects are
 * compared (names and routes are constants of the app, normalized values come from caches), so this is
 * cheaper than building and hashing one key string per span.
 */
export function sameKey(a: StatsKey, b: StatsKey): boolean {
  if (
    a.name !== b.name ||
    a.service !== b.service ||
    a.httpStatusCode !== b.httpStatusCode ||
    a.isTraceRoot !== b.isTraceRoot ||
    a.httpEndpoint !== b.httpEndpoint ||
    a.httpMethod !== b.httpMethod ||
    a.spanKind !== b.spanKind ||
    a.type !== b.type ||
    a.synthetics !== b.synthetics ||
    a.grpcStatusCode !== b.grpcStatusCode ||
    a.dbType !== b.dbType ||
    a.serviceSource !== b.serviceSource ||
    a.peerTags.length !== b.peerTags.length
  ) {
    return false
  }
  for (let i = 0; i < a.peerTags.length; i++) if (a.peerTags[i] !== b.peerTags[i]) return false
  return true
}

const STATS_SPAN_KINDS = new Set(['client', 'server', 'producer', 'consumer'])
const PEER_SPAN_KINDS = new Set(['client', 'producer', 'consumer'])
const GRPC_KEYS = ['rpc.grpc.status_code', 'grpc.code', 'rpc.grpc.status.code', 'grpc.status.code'] as const
const GRPC_NAMES: Readonly<Record<string, number>> = {
  OK: 0,
  CANCELLED: 1,
  CANCELED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  INVALIDARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  DEADLINEEXCEEDED: 4,
  NOT_FOUND: 5,
  NOTFOUND: 5,
  ALREADY_EXISTS: 6,
  ALREADYEXISTS: 6,
  PERMISSION_DENIED: 7,
  PERMISSIONDENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  RESOURCEEXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  FAILEDPRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  OUTOFRANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  DATALOSS: 15,
  UNAUTHENTICATED: 16
}
const IPV4 = /^(\d{1,3}\.){3}\d{1,3}(:\d+)?$/
const IPV6 = /^\[?[0-9a-fA-F]*:[0-9a-fA-F:.]*\]?(:\d+)?$/
const BLOCKED_IP = 'blocked-ip-address'

/** gRPC status as the agent keys it: a decimal code, from a number or a status name. '' when absent or unknown. */
export function grpcStatusCode(meta: Readonly<Record<string, string>>, metrics: Readonly<Record<string, number>>): string {
  for (const key of GRPC_KEYS) {
    const value = meta[key]
    if (typeof value !== 'string') continue
    if (/^\d{1,3}$/.test(value) && Number(value) <= 255) return String(Number(value))
    let name = value.startsWith('StatusCode.') ? value.slice(11) : value
    name = name.toUpperCase()
    const code = GRPC_NAMES[name]
    if (code !== undefined) return String(code)
  }
  for (const key of GRPC_KEYS) {
    const value = metrics[key]
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 255) return String(value)
  }
  return ''
}

/** Peer tag values that are IP addresses become one value, so per-host cardinality stays bounded. */
export function quantizePeerValue(value: string): string {
  return IPV4.test(value) || (value.includes(':') && IPV6.test(value) && value.replace(/[[\]]/g, '').split(':').length > 2) ? BLOCKED_IP : value
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : asText(value)
}

/**
 * Reads the stats fields of spans. `obfuscate` and `peerTagKeys` follow the agent's `/info`; the caches
 * make the common case (the same services, names and statements over and over) a lookup.
 */
export class StatsKeyReader {
  readonly #rawService: string
  readonly #service: string
  readonly #services = new NormalizeCache(normalizeService)
  readonly #names = new NormalizeCache(normalizeName)
  readonly #sql = new SqlObfuscator()
  /** Obfuscate SQL and quantize Redis resources here (the agent then skips them). */
  obfuscate = false
  /** The agent's `peer_tags`: tags that describe the other side of client/producer/consumer spans. */
  peerTagKeys: readonly string[] = []
  readonly #peerScratch: string[] = []
  /** `_dd.base_service:<tracer service>`, shared by every internal span of another service. */
  readonly #basePeerTags: string[]

  constructor(tracerService: string) {
    this.#rawService = tracerService
    this.#service = normalizeService(tracerService)
    this.#basePeerTags = [`_dd.base_service:${this.#service}`]
  }

  #normService(raw: unknown): string {
    if (raw === this.#rawService) return this.#service
    const value = text(raw)
    return value === '' ? this.#service : this.#services.get(value)
  }

  /** True when the span counts in stats: top-level, measured, or of a client/server/producer/consumer kind. */
  eligible(span: CoreSpan, topLevel: boolean): boolean {
    const metrics = span.metrics
    if (typeof metrics['_dd.partial_version'] === 'number') return false
    if (topLevel || metrics['_dd.measured'] === 1) return true
    const kind = span.meta['span.kind']
    return typeof kind === 'string' && STATS_SPAN_KINDS.has(kind.toLowerCase())
  }

  /** The service the encoder writes for this span. */
  service(span: CoreSpan): string {
    return this.#normService(span.service)
  }

  /** Top-level as the encoder marks it: a root, a span whose parent is remote, or the first span of a service. */
  topLevel(span: CoreSpan, service: string): boolean {
    const parent = span.parentService
    return parent === undefined || (parent !== span.service && this.#normService(parent) !== service) || span.metrics['_dd.top_level'] === 1
  }

  /**
   * Fills `out` with the aggregation key of an eligible span. `out.peerTags` may be the reader's scratch
   * array: `copyKey` before keeping the key.
   */
  key(span: CoreSpan, service: string, out: StatsKey): void {
    const meta = span.meta
    const name = this.#names.get(text(span.name))
    let type = text(span.type)
    if (type.length * 3 > Limits.typeBytes) type = truncateUtf8(type, Limits.typeBytes)
    let resource = text(span.resource)
    if (resource === '') resource = name
    if (this.obfuscate) resource = this.#obfuscated(resource, type)
    if (resource.length * 3 > Limits.resourceBytes) resource = truncateUtf8(resource, Limits.resourceBytes)
    const kind = meta['span.kind']
    const spanKind = typeof kind === 'string' ? kind : ''
    const status = meta['http.status_code']
    const origin = meta['_dd.origin'] ?? span.trace.origin
    out.service = service
    out.name = name
    out.resource = resource
    out.type = type
    out.httpStatusCode = typeof status === 'string' && isValidStatusCode(status) ? Number(status) : 0
    out.dbType = meta['db.type'] ?? ''
    out.synthetics = typeof origin === 'string' && origin.startsWith('synthetics')
    out.spanKind = spanKind
    out.peerTags = this.#peerTags(meta, spanKind, service)
    out.isTraceRoot = span.parentId === 0n ? Trilean.true : Trilean.false
    out.grpcStatusCode = grpcStatusCode(meta, span.metrics)
    out.httpMethod = meta['http.method'] ?? ''
    out.httpEndpoint = meta['http.endpoint'] ?? meta['http.route'] ?? ''
    out.serviceSource = meta['_dd.svc_src'] ?? ''
  }

  #obfuscated(resource: string, type: string): string {
    // The text the encoder sends, obfuscated as the agent will obfuscate it.
    if (isSqlType(type)) return this.#sql.obfuscate(sqlResourceToSend(resource))
    if (type === 'redis' || type === 'valkey') return quantizeRedis(resource)
    return resource
  }

  #peerTags(meta: Readonly<Record<string, string>>, kind: string, service: string): string[] {
    const tags = this.#peerScratch
    tags.length = 0
    if (kind !== '' && PEER_SPAN_KINDS.has(kind.toLowerCase())) {
      const keys = this.peerTagKeys
      for (let i = 0; i < keys.length; i++) {
        const value = meta[keys[i]]
        if (typeof value === 'string' && value !== '') tags.push(`${keys[i]}:${quantizePeerValue(value)}`)
      }
      return tags.length === 0 ? NO_PEER_TAGS : tags
    }
    // An internal span of another service than the tracer's: the encoder adds `_dd.base_service`, and the
    // agent keys such spans by it.
    const base = meta['_dd.base_service']
    if (typeof base === 'string' && base !== '') {
      tags.push(`_dd.base_service:${base}`)
      return tags
    }
    return service === this.#service ? NO_PEER_TAGS : this.#basePeerTags
  }
}
