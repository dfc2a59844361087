import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { IntakeStore } from '../src/store/intake-store.js'
import { percentile, summarize } from '../src/store/summary.js'
import type { ReceivedSpan } from '../src/intake/types.js'

function mkSpan(fields: Partial<ReceivedSpan> & { span_id: bigint }): ReceivedSpan {
  return {
    trace_id: 1n, parent_id: 0n, name: 'express.request', service: 'web', resource: 'GET /', type: 'web',
    start: 1_700_000_000_000_000_000n, duration: 1_000_000n, error: 0, meta: {}, metrics: {}, ...fields
  }
}

function storeWith(...traces: ReceivedSpan[][]): IntakeStore {
  const store = new IntakeStore(1000)
  for (const spans of traces) {
    store.record({ method: 'PUT', path: '/v0.4/traces', headers: {}, bytes: 1, traceCount: 1, status: 200, receivedAt: 1 }, [{ spans, headers: {}, receivedAt: 1, endpoint: '/v0.4/traces' }], [])
  }
  return store
}

void describe('percentile (nearest rank)', () => {
  void it('picks the smallest value with at least q of the values at or below it', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1)
    assert.equal(percentile(values, 0.5), 50)
    assert.equal(percentile(values, 0.95), 95)
    assert.equal(percentile(values, 0.99), 99)
    assert.equal(percentile([7], 0.99), 7)
    assert.equal(percentile([1, 2], 0.5), 1)
    assert.equal(percentile([1, 2], 0.51), 2)
    assert.equal(percentile([], 0.5), 0)
  })
})

void describe('summarize', () => {
  void it('counts entry spans of each service and measured spans, grouped by service, name and resource', () => {
    const store = storeWith(
      [
        mkSpan({ span_id: 1n, duration: 10_000_000n }),
        mkSpan({ span_id: 2n, parent_id: 1n, name: 'db.query', resource: 'SELECT 1' }),
        mkSpan({ span_id: 3n, parent_id: 1n, name: 'http.request', resource: 'GET', metrics: { '_dd.measured': 1 } }),
        mkSpan({ span_id: 4n, parent_id: 3n, service: 'api', name: 'fastify.request', resource: 'GET /x', error: 1 })
      ],
      [mkSpan({ trace_id: 2n, span_id: 5n, duration: 30_000_000n, error: 1 })],
      [mkSpan({ trace_id: 3n, span_id: 6n, parent_id: 999n, duration: 20_000_000n })]
    )
    const rows = summarize(store.storedTraces())
    assert.deepEqual(rows.map((r) => [r.service, r.name, r.resource, r.requests, r.errors]), [
      ['api', 'fastify.request', 'GET /x', 1, 1],
      ['web', 'express.request', 'GET /', 3, 1],
      ['web', 'http.request', 'GET', 1, 0]
    ])
    const web = rows[1]
    assert.deepEqual([web?.p50Ns, web?.p95Ns, web?.p99Ns, web?.maxNs], [20_000_000, 30_000_000, 30_000_000, 30_000_000])
  })

  void it('is empty with nothing held', () => {
    assert.deepEqual(summarize(new IntakeStore(1).storedTraces()), [])
  })
})
