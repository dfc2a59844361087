import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { IntakeStore } from '../src/store/intake-store.js'
import { RingBuffer } from '../src/store/ring-buffer.js'
import type { ReceivedPayload, ReceivedSpan, ReceivedTrace, Violation } from '../src/intake/types.js'

function mkSpan(fields: Partial<ReceivedSpan> & { span_id: bigint }): ReceivedSpan {
  return {
    trace_id: 1n, parent_id: 0n, name: 'op', service: 'web', resource: 'GET /', type: 'web',
    start: 1_700_000_000_000_000_000n, duration: 1_000_000n, error: 0, meta: {}, metrics: {}, ...fields
  }
}

function chunk(...spans: ReceivedSpan[]): ReceivedTrace {
  return { spans, headers: {}, receivedAt: 1, endpoint: '/v0.4/traces' }
}

function payload(): ReceivedPayload {
  return { method: 'PUT', path: '/v0.4/traces', headers: {}, bytes: 1, traceCount: 1, status: 200, receivedAt: 1 }
}

void describe('IntakeStore: traces joined by id', () => {
  void it('joins chunks of one trace sent in separate payloads, by several services', () => {
    const store = new IntakeStore(100)
    store.record(payload(), [chunk(mkSpan({ span_id: 2n, parent_id: 1n, service: 'api', start: 1_700_000_000_002_000_000n }))], [])
    store.record(payload(), [chunk(mkSpan({ span_id: 1n, duration: 5_000_000n, meta: { '_dd.p.tid': '6b0600aa00000000' } }))], [])
    store.record(payload(), [chunk(mkSpan({ trace_id: 9n, span_id: 3n }))], [])
    assert.equal(store.storedTraces().length, 2)
    const trace = store.storedTrace(1n)
    assert.ok(trace)
    assert.equal(trace.chunks.length, 2)
    assert.deepEqual(trace.spans().map((s) => s.span_id), [1n, 2n], 'ordered by start')
    const o = trace.overview()
    assert.equal(o.root?.span_id, 1n)
    assert.equal(o.rootCount, 1)
    assert.deepEqual(o.services, ['web', 'api'])
    assert.equal(o.traceIdHigh, '6b0600aa00000000')
    assert.equal(o.duration, 5_000_000n)
    assert.equal(o.chunkCount, 2)
  })

  void it("lists the root's service first, even when a service it called seems to start earlier (clocks of two processes)", () => {
    const store = new IntakeStore(100)
    store.record(payload(), [chunk(mkSpan({ span_id: 2n, parent_id: 1n, service: 'api', start: 1_699_999_999_999_000_000n }))], [])
    store.record(payload(), [chunk(mkSpan({ span_id: 1n, duration: 5_000_000n }))], [])
    assert.deepEqual(store.storedTrace(1n)?.overview().services, ['web', 'api'])
  })

  void it('counts every span without a parent in the trace, and errors', () => {
    const store = new IntakeStore(100)
    store.record(payload(), [chunk(
      mkSpan({ span_id: 1n }),
      mkSpan({ span_id: 2n, parent_id: 77n, error: 1, start: 1_700_000_000_001_000_000n }),
      mkSpan({ span_id: 3n, parent_id: 3n, start: 1_700_000_000_002_000_000n })
    )], [])
    const o = store.storedTrace(1n)?.overview()
    assert.equal(o?.rootCount, 3, 'parent 0, a missing parent and a span that is its own parent')
    assert.equal(o?.errorCount, 1)
  })

  void it('a trace ends where its latest span ends, not its last-starting one', () => {
    const store = new IntakeStore(100)
    store.record(payload(), [chunk(mkSpan({ span_id: 1n, duration: 10n }), mkSpan({ span_id: 2n, parent_id: 1n, start: 1_700_000_000_000_000_001n, duration: 2n }))], [])
    assert.equal(store.storedTrace(1n)?.overview().duration, 10n)
  })

  void it('assigns payload ids to payloads, their traces and their violations', () => {
    const store = new IntakeStore(100)
    const v: Violation = { rule: 'trace-empty', message: 'x', receivedAt: 1, endpoint: '/v0.4/traces' }
    const first = payload()
    store.record(first, [], [])
    const second = payload()
    const c = chunk(mkSpan({ span_id: 1n }))
    store.record(second, [c], [v])
    assert.deepEqual([first.id, second.id, c.payloadId, v.payloadId], [1, 2, 2, 2])
  })

  void it('an evicted chunk leaves its trace; the trace goes with its last chunk', () => {
    const store = new IntakeStore(2)
    store.record(payload(), [chunk(mkSpan({ span_id: 1n }))], [])
    store.record(payload(), [chunk(mkSpan({ span_id: 2n, parent_id: 1n }))], [])
    store.record(payload(), [chunk(mkSpan({ trace_id: 5n, span_id: 3n }))], [])
    assert.deepEqual(store.storedTrace(1n)?.spans().map((s) => s.span_id), [2n])
    store.record(payload(), [chunk(mkSpan({ trace_id: 6n, span_id: 4n }))], [])
    assert.equal(store.storedTrace(1n), undefined)
    assert.deepEqual(store.storedTraces().map((t) => t.traceId), [5n, 6n])
  })

  void it('keeps at most maxSpans spans: the last count accepted, the first one over evicts the oldest', () => {
    const store = new IntakeStore(100, 3)
    store.record(payload(), [chunk(mkSpan({ trace_id: 1n, span_id: 1n }), mkSpan({ trace_id: 1n, span_id: 2n }))], [])
    store.record(payload(), [chunk(mkSpan({ trace_id: 2n, span_id: 3n }))], [])
    assert.equal(store.spanCount, 3)
    assert.deepEqual(store.storedTraces().map((t) => t.traceId), [1n, 2n])
    store.record(payload(), [chunk(mkSpan({ trace_id: 3n, span_id: 4n }))], [])
    assert.equal(store.spanCount, 2)
    assert.deepEqual(store.storedTraces().map((t) => t.traceId), [2n, 3n])
    assert.deepEqual(store.traces().map((t) => t.spans[0]?.trace_id), [2n, 3n])
  })

  void it('keeps the newest chunk even when it alone is over maxSpans', () => {
    const store = new IntakeStore(100, 1)
    store.record(payload(), [chunk(mkSpan({ trace_id: 1n, span_id: 1n }))], [])
    store.record(payload(), [chunk(mkSpan({ trace_id: 2n, span_id: 2n }), mkSpan({ trace_id: 2n, span_id: 3n }))], [])
    assert.deepEqual(store.storedTraces().map((t) => t.traceId), [2n])
    assert.equal(store.spanCount, 2)
  })

  void it('chunks without spans are held but join no trace; clear() empties the index and moves the version', () => {
    const store = new IntakeStore(100)
    store.record(payload(), [chunk()], [])
    assert.equal(store.traces().length, 1)
    assert.equal(store.storedTraces().length, 0)
    const before = store.version
    store.clear()
    assert.equal(store.version, before + 1)
    assert.equal(store.spanCount, 0)
  })

  void it('caches the overview until the trace changes', () => {
    const store = new IntakeStore(100)
    store.record(payload(), [chunk(mkSpan({ span_id: 1n }))], [])
    const trace = store.storedTrace(1n)
    assert.ok(trace)
    const first = trace.overview()
    assert.equal(trace.overview(), first)
    store.record(payload(), [chunk(mkSpan({ span_id: 2n, parent_id: 1n, service: 'api' }))], [])
    assert.notEqual(trace.overview(), first)
    assert.deepEqual(trace.overview().services, ['web', 'api'])
  })
})

void describe('RingBuffer', () => {
  void it('push returns the item it evicts', () => {
    const ring = new RingBuffer<number>(2)
    assert.equal(ring.push(1), undefined)
    assert.equal(ring.push(2), undefined)
    assert.equal(ring.push(3), 1)
    assert.deepEqual(ring.toArray(), [2, 3])
  })

  void it('shift removes the oldest, wrapped or not, and later pushes keep the order', () => {
    const ring = new RingBuffer<number>(3)
    for (let i = 1; i <= 5; i++) ring.push(i)
    assert.deepEqual(ring.toArray(), [3, 4, 5])
    assert.equal(ring.shift(), 3)
    assert.deepEqual(ring.toArray(), [4, 5])
    assert.equal(ring.push(6), undefined)
    assert.deepEqual(ring.toArray(), [4, 5, 6])
    assert.equal(ring.push(7), 4)
    assert.deepEqual(ring.toArray(), [5, 6, 7])
    assert.equal(ring.shift(), 5)
    assert.equal(ring.shift(), 6)
    assert.equal(ring.shift(), 7)
    assert.equal(ring.shift(), undefined)
    ring.push(8)
    assert.deepEqual(ring.toArray(), [8])
  })

  void it('matches a plain array under any mix of pushes and shifts', () => {
    let seed = 7
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    for (let round = 0; round < 50; round++) {
      const capacity = 1 + Math.floor(random() * 5)
      const ring = new RingBuffer<number>(capacity)
      const model: number[] = []
      for (let op = 0; op < 40; op++) {
        if (random() < 0.6) {
          const evicted = ring.push(op)
          model.push(op)
          assert.equal(evicted, model.length > capacity ? model.shift() : undefined)
        } else {
          assert.equal(ring.shift(), model.shift())
        }
        assert.deepEqual(ring.toArray(), model)
      }
    }
  })
})
