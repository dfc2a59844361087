import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseFault } from '../src/intake/faults.js'
import { agentState } from '../src/intake/info.js'
import { start } from './http-helpers.js'
import { encode, tracerHeaders } from './test-encoder.js'

const body = encode([])

function put(url: string, path = '/v0.4/traces', socketPath?: string): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    const target = socketPath === undefined ? { host: new URL(url).hostname, port: new URL(url).port } : { socketPath }
    const req = httpRequest({ ...target, agent: false, path, method: 'PUT', headers: { ...tracerHeaders(0), 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('latin1') }))
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('latin1'), error: err.code ?? err.message }))
    })
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, body: '', error: err.code ?? err.message }))
    req.end(body)
  })
}

test('status faults answer the chosen status for the next N requests, then the intake is itself again', async (t) => {
  const agent = await start(t)
  agent.faults.set({ kind: 'status', status: 503 }, { times: 2 })
  assert.equal((await put(agent.url)).status, 503)
  assert.equal((await put(agent.url)).status, 503)
  assert.equal((await put(agent.url)).status, 200)
  assert.equal(agent.faults.applied, 2)
  assert.equal(agent.faults.active, 0)
  agent.faults.set({ kind: 'status', status: 413 })
  assert.deepEqual(await put(agent.url), { status: 413, body: 'payload-too-large' })
  assert.equal((await fetch(`${agent.url}/info`)).status, 200, 'faults apply to the trace endpoints by default')
  agent.faults.clear()
  assert.equal((await put(agent.url)).status, 200)
})

test('garbage, truncated, reset and refuse faults', async (t) => {
  const agent = await start(t)
  agent.faults.set({ kind: 'garbage' }, { times: 1 })
  const garbage = await put(agent.url)
  assert.equal(garbage.status, 200)
  assert.throws(() => JSON.parse(garbage.body))
  agent.faults.set({ kind: 'truncated' }, { times: 1 })
  const truncated = await put(agent.url)
  assert.equal(truncated.status, 200)
  assert.ok(truncated.error !== undefined, 'the body ends early')
  agent.faults.set({ kind: 'reset' }, { times: 1 })
  const reset = await put(agent.url)
  assert.equal(reset.status, 0)
  assert.match(reset.error ?? '', /ECONNRESET|socket hang up/)
  agent.faults.set({ kind: 'refuse' }, { times: 1 })
  const refused = await put(agent.url)
  assert.equal(refused.status, 0)
  assert.equal((await put(agent.url)).status, 200, 'one connection refused, then served again')
  assert.deepEqual(agent.traces(), [], 'faulted requests store nothing; the last one held no trace')
})

test('a delay answers normally, later', async (t) => {
  const agent = await start(t)
  agent.faults.set({ kind: 'delay', ms: 150 }, { times: 1 })
  const started = Date.now()
  assert.equal((await put(agent.url)).status, 200)
  assert.ok(Date.now() - started >= 140)
})

test('the Unix socket can be removed and restored', async (t) => {
  const socketPath = join(mkdtempSync(join(tmpdir(), 'dd-faults-')), 'apm.socket')
  const agent = await start(t, { socketPath })
  assert.equal((await put(agent.url, '/v0.4/traces', socketPath)).status, 200)
  await agent.faults.removeSocket()
  assert.equal((await put(agent.url, '/v0.4/traces', socketPath)).error, 'ENOENT')
  await agent.faults.restoreSocket()
  assert.equal((await put(agent.url, '/v0.4/traces', socketPath)).status, 200)
})

test('/info is configurable and its state hash follows it; disabled it is a 404', async (t) => {
  const agent = await start(t, { info: { endpoints: ['/v0.4/traces', '/info'], clientDropP0s: true } })
  const first = await fetch(`${agent.url}/info`)
  const doc = (await first.json()) as { endpoints: string[]; client_drop_p0s: boolean }
  assert.deepEqual(doc.endpoints, ['/v0.4/traces', '/info'])
  assert.equal(doc.client_drop_p0s, true)
  const state1 = first.headers.get('datadog-agent-state')
  agent.setInfo({ clientDropP0s: false })
  const second = await fetch(`${agent.url}/info`)
  const text = await second.text()
  assert.notEqual(second.headers.get('datadog-agent-state'), state1)
  assert.equal(second.headers.get('datadog-agent-state'), agentState(text))
  assert.ok((JSON.parse(text) as { endpoints: string[] }).endpoints.includes('/v0.5/traces'), 'the default lists v0.5')
  agent.setInfo({ enabled: false })
  assert.equal((await fetch(`${agent.url}/info`)).status, 404)
})

test('parseFault reads command-line fault specs and names what is wrong', () => {
  assert.deepEqual(parseFault('status=503,times=3'), { fault: { kind: 'status', status: 503 }, options: { times: 3 } })
  assert.deepEqual(parseFault('delay=10000'), { fault: { kind: 'delay', ms: 10000 }, options: {} })
  assert.deepEqual(parseFault('reset,paths=all'), { fault: { kind: 'reset' }, options: { paths: 'all' } })
  assert.throws(() => parseFault('status=99'), /100-599/)
  assert.throws(() => parseFault('status=600'), /100-599/)
  assert.doesNotThrow(() => parseFault('status=599'))
  assert.throws(() => parseFault('explode'), /unknown fault/)
  assert.throws(() => parseFault('garbage,times=0'), /positive integer/)
  assert.throws(() => parseFault(''), /empty fault/)
})
