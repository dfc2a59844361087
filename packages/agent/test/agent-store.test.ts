import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { startAgent } from '../src/agent.js'
import { RingBuffer } from '../src/store/ring-buffer.js'
import { span, uint64 } from './test-encoder.js'
import { sendTraces, start } from './http-helpers.js'

const traceOf = (id: number, service = 'web'): ReturnType<typeof span>[] => [span({ trace_id: uint64(id), service })]

void describe('agent: waitForTraces', () => {
  void it('resolves as soon as the traces arrive', async (t) => {
    const agent = await start(t)
    const waiting = agent.waitForTraces(2)
    await sendTraces(agent, [traceOf(1)])
    await sendTraces(agent, [traceOf(2)])
    const traces = await waiting
    assert.deepEqual(traces.map((tr) => tr.spans[0]?.trace_id), [1n, 2n])
  })

  void it('resolves at once when enough traces are already held', async (t) => {
    const agent = await start(t)
    await sendTraces(agent, [traceOf(1), traceOf(2), traceOf(3)])
    assert.equal((await agent.waitForTraces(2, { timeoutMs: 1 })).length, 3)
  })

  void it('counts only the traces the filter matches', async (t) => {
    const agent = await start(t)
    const waiting = agent.waitForTraces(1, { filter: (tr) => tr.spans.some((s) => s.service === 'api') })
    await sendTraces(agent, [traceOf(1, 'web'), traceOf(2, 'web')])
    await sendTraces(agent, [traceOf(3, 'api')])
    const traces = await waiting
    assert.deepEqual(traces.map((tr) => tr.spans[0]?.trace_id), [3n])
  })

  void it('times out with an error that lists what did arrive', async (t) => {
    const agent = await start(t)
    await sendTraces(agent, [traceOf(41)])
    await sendTraces(agent, [], { body: Uint8Array.from([0xc1]) })
    await assert.rejects(agent.waitForTraces(3, { timeoutMs: 50 }), (error: Error) => {
      assert.match(error.message, /expected 3 traces within 50 ms; got 1/)
      assert.match(error.message, /web\/express\.request "GET \/users\/:id" trace_id=41/)
      assert.match(error.message, /PUT \/v0\.4\/traces -> 400 invalid-type-byte/)
      assert.match(error.message, /payload-undecodable x1/)
      return true
    })
  })

  void it('rejects a count the ring could never hold, and waits pending at close', async () => {
    const agent = await startAgent({ maxTraces: 2 })
    await assert.rejects(agent.waitForTraces(3), RangeError)
    await assert.rejects(agent.waitForTraces(0), RangeError)
    const pending = agent.waitForTraces(1, { timeoutMs: 60_000 })
    await agent.close()
    await assert.rejects(pending, /closed while waiting/)
  })
})

void describe('agent: storage', () => {
  void it('keeps only the last maxTraces traces, oldest first', async (t) => {
    const agent = await start(t, { maxTraces: 3 })
    await sendTraces(agent, [traceOf(1), traceOf(2)])
    await sendTraces(agent, [traceOf(3), traceOf(4), traceOf(5)])
    assert.deepEqual(agent.traces().map((tr) => tr.spans[0]?.trace_id), [3n, 4n, 5n])
    assert.deepEqual(agent.spans().map((s) => s.trace_id), [3n, 4n, 5n])
    assert.deepEqual(agent.traces((tr) => tr.spans[0]?.trace_id === 4n).length, 1)
  })

  void it('clear() forgets traces, payloads and violations', async (t) => {
    const agent = await start(t)
    await sendTraces(agent, [traceOf(0)])
    assert.equal(agent.violations().length, 1)
    agent.clear()
    assert.deepEqual([agent.traces(), agent.spans(), agent.payloads(), agent.violations()], [[], [], [], []])
  })

  void it('close() stops the server, drops open connections and is idempotent', async () => {
    const agent = await startAgent()
    await sendTraces(agent, [traceOf(1)])
    await agent.close()
    await agent.close()
    await assert.rejects(fetch(`${agent.url}/v0.4/traces`, { method: 'PUT' }))
  })

  void it('a busy port fails startAgent', async (t) => {
    const first = await start(t)
    await assert.rejects(startAgent({ port: first.port }), /EADDRINUSE/)
  })

  void it('rejects nonsense options', async () => {
    await assert.rejects(startAgent({ maxTraces: 0 }), RangeError)
    await assert.rejects(startAgent({ maxPayloadBytes: -1 }), RangeError)
    await assert.rejects(startAgent({ port: 70_000 }), RangeError)
  })
})

void describe('RingBuffer', () => {
  void it('wraps around in order', () => {
    const ring = new RingBuffer<number>(3)
    for (let i = 1; i <= 7; i++) ring.push(i)
    assert.deepEqual(ring.toArray(), [5, 6, 7])
    assert.equal(ring.size, 3)
    ring.clear()
    ring.push(9)
    assert.deepEqual(ring.toArray(), [9])
  })
})
