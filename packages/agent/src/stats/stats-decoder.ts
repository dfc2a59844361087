import { decodeMsgpackTree, MsgpackDecodeError, type MsgpackNode } from '../intake/msgpack-decoder.js'
import { decodeSketch, SketchDecodeError, type ReceivedSketch } from './stats-sketch.js'

// `/v0.6/stats`: a msgpack `ClientStatsPayload` with PascalCase keys, as the agent reads it, decoded with the
// agent's msgp rules: unknown keys are skipped, nil is the zero value, a value of the wrong type fails the
// whole payload (the agent answers 400).

/** One group of a stats bucket, as a tracer aggregated it. Counts are numbers (exact below 2^53). */
export interface ReceivedStatsGroup {
  service: string
  name: string
  resource: string
  httpStatusCode: number
  type: string
  dbType: string
  hits: number
  errors: number
  /** Sum of durations, ns. */
  duration: number
  topLevelHits: number
  synthetics: boolean
  spanKind: string
  peerTags: string[]
  /** 0 not set, 1 true, 2 false. */
  isTraceRoot: number
  grpcStatusCode: string
  httpMethod: string
  httpEndpoint: string
  serviceSource: string
  /** Latency of the ok and the error spans; an empty sketch when the field was absent or empty. */
  okSummary: ReceivedSketch
  errorSummary: ReceivedSketch
}

export interface ReceivedStatsBucket {
  /** Epoch ns. */
  start: bigint
  /** ns. */
  duration: bigint
  stats: ReceivedStatsGroup[]
}

/** A decoded `ClientStatsPayload`. */
export interface ReceivedStatsPayload {
  hostname: string
  env: string
  version: string
  lang: string
  tracerVersion: string
  runtimeId: string
  sequence: number
  service: string
  stats: ReceivedStatsBucket[]
}

export class StatsDecodeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'StatsDecodeError'
  }
}

type Fields = Map<string, MsgpackNode>

function fields(node: MsgpackNode, what: string): Fields {
  if (node.kind !== 'map') throw new StatsDecodeError(`${what} is a msgpack ${node.kind}, not a map`)
  const out: Fields = new Map()
  for (let i = 0; i < node.keys.length; i++) {
    const key = node.keys[i]
    if (key.kind !== 'str') throw new StatsDecodeError(`${what} has a key that is a msgpack ${key.kind}, not a string`)
    out.set(key.value, node.values[i])
  }
  return out
}

function str(f: Fields, key: string, what: string): string {
  const node = f.get(key)
  if (node === undefined || node.kind === 'nil') return ''
  if (node.kind === 'str') return node.value
  if (node.kind === 'bin') return Buffer.from(node.value).toString('utf8')
  throw new StatsDecodeError(`${what}.${key} is a msgpack ${node.kind}, not a string`)
}

function uint(f: Fields, key: string, what: string): bigint {
  const node = f.get(key)
  if (node === undefined || node.kind === 'nil') return 0n
  if ((node.kind === 'uint' || node.kind === 'int') && node.value >= 0) return BigInt(node.value)
  throw new StatsDecodeError(`${what}.${key} is ${node.kind === 'int' ? 'negative' : `a msgpack ${node.kind}`}, not an unsigned integer`)
}

function num(f: Fields, key: string, what: string): number {
  return Number(uint(f, key, what))
}

function bool(f: Fields, key: string, what: string): boolean {
  const node = f.get(key)
  if (node === undefined || node.kind === 'nil') return false
  if (node.kind === 'bool') return node.value
  throw new StatsDecodeError(`${what}.${key} is a msgpack ${node.kind}, not a bool`)
}

function list(f: Fields, key: string, what: string): MsgpackNode[] {
  const node = f.get(key)
  if (node === undefined || node.kind === 'nil') return []
  if (node.kind === 'array') return node.items
  throw new StatsDecodeError(`${what}.${key} is a msgpack ${node.kind}, not an array`)
}

function sketch(f: Fields, key: string, what: string): ReceivedSketch {
  const node = f.get(key)
  let bytes: Uint8Array = new Uint8Array(0)
  if (node !== undefined && node.kind !== 'nil') {
    if (node.kind === 'bin') bytes = node.value
    else if (node.kind === 'str') bytes = Buffer.from(node.value, 'latin1')
    else throw new StatsDecodeError(`${what}.${key} is a msgpack ${node.kind}, not bytes`)
  }
  try {
    return decodeSketch(bytes)
  } catch (err) {
    if (err instanceof SketchDecodeError) throw new StatsDecodeError(`${what}.${key}: ${err.message}`)
    throw err
  }
}

function group(node: MsgpackNode, what: string): ReceivedStatsGroup {
  const f = fields(node, what)
  return {
    service: str(f, 'Service', what),
    name: str(f, 'Name', what),
    resource: str(f, 'Resource', what),
    httpStatusCode: num(f, 'HTTPStatusCode', what),
    type: str(f, 'Type', what),
    dbType: str(f, 'DBType', what),
    hits: num(f, 'Hits', what),
    errors: num(f, 'Errors', what),
    duration: num(f, 'Duration', what),
    topLevelHits: num(f, 'TopLevelHits', what),
    synthetics: bool(f, 'Synthetics', what),
    spanKind: str(f, 'SpanKind', what),
    peerTags: list(f, 'PeerTags', what).map((item, i) => {
      if (item.kind !== 'str') throw new StatsDecodeError(`${what}.PeerTags[${i}] is a msgpack ${item.kind}, not a string`)
      return item.value
    }),
    isTraceRoot: num(f, 'IsTraceRoot', what),
    grpcStatusCode: str(f, 'GRPCStatusCode', what),
    httpMethod: str(f, 'HTTPMethod', what),
    httpEndpoint: str(f, 'HTTPEndpoint', what),
    serviceSource: str(f, 'srv_src', what),
    okSummary: sketch(f, 'OkSummary', what),
    errorSummary: sketch(f, 'ErrorSummary', what)
  }
}

/** Decodes a `/v0.6/stats` body; throws MsgpackDecodeError or StatsDecodeError (both mean 400). */
export function decodeStatsPayload(body: Uint8Array): ReceivedStatsPayload {
  const f = fields(decodeMsgpackTree(body), 'the payload')
  return {
    hostname: str(f, 'Hostname', 'payload'),
    env: str(f, 'Env', 'payload'),
    version: str(f, 'Version', 'payload'),
    lang: str(f, 'Lang', 'payload'),
    tracerVersion: str(f, 'TracerVersion', 'payload'),
    runtimeId: str(f, 'RuntimeID', 'payload'),
    sequence: num(f, 'Sequence', 'payload'),
    service: str(f, 'Service', 'payload'),
    stats: list(f, 'Stats', 'payload').map((bucketNode, b) => {
      const what = `Stats[${b}]`
      const bucket = fields(bucketNode, what)
      return {
        start: uint(bucket, 'Start', what),
        duration: uint(bucket, 'Duration', what),
        stats: list(bucket, 'Stats', what).map((g, i) => group(g, `${what}.Stats[${i}]`))
      }
    })
  }
}

export { MsgpackDecodeError }
