import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decode } from '@msgpack/msgpack'
import { decodeStatsPayload } from '@datadog-apm/agent'
import { StatsGroup, type FlushedBucket } from '../src/stats/concentrator.js'
import { SKETCH_RELATIVE_ACCURACY } from '../src/stats/ddsketch.js'
import { encodeStatsPayload, encodeStatsPayloads, type StatsPayloadMeta } from '../src/stats/stats-payload.js'
import { Trilean, type StatsKey } from '../src/stats/stats-key.js'

const META: StatsPayloadMeta = { service: 'web', env: 'prod', version: '1.2.3', runtimeId: 'rid', tracerVersion: '0.1.0', lang: 'nodejs', hostname: '' }
const START_MS = 1_800_000_010_000

function key(resource: string): StatsKey {
  return {
    service: 'web',
    name: 'express.request',
    resource,
    type: 'web',
    httpStatusCode: 200,
    dbType: '',
    synthetics: false,
    spanKind: 'server',
    peerTags: ['peer.service:db'],
    isTraceRoot: Trilean.true,
    grpcStatusCode: '',
    httpMethod: 'GET',
    httpEndpoint: '/users/:id',
    serviceSource: ''
  }
}

function bucket(groups: StatsGroup[]): FlushedBucket {
  return { startMs: START_MS, durationMs: 10_000, obfuscated: false, groups, overflowSpans: 0 }
}

test('the payload has the agent msgp layout: PascalCase keys, srv_src, uint formats, sketches as bin', () => {
  const g = new StatsGroup(key('GET /users/:id'))
  g.add(5_000_000, false, true)
  g.add(7_000_000, true, true)
  // Past 2^32 ns: the duration sum needs uint64.
  g.add(6_000_000_000, false, false)
  const bytes = encodeStatsPayload(META, 7, [bucket([g])], 1 << 20)
  const doc = decode(bytes, { useBigInt64: true }) as Record<string, unknown>
  assert.deepEqual(Object.keys(doc), ['Hostname', 'Env', 'Version', 'Stats', 'Lang', 'TracerVersion', 'RuntimeID', 'Sequence', 'Service'])
  assert.equal(doc.Sequence, 7)
  assert.equal(doc.Service, 'web')
  const [b] = doc.Stats as Record<string, unknown>[]
  assert.deepEqual(Object.keys(b), ['Start', 'Duration', 'Stats'])
  assert.equal(b.Start, 1_800_000_010_000_000_000n)
  assert.equal(b.Duration, 10_000_000_000n)
  const [group] = b.Stats as Record<string, unknown>[]
  assert.deepEqual(Object.keys(group).sort(), [
    'DBType', 'Duration', 'ErrorSummary', 'Errors', 'GRPCStatusCode', 'HTTPEndpoint', 'HTTPMethod', 'HTTPStatusCode', 'Hits', 'IsTraceRoot',
    'Name', 'OkSummary', 'PeerTags', 'Resource', 'Service', 'SpanKind', 'Synthetics', 'TopLevelHits', 'Type', 'srv_src'
  ])
  assert.equal(group.Duration, 6_012_000_000n)
  assert.ok(group.OkSummary instanceof Uint8Array)
  assert.equal(group.Synthetics, false)
  assert.equal(group.IsTraceRoot, 1)
})

test('the intake decodes what the encoder writes, field for field', () => {
  const g = new StatsGroup({ ...key('GET /a'), synthetics: true, grpcStatusCode: '14', serviceSource: 'm', dbType: 'pg' })
  for (let i = 1; i <= 100; i++) g.add(i * 1_000_000, i % 10 === 0, i % 2 === 0)
  const empty = new StatsGroup(key('GET /none'))
  const decoded = decodeStatsPayload(encodeStatsPayload(META, 1, [bucket([g, empty])], 1 << 20))
  assert.equal(decoded.env, 'prod')
  assert.equal(decoded.version, '1.2.3')
  assert.equal(decoded.runtimeId, 'rid')
  assert.equal(decoded.lang, 'nodejs')
  assert.equal(decoded.stats[0].start, 1_800_000_010_000_000_000n)
  const [a, b] = decoded.stats[0].stats
  assert.equal(a.hits, 100)
  assert.equal(a.errors, 10)
  assert.equal(a.topLevelHits, 50)
  assert.equal(a.duration, 5050 * 1_000_000)
  assert.equal(a.synthetics, true)
  assert.equal(a.grpcStatusCode, '14')
  assert.equal(a.serviceSource, 'm')
  assert.equal(a.dbType, 'pg')
  assert.deepEqual(a.peerTags, ['peer.service:db'])
  assert.equal(a.okSummary.count, 90)
  assert.equal(a.errorSummary.count, 10)
  const maxOk = a.okSummary.bins[a.okSummary.bins.length - 1].value
  assert.ok(Math.abs(maxOk - 99e6) / 99e6 <= SKETCH_RELATIVE_ACCURACY)
  assert.equal(b.hits, 0)
  assert.equal(b.okSummary.count, 0)
})

test('payloads over the size limit are split by bucket, then by groups; sequence numbers follow', () => {
  const groups = Array.from({ length: 40 }, (_, i) => {
    const g = new StatsGroup(key(`GET /r${i}`))
    g.add(1_000_000 + i, false, true)
    return g
  })
  const whole = encodeStatsPayload(META, 1, [bucket(groups)], 1 << 20).length
  // The writer reserves a few bytes ahead of each value, so the smallest limit that takes the whole
  // payload in one piece is at most a few bytes above its size.
  let limit = whole
  while (encodeStatsPayloads(META, 5, [bucket(groups)], limit).payloads.length !== 1) limit++
  assert.ok(limit - whole <= 16, `one payload from a limit of ${limit} for ${whole} bytes`)
  const split = encodeStatsPayloads(META, 5, [bucket(groups)], limit - 1)
  assert.ok(split.payloads.length >= 2, 'one byte under the last limit accepted: split')
  for (const payload of split.payloads) assert.ok(payload.length <= limit - 1)
  const decoded = split.payloads.map((p) => decodeStatsPayload(p))
  assert.deepEqual(decoded.map((d) => d.sequence), decoded.map((_, i) => 5 + i))
  assert.equal(decoded.flatMap((d) => d.stats.flatMap((b) => b.stats)).length, 40, 'no group lost')
  const tiny = encodeStatsPayloads(META, 1, [bucket(groups)], 64)
  assert.equal(tiny.payloads.length, 0)
  assert.equal(tiny.droppedGroups, 40, 'a group that fits no payload is dropped and counted')
  assert.deepEqual(encodeStatsPayloads(META, 1, [bucket([])], 1 << 20).payloads, [], 'nothing to send, no payload')
})
