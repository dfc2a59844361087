// A traced Fastify app on loopback sending to the local intake, for the database tests: each request
// carries a traceparent made up by the test, so the trace the intake received is found by its id.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { startAgent, type Agent, type ReceivedSpan } from '@datadog-apm/agent'
import { createTracer, runSuppressed, type Tracer, type TracerOptions } from '@datadog-apm/core'
import { datadogPlugin } from '@datadog-apm/fastify'
import Fastify, { type FastifyInstance } from 'fastify'

export interface TracedResponse {
  status: number
  body: unknown
  /** Every span of the request's trace, as the intake received it. */
  spans: ReceivedSpan[]
  /** The request's own span (the root of what the app sent). */
  root: ReceivedSpan
}

export interface TracedApp {
  readonly agent: Agent
  readonly tracer: Tracer
  readonly app: FastifyInstance
  /** GETs `path`, then waits until the intake holds its trace with at least `spanCount` spans. */
  request(path: string, spanCount: number): Promise<TracedResponse>
  close(): Promise<void>
}

export const SERVICE = 'shop'

/** Starts the intake, a tracer sending to it at once, and a Fastify app whose routes `routes` adds. */
export async function startTracedApp(routes: (app: FastifyInstance, tracer: Tracer) => void, options: TracerOptions = {}): Promise<TracedApp> {
  const agent = await startAgent()
  const tracer = createTracer({ service: SERVICE, env: 'test', url: agent.url, flushIntervalMs: 0, flushOnExit: false, ...options })
  // Closing the app also closes fetch's idle keep-alive connections, which would hold the test process for seconds.
  const app = Fastify({ forceCloseConnections: true })
  await app.register(datadogPlugin, { tracer })
  routes(app, tracer)
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    agent,
    tracer,
    app,
    async request(path, spanCount) {
      const traceHigh = randomBytes(8).toString('hex')
      const traceLow = randomBytes(8)
      traceLow[0] = (traceLow[0] ?? 0) & 0x7f
      const traceId = traceLow.readBigUInt64BE(0)
      const response = await runSuppressed(() => fetch(base + path, { headers: { traceparent: `00-${traceHigh}${traceLow.toString('hex')}-00f067aa0ba902b7-01` } }))
      const text = await response.text()
      let body: unknown = text
      try {
        body = JSON.parse(text)
      } catch {
        // not JSON: kept as text
      }
      const count = (spans: ReceivedSpan[]): number => spans.filter((s) => s.trace_id === traceId).length
      const traces = await agent.waitForTraces(1, {
        timeoutMs: 5000,
        filter: (trace) => trace.spans.some((s) => s.trace_id === traceId) && count(agent.spans()) >= spanCount
      })
      assert.ok(traces.length > 0)
      const spans = agent.spans().filter((s) => s.trace_id === traceId)
      const root = spans.find((s) => s.parent_id === 0x00f067aa0ba902b7n)
      assert.ok(root, `no request span in ${spans.map((s) => s.name).join(', ')}`)
      return { status: response.status, body, spans, root }
    },
    async close() {
      await app.close()
      await tracer.shutdown()
      await agent.close()
    }
  }
}

/** The spans named `name`, in start order. */
export function spansNamed(spans: readonly ReceivedSpan[], name: string): ReceivedSpan[] {
  return spans.filter((s) => s.name === name).sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))
}

/** Asserts `child` is a child of `parent` and ran inside its time. */
export function assertChildOf(child: ReceivedSpan, parent: ReceivedSpan): void {
  assert.equal(child.parent_id, parent.span_id, `${child.name} ${child.resource} is a child of ${parent.name}`)
  assert.ok(child.start >= parent.start, `${child.name} starts inside ${parent.name}`)
  assert.ok(child.start + child.duration <= parent.start + parent.duration, `${child.name} ends inside ${parent.name}`)
}

/** The tags every database span of `component` carries under the default schema, with `SERVICE` as the tracer's. */
export function commonTags(component: string, dbType: string, serviceSource: string): Record<string, string> {
  return {
    'span.kind': 'client',
    component,
    '_dd.integration': component,
    'db.type': dbType,
    '_dd.base_service': SERVICE,
    '_dd.svc_src': serviceSource,
    'out.host': '127.0.0.1'
  }
}

/** `meta` without the tags every span of the tracer carries (env, language, runtime-id, ...). */
export function ownMeta(span: ReceivedSpan): Record<string, string> {
  const meta: Record<string, string> = {}
  for (const [key, value] of Object.entries(span.meta)) {
    if (key === 'env' || key === 'language' || key === 'runtime-id' || key.startsWith('_dd.p.') || key === 'error.stack') continue
    meta[key] = value
  }
  return meta
}

/**
 * Asserts an SQL span's resource is `statement` as written: the tracer sends SQL raw, as dd-trace does,
 * and obfuscating it is the agent's part.
 */
export function assertSqlResource(span: ReceivedSpan, statement: string): void {
  assert.equal(span.resource, statement)
}

/**
 * A route body for the context-after-await tests: the active span's id before and after `work` (a driver
 * call that waits), and a span `after` started once it resolved.
 */
export async function spansAroundAwait(tracer: Tracer, work: () => Promise<unknown>, after: string): Promise<{ before: string; after: string }> {
  const before = tracer.activeSpan()
  await work()
  const active = tracer.activeSpan()
  tracer.startSpan(after).finish()
  return { before: String(before?.context().spanId), after: String(active?.context().spanId) }
}

/**
 * Two requests to a `spansAroundAwait` route ran at once: each saw its own span active before and after
 * the await, and the span `after` started then is its child.
 */
export function assertOwnSpanAroundAwait(responses: readonly TracedResponse[], after: string): void {
  assert.notEqual(responses[0]?.root.span_id, responses[1]?.root.span_id)
  for (const { body, spans, root } of responses) {
    const own = String(root.span_id)
    assert.deepEqual(body, { before: own, after: own })
    const [later] = spansNamed(spans, after)
    assert.ok(later)
    assertChildOf(later, root)
  }
}

/** The two driver spans named `name` across `responses` ran one after the other: the second waited for the first. */
export function assertOneAfterOther(responses: readonly TracedResponse[], name: string): [ReceivedSpan, ReceivedSpan] {
  const [a, b] = spansNamed(responses.flatMap((r) => r.spans), name)
  assert.ok(a && b)
  assert.ok(b.start >= a.start + a.duration, `the second ${name} waited for the first`)
  return [a, b]
}
