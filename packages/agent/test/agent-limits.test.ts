import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { startAgent } from '../src/agent.js'
import { encode, span, tracerHeaders } from './test-encoder.js'
import { eventually, request, sendTraces, start } from './http-helpers.js'

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'dd-agent-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

void describe('agent: payload size cap', () => {
  void it('accepts a body of exactly maxPayloadBytes and answers 413 one byte over', async (t) => {
    const fits = encode([[span({ resource: 'GET /a' })]])
    const over = encode([[span({ resource: 'GET /ab' })]])
    assert.equal(over.length, fits.length + 1)
    const agent = await start(t, { maxPayloadBytes: fits.length })
    assert.equal((await sendTraces(agent, [[]], { body: fits, headers: tracerHeaders(1) })).status, 200)
    const refused = await sendTraces(agent, [[]], { body: over, headers: tracerHeaders(1) })
    assert.equal(refused.status, 413)
    assert.equal(refused.body, 'payload-too-large')
    assert.equal(agent.traces().length, 1)
    assert.deepEqual(agent.payloads().map((p) => [p.status, p.bytes]), [[200, fits.length], [413, 0]])
    assert.ok(agent.violations().some((v) => v.rule === 'payload-too-large'))
  })

  void it('answers 413 on Content-Length alone, before any of the body is sent', async (t) => {
    const agent = await start(t, { maxPayloadBytes: 1024 })
    const { port } = new URL(agent.url)
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/v0.4/traces', method: 'PUT', agent: false,
        headers: { ...tracerHeaders(1), 'Content-Length': String(100 * 1024 * 1024) } }, resolve)
      req.on('error', reject)
      req.flushHeaders()
      t.after(() => req.destroy())
    })
    assert.equal(res.statusCode, 413)
    assert.equal(res.headers.connection, 'close')
    res.resume()
    assert.equal(agent.payloads()[0]?.bytes, 0)
  })

  void it('refuses an oversized Expect: 100-continue upload without asking for the body', async (t) => {
    const agent = await start(t, { maxPayloadBytes: 1024 })
    const { port } = new URL(agent.url)
    let continued = false
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/v0.4/traces', method: 'PUT', agent: false,
        headers: { ...tracerHeaders(1), 'Content-Length': '2048', Expect: '100-continue' } }, resolve)
      req.on('continue', () => { continued = true })
      req.on('error', reject)
      req.flushHeaders()
      t.after(() => req.destroy())
    })
    assert.equal(res.statusCode, 413)
    assert.equal(continued, false)
    res.resume()
  })

  void it('stops reading a chunked upload once it passes the cap', async (t) => {
    const cap = 64 * 1024
    const agent = await start(t, { maxPayloadBytes: cap })
    const { port } = new URL(agent.url)
    const chunk = Buffer.alloc(64 * 1024, 0x90)
    let written = 0
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/v0.4/traces', method: 'PUT', agent: false, headers: tracerHeaders(1) })
      req.on('response', (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      // Once the intake hangs up, the rest of the upload fails; that is the point.
      req.on('error', (error) => (written > cap ? undefined : reject(error)))
      const pump = (): void => {
        while (written < 100 * 1024 * 1024 && !req.destroyed) {
          written += chunk.length
          if (!req.write(chunk)) {
            req.once('drain', pump)
            return
          }
        }
      }
      pump()
      t.after(() => req.destroy())
    })
    assert.equal(status, 413)
    await eventually(() => agent.payloads().length === 1)
    const [payload] = agent.payloads()
    assert.equal(payload?.status, 413)
    assert.ok((payload?.bytes ?? Infinity) < 1024 * 1024, `read ${payload?.bytes} bytes`)
    assert.ok(agent.violations().some((v) => v.rule === 'content-length-missing'))
  })
})

void describe('agent: misbehaving clients', () => {
  void it('survives a client that aborts mid-body, and records it', async (t) => {
    const agent = await start(t)
    const { port } = new URL(agent.url)
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/v0.4/traces', method: 'PUT', agent: false,
        headers: { ...tracerHeaders(1), 'Content-Length': '1000', Expect: '100-continue' } })
      req.on('error', () => undefined)
      // 'continue' proves the intake is already reading this request's body.
      req.on('continue', () => {
        req.write(Buffer.alloc(10, 0x91), () => {
          req.destroy()
          resolve()
        })
      })
      req.on('response', () => reject(new Error('no answer was expected')))
      req.flushHeaders()
    })
    await eventually(() => agent.payloads().length === 1)
    const [payload] = agent.payloads()
    assert.equal(payload?.status, 0)
    assert.equal(payload?.error, 'aborted')
    assert.ok(agent.violations().some((v) => v.rule === 'request-aborted'))
    assert.equal((await sendTraces(agent, [[span()]])).status, 200)
  })
})

void describe('agent: Unix socket', () => {
  void it('serves the intake on a Unix socket and removes the file on close', async (t) => {
    const socketPath = join(tempDir(t), 'apm.socket')
    const agent = await startAgent({ socketPath })
    t.after(() => agent.close())
    assert.equal(agent.socketPath, socketPath)
    assert.equal(agent.socketUrl, `unix://${socketPath}`)
    const answer = await request({ socketPath, path: '/v0.4/traces', method: 'PUT', headers: tracerHeaders(1), body: encode([[span()]]) })
    assert.equal(answer.status, 200)
    assert.equal(agent.traces()[0]?.spans[0]?.service, 'web')
    assert.equal((await sendTraces(agent, [[span()]])).status, 200, 'TCP still serves as well')
    await agent.close()
    assert.equal(existsSync(socketPath), false)
  })

  void it('replaces a stale socket left by a killed process', async (t) => {
    const socketPath = join(tempDir(t), 'stale.socket')
    const child = spawn(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => console.log('up'))", socketPath])
    await new Promise((resolve) => child.stdout.once('data', resolve))
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
    assert.ok(existsSync(socketPath), 'the killed process left its socket file behind')
    const agent = await start(t, { socketPath })
    const answer = await request({ socketPath, path: '/v0.4/traces', method: 'PUT', headers: tracerHeaders(0), body: encode([]) })
    assert.equal(answer.status, 200)
    assert.equal(agent.payloads().length, 1)
  })

  void it('refuses to remove a file that is not a socket', async (t) => {
    const socketPath = join(tempDir(t), 'precious.txt')
    writeFileSync(socketPath, 'keep me')
    await assert.rejects(startAgent({ socketPath }), /not a socket/)
    assert.ok(existsSync(socketPath))
  })
})
