import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeMsgpackTree, v05ToV04Tree } from '@datadog-apm/agent'
import { decode } from '@msgpack/msgpack'
import type { EncodedPayload, PayloadEncoder } from '../src/wire/payload-encoder.js'
import { V04Encoder } from '../src/wire/encode-v04.js'
import { V05Encoder } from '../src/wire/encode-v05.js'
import { splitPayload, transcodeV05ToV04 } from '../src/wire/payload-parts.js'
import { createTracer } from '../src/tracer/tracer.js'
import { SpanCollector } from './support/span-collector.js'
import type { CoreSpan } from '../src/model/span.js'

const decorations = { service: 'svc', globalMeta: { language: 'javascript', 'runtime-id': 'rid', env: 'prod' }, processId: 7 }

/** Traces of 1 to 4 spans, with SQL, unicode, long values, numbers of every size and an error. */
function chunks(count: number): CoreSpan[][] {
  const exporter = new SpanCollector()
  const t = createTracer({ service: 'svc', exporter, flushOnExit: false })
  for (let i = 0; i < count; i++) {
    t.trace('web.request', { resource: `GET /r${i % 3}`, type: 'web', tags: { 'http.status_code': 200 + i, 'peer.service': 'ピア', n: i * 1e9, neg: -i, small: i % 100 } }, (root) => {
      for (let c = 0; c < i % 4; c++) t.trace('db.query', { service: 'pg', type: 'sql', resource: `SELECT * FROM t WHERE id = ${i}` }, () => {})
      root.setTag('long', 'z'.repeat(40 + i))
      if (i % 5 === 0) root.setTag('error', new Error(`boom ${i}`))
    })
  }
  return exporter.chunks()
}

function encode(encoder: PayloadEncoder, input: readonly CoreSpan[][]): EncodedPayload {
  encoder.begin()
  for (const chunk of input) assert.ok(encoder.append(chunk))
  return encoder.finishPayload()
}

/** The payload's traces as plain values, whatever the format; v0.5 is also checked by the intake's reader. */
function tracesOf(p: EncodedPayload): unknown[][] {
  if (p.protocol === '0.4') return decode(p.bytes, { useBigInt64: true }) as unknown[][]
  assert.equal(v05ToV04Tree(decodeMsgpackTree(p.bytes)).error, undefined)
  return v04Traces(p)
}

/** A v0.5 payload's traces with the string table applied by hand. */
function v04Traces(p: EncodedPayload): unknown[][] {
  const [strings, traces] = decode(p.bytes, { useBigInt64: true }) as [string[], unknown[][][]]
  const fields = ['service', 'name', 'resource', 'trace_id', 'span_id', 'parent_id', 'start', 'duration', 'error', 'meta', 'metrics', 'type']
  const str = (v: unknown): string => strings[v as number]
  return traces.map((trace) =>
    trace.map((span) => {
      const out: Record<string, unknown> = {}
      fields.forEach((name, i) => {
        const v = span[i]
        if (name === 'meta') out[name] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [str(Number(k)), str(x)]))
        else if (name === 'metrics') out[name] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [str(Number(k)), x]))
        else out[name] = i <= 2 || i === 11 ? str(v) : v
      })
      return out
    })
  )
}

for (const protocol of ['0.4', '0.5'] as const) {
  const make = (): PayloadEncoder => (protocol === '0.5' ? new V05Encoder(decorations, 1 << 22) : new V04Encoder(decorations, 1 << 22))

  test(`v${protocol}: a payload splits into halves by traces, byte for byte, down to single spans`, () => {
    const input = chunks(9)
    const whole = encode(make(), input)
    const expected = tracesOf(whole)
    const [a, b] = splitPayload(whole)!
    assert.equal(a.traceCount, 4)
    assert.equal(b.traceCount, 5)
    assert.equal(a.spanCount + b.spanCount, whole.spanCount)
    assert.deepEqual([...tracesOf(a), ...tracesOf(b)], expected)
    // Each half is what encoding its traces alone gives (v0.5: with the whole string table).
    if (protocol === '0.4') assert.deepEqual(a.bytes, encode(make(), input.slice(0, 4)).bytes)
    // Halving again and again ends in single spans, every span kept once.
    const leaves: EncodedPayload[] = []
    const queue = [whole]
    while (queue.length > 0) {
      const p = queue.pop()!
      const parts = splitPayload(p)
      if (parts === undefined) leaves.push(p)
      else {
        assert.ok(parts[0].spanCount < p.spanCount && parts[1].spanCount < p.spanCount)
        queue.push(parts[1], parts[0])
      }
    }
    assert.equal(leaves.length, whole.spanCount)
    assert.ok(leaves.every((p) => p.spanCount === 1 && p.traceCount === 1))
    const spans = (ps: EncodedPayload[]): unknown[] => ps.flatMap((p) => tracesOf(p).flat())
    assert.deepEqual(spans(leaves), spans([whole]))
  })

  test(`v${protocol}: one trace splits by its spans into two chunks of the same trace`, () => {
    const [big] = chunks(4).filter((c) => c.length === 4)
    const whole = encode(make(), [big])
    const [a, b] = splitPayload(whole)!
    assert.equal(a.spanCount, 2)
    assert.equal(b.spanCount, 2)
    assert.deepEqual([...tracesOf(a)[0], ...tracesOf(b)[0]], tracesOf(whole)[0])
  })
}

test('v0.5 transcoded to v0.4 is byte for byte what the v0.4 encoder writes, and still splits', () => {
  const input = chunks(12)
  const v5 = encode(new V05Encoder(decorations, 1 << 22), input)
  const v4 = encode(new V04Encoder(decorations, 1 << 22), input)
  const transcoded = transcodeV05ToV04(v5)!
  assert.equal(transcoded.protocol, '0.4')
  assert.deepEqual(transcoded.bytes, v4.bytes)
  assert.deepEqual(transcoded.traceStarts, v4.traceStarts)
  assert.deepEqual(transcoded.spanStarts, v4.spanStarts)
  assert.deepEqual(transcoded.traceFirstSpan, v4.traceFirstSpan)
  const [a] = splitPayload(transcoded)!
  assert.deepEqual(a.bytes, encode(new V04Encoder(decorations, 1 << 22), input.slice(0, 6)).bytes)
})

test('bytes that are not our v0.5 payload are not transcoded', () => {
  const v5 = encode(new V05Encoder(decorations, 1 << 22), chunks(2))
  assert.equal(transcodeV05ToV04({ ...v5, bytes: v5.bytes.subarray(0, v5.bytes.length - 3) }), undefined)
  const broken = Buffer.from(v5.bytes)
  broken[0] = 0x93
  assert.equal(transcodeV05ToV04({ ...v5, bytes: broken }), undefined)
})
