// Shared by the middleware's tests: both Express majors, the local intake as the agent, a tracer per app
// that sends to it, and apps served on loopback that each test stops.
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { startAgent, type Agent, type ReceivedSpan, type ReceivedTrace } from '@datadog-apm/agent'
import { createTracer, runSuppressed, type Tracer, type TracerOptions } from '@datadog-apm/core'
import express5, { type Express, type RequestHandler, type Router } from 'express'

const require = createRequire(import.meta.url)

export interface ExpressMajor {
  readonly name: string
  readonly major: 4 | 5
  /** Express 4's types differ in details the tests never touch; both are driven through Express 5's. */
  app(): Express
  router(options?: { mergeParams?: boolean }): Router
  /** The major's own JSON body parser (body-parser 1 in Express 4, 2 in Express 5). */
  json(): RequestHandler
  /** A catch-all route path: `*` in Express 4, `/*splat` (path-to-regexp 8) in Express 5. */
  readonly wildcard: string
  readonly wildcardName: string
}

const express4 = require('express4') as typeof express5

export const majors: readonly ExpressMajor[] = [
  {
    name: 'express 5',
    major: 5,
    app: () => express5(),
    router: (o) => express5.Router(o),
    json: () => express5.json(),
    wildcard: '/*splat',
    wildcardName: '*splat'
  },
  {
    name: 'express 4',
    major: 4,
    app: () => express4(),
    router: (o) => express4.Router(o),
    json: () => express4.json(),
    wildcard: '/*',
    wildcardName: '*'
  }
]

interface After {
  after(fn: () => unknown): void
}

/** The local intake, closed after the test (or suite). */
export async function agentFor(t: After): Promise<Agent> {
  const agent = await startAgent()
  t.after(() => agent.close())
  return agent
}

let services = 0

/** A tracer with a service of its own, so its traces can be picked out of a shared intake. */
export function tracerFor(agent: Agent, options: TracerOptions = {}): { tracer: Tracer; service: string } {
  const service = `express-test-${++services}`
  const tracer = createTracer({ service, url: agent.url, flushOnExit: false, ...options })
  return { tracer, service }
}

/** `promise`, or a rejection naming what was awaited once `timeoutMs` passed without it settling. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`)), timeoutMs)
  })
  try {
    return await Promise.race([promise, deadline])
  } finally {
    clearTimeout(timer)
  }
}

// One entry per response served by `serve` whose 'close' has not been handled yet. The middleware
// finishes the request span in its own 'close' listener; every listener runs within the one emit, so
// the turn after it comes after the span was finished (or proved never to finish).
const closing = new Set<Promise<void>>()

function trackResponse(_req: IncomingMessage, res: ServerResponse): void {
  const closed = new Promise<void>((resolve) => res.once('close', () => setImmediate(resolve)))
  closing.add(closed)
  void closed.then(() => closing.delete(closed))
}

/**
 * Waits until every response served so far has closed, then flushes `tracer`: once it resolves, the
 * intake holds every span those requests will ever produce.
 */
export async function settled(tracer: Tracer): Promise<void> {
  await within(Promise.all([...closing]), 5000, () => `${closing.size} responses to close`)
  await tracer.flush()
}

/** Serves `app` on 127.0.0.1 until the test ends; returns the base URL. */
export async function serve(t: After, app: Express | ((req: never, res: never) => void), serverOptions: { maxHeaderSize?: number } = {}): Promise<{ url: string; server: Server }> {
  const server = createServer(serverOptions, app as never)
  server.on('request', trackResponse)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

/**
 * GET (or another method) and the status and body, with the body fully read. The request is the test's,
 * not the app's: untraced, or its client span would become the parent of the request span.
 */
export async function call(url: string, init?: RequestInit): Promise<{ status: number; body: string }> {
  const res = await runSuppressed(() => fetch(url, init))
  return { status: res.status, body: await res.text() }
}

/**
 * The traces of `service` at the intake once every response has closed and `tracer` has flushed; fails
 * unless there are exactly `count` (a span finished twice would show up as a second trace chunk).
 */
export async function tracesOf(agent: Agent, tracer: Tracer, service: string, count: number): Promise<ReceivedTrace[]> {
  await settled(tracer)
  const traces = agent.traces((trace) => trace.spans.some((s) => s.service === service))
  if (traces.length !== count) throw new Error(`expected exactly ${count} traces of ${service}, got ${traces.length}`)
  return traces
}

/** The request span (`express.request`) of each trace, in the order the traces arrived. */
export function roots(traces: readonly ReceivedTrace[]): ReceivedSpan[] {
  return traces.map((trace) => {
    const root = trace.spans.find((s) => s.name === 'express.request')
    if (root === undefined) throw new Error(`a trace without express.request: ${trace.spans.map((s) => s.name).join(', ')}`)
    return root
  })
}
