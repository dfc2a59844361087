// Shared by the plugin's tests: the two Fastify majors under test, a tracer that keeps spans in memory,
// and a way to run a callback outside every request's async context, as a pooled client library does.
import { AsyncResource } from 'node:async_hooks'
import { setImmediate as tick } from 'node:timers/promises'
import { createTracer, type Tracer, type TracerOptions } from '@datadog-apm/core'
import { InMemoryExporter, type ExportedSpan } from '@datadog-apm/core/testing'
import Fastify5, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import Fastify4 from 'fastify4'
import { datadogPlugin, type DatadogPluginOptions } from '../src/index.js'

export interface FastifyMajor {
  readonly name: string
  readonly major: 4 | 5
  /** Fastify 4's types differ in details the tests never touch; both are driven through Fastify 5's. */
  create(options?: FastifyServerOptions): FastifyInstance
}

export const majors: readonly FastifyMajor[] = [
  { name: 'fastify 5', major: 5, create: (options) => Fastify5(options) },
  { name: 'fastify 4', major: 4, create: (options) => Fastify4(options as never) as unknown as FastifyInstance }
]

export interface MemoryTracer {
  readonly tracer: Tracer
  readonly exporter: InMemoryExporter
  readonly warnings: string[]
}

export function memoryTracer(options: TracerOptions = {}): MemoryTracer {
  const exporter = new InMemoryExporter()
  const warnings: string[] = []
  const tracer = createTracer({ service: 'svc', exporter, flushOnExit: false, diagnostics: { write: (line) => warnings.push(line) }, ...options })
  return { tracer, exporter, warnings }
}

export interface TracedApp extends MemoryTracer {
  readonly app: FastifyInstance
}

/** A Fastify app with the plugin registered first, as the README says. Close it with `app.close()`. */
export async function tracedApp(major: FastifyMajor, options: DatadogPluginOptions = {}, server?: FastifyServerOptions): Promise<TracedApp> {
  const memory = memoryTracer()
  const app = major.create(server)
  await app.register(datadogPlugin, { tracer: memory.tracer, ...options })
  return { ...memory, app }
}

/** Waits, a few event-loop turns at a time, until `done()` is true. */
export async function until(done: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await tick()
  }
}

/**
 * Counts the app's responses that have closed. The counting 'close' listener is added by an onRequest
 * hook registered after the plugin, so it runs after the plugin's own: once a response is counted, its
 * span has been finished if it ever will be. Call it before adding routes.
 */
export function closedResponses(app: FastifyInstance): () => number {
  let closed = 0
  app.addHook('onRequest', (_request, reply, done) => {
    reply.raw.once('close', () => closed++)
    done()
  })
  return () => closed
}

/** Waits until `count` spans were exported. */
export async function spansAfter(exporter: InMemoryExporter, count: number, timeoutMs = 2000): Promise<ExportedSpan[]> {
  await until(() => exporter.spans().length >= count, `${count} spans (got ${exporter.spans().length})`, timeoutMs)
  return exporter.spans()
}

// Created at import, outside any request: what runs in its scope sees no active span, like the callback
// of a connection pool's socket.
const pool = new AsyncResource('test-pool')

/** Calls `fn` on a later turn in the pool's async context, never the caller's. */
export function foreign(fn: () => void): void {
  setImmediate(() => pool.runInAsyncScope(fn))
}
