import { request as httpRequest, type IncomingHttpHeaders, type RequestOptions } from 'node:http'
import type { TestContext } from 'node:test'
import { startAgent, type Agent, type AgentOptions } from '../src/agent.js'
import { encode, tracerHeaders, type Encodable } from './test-encoder.js'

/** Starts an agent that is closed when the test ends. */
export async function start(t: TestContext, options: AgentOptions = {}): Promise<Agent> {
  const agent = await startAgent(options)
  t.after(() => agent.close())
  return agent
}

export interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/** One request over node:http, so the test controls every header and byte. */
export function request(options: RequestOptions & { url?: string; body?: Uint8Array }): Promise<Answer> {
  const { url, body, ...rest } = options
  const target = url === undefined ? rest : { ...rest, host: new URL(url).hostname, port: new URL(url).port }
  return new Promise((resolve, reject) => {
    const req = httpRequest({ agent: false, ...target }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** PUTs a v0.4 payload with the headers dd-trace-js sends, over fetch. */
export async function sendTraces(
  agent: Agent,
  traces: Encodable[],
  options: { method?: string; headers?: Record<string, string>; body?: Uint8Array } = {}
): Promise<{ status: number; body: string; headers: Headers }> {
  const body = options.body ?? encode(traces)
  const response = await fetch(`${agent.url}/v0.4/traces`, {
    method: options.method ?? 'PUT',
    headers: options.headers ?? tracerHeaders(traces.length),
    body
  })
  return { status: response.status, body: await response.text(), headers: response.headers }
}

/** Waits for a condition the intake reaches on its own time (a client going away, say). */
export async function eventually(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
