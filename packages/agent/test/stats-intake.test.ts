import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import type { Agent } from '../src/agent.js'
import { decodeSketch, sketchQuantile, SketchDecodeError } from '../src/stats/stats-sketch.js'
import { request, start } from './http-helpers.js'
import { encode, raw, uint64, type Encodable } from './test-encoder.js'

// Protobuf by hand, from the DDSketch .proto: tags, varints, little-endian doubles.
function varint(n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return out
}
function f64(v: number): number[] {
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, v, true)
  return [...new Uint8Array(view.buffer)]
}
const zigzag = (n: number): number => (n >= 0 ? 2 * n : -2 * n - 1)
function len(field: number, body: number[]): number[] {
  return [...varint(field * 8 + 2), ...varint(body.length), ...body]
}
const GAMMA = 1.02
function sketchBytes(options: { contiguous?: [number, number[]]; sparse?: [number, number][]; negative?: [number, number][]; zero?: number; gamma?: number; offset?: number }): Uint8Array {
  const mapping = [0x09, ...f64(options.gamma ?? GAMMA), 0x11, ...f64(options.offset ?? 0)]
  const store: number[] = []
  for (const [index, count] of options.sparse ?? []) store.push(...len(1, [0x08, ...varint(zigzag(index)), 0x11, ...f64(count)]))
  if (options.contiguous !== undefined) {
    const [offset, counts] = options.contiguous
    store.push(...len(2, counts.flatMap(f64)), 0x18, ...varint(zigzag(offset)))
  }
  const negative: number[] = []
  for (const [index, count] of options.negative ?? []) negative.push(...len(1, [0x08, ...varint(zigzag(index)), 0x11, ...f64(count)]))
  const out = [...len(1, mapping), ...len(2, store), ...len(3, negative)]
  if (options.zero !== undefined) out.push(0x21, ...f64(options.zero))
  // An unknown field is skipped, as protobuf decoders must.
  out.push(0x28, 0x05)
  return Uint8Array.from(out)
}
const value = (index: number, gamma = GAMMA, offset = 0): number => Math.exp((index - offset) * Math.log(gamma)) * ((2 * gamma) / (1 + gamma))

describe('DDSketch decoding', () => {
  it('reads contiguous and sparse bins (summed), the negative store, the zero count; values as sketches-go maps them', () => {
    const sketch = decodeSketch(sketchBytes({ contiguous: [-2, [1, 0, 3]], sparse: [[0, 2], [700, 1]], negative: [[1, 4]], zero: 5 }))
    assert.equal(sketch.gamma, GAMMA)
    assert.equal(sketch.count, 1 + 3 + 2 + 1 + 4 + 5)
    assert.deepEqual(
      sketch.bins.map((b) => [Number(b.value.toPrecision(12)), b.count]),
      [
        [-Number(value(1).toPrecision(12)), 4],
        [0, 5],
        [Number(value(-2).toPrecision(12)), 1],
        [Number(value(0).toPrecision(12)), 5],
        [Number(value(700).toPrecision(12)), 1]
      ]
    )
    assert.equal(sketchQuantile([sketch], 0), -value(1))
    assert.equal(sketchQuantile([sketch], 1), value(700))
    assert.equal(decodeSketch(new Uint8Array(0)).count, 0, 'no bytes: an empty sketch')
    assert.equal(sketchQuantile([], 0.5), 0)
  })

  it('merges sketches of different mappings by value for the quantiles', () => {
    const a = decodeSketch(sketchBytes({ sparse: [[100, 99]] }))
    const b = decodeSketch(sketchBytes({ sparse: [[2000, 1]], gamma: 1.015625, offset: 1338.5 }))
    assert.equal(sketchQuantile([a, b], 0.5), value(100))
    assert.equal(sketchQuantile([a, b], 1), value(2000, 1.015625, 1338.5))
  })

  it('refuses bytes that are not a sketch', () => {
    for (const bad of [
      [0x0a, 0x05, 0x09], // a length past the end
      [0x0a], // a truncated varint
      [0x0a, 0x02, 0x09, 0x00], // a truncated double
      [0x0b], // wire type 3
      [0x12, 0x09, 0x12, 0x08, ...f64(1)], // bins with gamma 0
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01] // an 11-byte varint
    ]) {
      assert.throws(() => decodeSketch(Uint8Array.from(bad)), SketchDecodeError, JSON.stringify(bad))
    }
  })
})

function statsPayload(groups: Record<string, Encodable>[]): Uint8Array {
  return encode({
    Hostname: '',
    Env: 'prod',
    Version: '1.0',
    Stats: [{ Start: uint64(1_800_000_000_000_000_000n), Duration: uint64(10_000_000_000), Stats: groups }],
    Lang: 'nodejs',
    TracerVersion: '0.1.0',
    RuntimeID: 'rid',
    Sequence: 3,
    Service: 'web',
    Unknown: 'ignored'
  })
}

function group(fields: Record<string, Encodable>): Record<string, Encodable> {
  return {
    Service: 'web',
    Name: 'express.request',
    Resource: 'GET /users/:id',
    HTTPStatusCode: 200,
    Type: 'web',
    Hits: 10,
    Errors: 1,
    Duration: uint64(50_000_000),
    TopLevelHits: 10,
    OkSummary: sketchBytes({ sparse: [[300, 9]] }),
    ErrorSummary: sketchBytes({ sparse: [[400, 1]] }),
    Synthetics: false,
    SpanKind: 'server',
    PeerTags: ['peer.service:db'],
    IsTraceRoot: 1,
    GRPCStatusCode: '',
    HTTPMethod: 'GET',
    HTTPEndpoint: '/users/:id',
    srv_src: '',
    ...fields
  }
}

async function put(agent: Agent, body: Uint8Array, method = 'PUT', extra: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const response = await fetch(`${agent.url}/v0.6/stats`, { method, headers: { 'content-type': 'application/msgpack', 'datadog-meta-lang': 'nodejs', ...extra }, body })
  return { status: response.status, body: await response.text() }
}

describe('PUT /v0.6/stats', () => {
  it('keeps the decoded payload, records the request, and shows the groups in the summary', async (t: TestContext) => {
    const agent = await start(t)
    assert.deepEqual(await put(agent, statsPayload([group({}), group({ Resource: 'GET /x', Hits: 2, Errors: 0, TopLevelHits: 2, Duration: 4, OkSummary: new Uint8Array(0), ErrorSummary: raw(0xc0) })])), { status: 200, body: 'OK' })
    assert.equal((await put(agent, statsPayload([group({ Hits: 5, Errors: 0, TopLevelHits: 5, Duration: 1000 })]), 'POST')).status, 200)
    const [first, second] = agent.stats()
    assert.equal(first.env, 'prod')
    assert.equal(first.sequence, 3)
    assert.equal(first.headers['datadog-meta-lang'], 'nodejs')
    assert.equal(first.stats[0].start, 1_800_000_000_000_000_000n)
    assert.equal(first.stats[0].stats[0].peerTags[0], 'peer.service:db')
    assert.equal(first.stats[0].stats[0].okSummary.count, 9)
    assert.equal(second.payloadId, first.payloadId + 1)
    const payloads = agent.payloads()
    assert.deepEqual(payloads.map((p) => [p.path, p.status, p.traceCount]), [['/v0.6/stats', 200, 0], ['/v0.6/stats', 200, 0]])

    const summary = (await (await fetch(`${agent.url}/api/summary`)).json()) as { clientStats: { payloads: number; rows: Record<string, unknown>[] } }
    assert.equal(summary.clientStats.payloads, 2)
    const [users, x] = summary.clientStats.rows
    assert.equal(users.resource, 'GET /users/:id')
    assert.equal(users.hits, 15)
    assert.equal(users.errors, 1)
    assert.equal(users.topLevelHits, 15)
    assert.equal(users.durationNs, 50_001_000)
    assert.equal(users.p50Ns, Math.round(value(300)))
    assert.equal(users.p99Ns, Math.round(value(400)))
    assert.equal(x.hits, 2)
    assert.equal(x.p50Ns, 0, 'no sketch, no quantiles')

    const listed = (await (await fetch(`${agent.url}/api/stats?limit=1`)).json()) as { total: number; stats: { sequence: number }[] }
    assert.equal(listed.total, 2)
    assert.equal(listed.stats.length, 1)
    agent.clear()
    assert.deepEqual(agent.stats(), [])
  })

  it('shows SQL groups obfuscated in the summary, unless the tracer says it obfuscated them; keeps what was sent', async (t: TestContext) => {
    const agent = await start(t)
    const db = { Name: 'pg.query', Type: 'sql', Hits: 1, Errors: 0, TopLevelHits: 1 }
    await put(agent, statsPayload([group({ ...db, Resource: 'SELECT * FROM t WHERE id = 1' }), group({ ...db, Resource: 'SELECT * FROM t WHERE id = 2' })]))
    // Obfuscated by the tracer (the agent then leaves it alone): shown as sent, even where it would differ.
    await put(agent, statsPayload([group({ ...db, Name: 'mysql.query', Resource: 'SELECT 1' })]), 'PUT', { 'datadog-obfuscation-version': '1' })
    const summary = (await (await fetch(`${agent.url}/api/summary`)).json()) as { clientStats: { rows: { name: string; resource: string; hits: number }[] } }
    const rows = summary.clientStats.rows.filter((r) => r.name !== 'express.request').map((r) => [r.name, r.resource, r.hits])
    assert.deepEqual(rows, [['pg.query', 'SELECT * FROM t WHERE id = ?', 2], ['mysql.query', 'SELECT 1', 1]])
    assert.deepEqual(agent.stats()[0]?.stats[0]?.stats.map((g) => g.resource), ['SELECT * FROM t WHERE id = 1', 'SELECT * FROM t WHERE id = 2'])
  })

  it('answers 400 for a body the agent could not decode, and records why', async (t: TestContext) => {
    const agent = await start(t)
    const cases: [Uint8Array, RegExp][] = [
      [Uint8Array.of(0xc1), /invalid-type-byte/],
      [encode([1, 2]), /the payload is a msgpack array, not a map/],
      [statsPayload([group({ Hits: 'ten' })]), /Stats\[0\]\.Stats\[0\]\.Hits is a msgpack str/],
      [statsPayload([group({ Hits: -1 })]), /Hits is negative/],
      [statsPayload([group({ Service: 5 })]), /Service is a msgpack uint, not a string/],
      [statsPayload([group({ PeerTags: [1] })]), /PeerTags\[0\] is a msgpack uint/],
      [statsPayload([group({ Synthetics: 1 })]), /Synthetics is a msgpack uint, not a bool/],
      [statsPayload([group({ OkSummary: Uint8Array.of(0x0b) })]), /OkSummary: invalid DDSketch protobuf/],
      [statsPayload([group({ OkSummary: 7 })]), /OkSummary is a msgpack uint, not bytes/]
    ]
    for (const [body, reason] of cases) {
      const answer = await put(agent, body)
      assert.equal(answer.status, 400, String(reason))
      assert.match(answer.body, reason)
    }
    assert.deepEqual(agent.stats(), [])
    assert.ok(agent.payloads().every((p) => p.status === 400 && p.error !== undefined))
  })

  it('answers 413 past maxPayloadBytes (the last size taken, the first refused), 405 to other methods', async (t: TestContext) => {
    const body = statsPayload([group({})])
    const agent = await start(t, { maxPayloadBytes: body.length })
    assert.equal((await put(agent, body)).status, 200)
    const larger = statsPayload([group({ Resource: 'GET /users/:idx' })])
    assert.equal(larger.length, body.length + 1)
    assert.equal((await request({ url: agent.url, path: '/v0.6/stats', method: 'PUT', body: larger })).status, 413)
    assert.equal((await fetch(`${agent.url}/v0.6/stats`)).status, 405)
    assert.deepEqual(agent.payloads().map((p) => p.status), [200, 413])
  })
})
