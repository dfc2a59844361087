import { storage, type ContextStore } from '../model/context.js'
import type { CoreSpan } from '../model/span.js'
import { dbmComment } from './dbm-comment.js'
import type { DatabaseTracing } from './database-span.js'
import { currentPgTracing } from './registry.js'

// node-postgres publishes no diagnostics channel, so the user hands us the module object they imported
// and we wrap `Client.prototype.query` and the pool's `connect` and `query` of that copy of pg. Every
// user of that copy is traced, ORMs and query builders included. The wrappers stay once installed and
// look up the tracer on each call: with the pg integration off (or no tracer) they only call through.

const WRAPPED = Symbol.for('@datadog-apm/core.pg-instrumented')

type Callback = (err: unknown, result?: unknown, extra?: unknown) => unknown
type Fn = (this: unknown, ...args: unknown[]) => unknown

interface ConnectionParameters {
  host?: unknown
  port?: unknown
  database?: unknown
  user?: unknown
}

interface PgClientLike {
  connectionParameters?: ConnectionParameters
  processID?: unknown
  _Promise?: PromiseConstructor
}

interface PgPoolLike {
  options?: ConnectionParameters
  Promise?: PromiseConstructor
}

interface Submittable {
  submit: unknown
  text?: unknown
  callback?: unknown
  once?: (event: string, listener: (this: object, ...args: unknown[]) => void) => unknown
}

/** What `instrumentPg` needs of the module: `Client` and, when present, `Pool` (pg-pool bound to it). */
export interface PgModule {
  Client: { prototype: object }
  Pool?: { prototype: object }
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)
const port = (value: unknown): number | undefined => {
  const n = typeof value === 'string' ? Number(value) : value
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined
}

/** Calls `fn` in `store` unless it is already current (a run costs up to 0.2 µs on Node 24). */
function callIn(store: ContextStore | undefined, fn: Callback, err: unknown, result: unknown, extra: unknown): unknown {
  if (storage.getStore() === store) return fn(err, result, extra)
  return storage.run(store as ContextStore, fn, err, result, extra)
}

function finish(span: CoreSpan | undefined, err: unknown): void {
  if (span === undefined) return
  if (err !== undefined && err !== null) span.setError(err)
  span.finish()
}

/** The caller's callback, run in the caller's context after the span ends: pg calls it from the socket's data event. */
function tracedCallback(span: CoreSpan | undefined, store: ContextStore | undefined, callback: Callback): Callback {
  return (err, result, extra) => {
    finish(span, err)
    return callIn(store, callback, err, result, extra)
  }
}

// pg replaces the stack of a failed query's error with one that leads back to the caller; the promise
// this file makes in pg's place does the same.
function captureStack(err: unknown): never {
  if (err !== null && typeof err === 'object') Error.captureStackTrace(err)
  throw err
}

/** A cursor or stream: ends with one of its events. */
const streamSpans = new WeakMap<object, CoreSpan>()
function onStreamDone(this: object, err?: unknown): void {
  const span = streamSpans.get(this)
  if (span === undefined) return
  streamSpans.delete(this)
  finish(span, err instanceof Error ? err : undefined)
}

function startQuerySpan(t: DatabaseTracing, client: PgClientLike, statement: string): CoreSpan | undefined {
  const params = client.connectionParameters
  const span = t.start(statement, text(params?.host), port(params?.port), text(params?.database))
  if (span === undefined) return undefined
  const user = text(params?.user)
  if (user !== undefined && user !== '') span.meta['db.user'] = user
  if (typeof client.processID === 'number') span.metrics['db.pid'] = client.processID
  return span
}

/**
 * The query with the Database Monitoring comment in front. A string or a config object is replaced (the
 * caller's object is left as it was); a Query, cursor or stream object has its text rewritten, since
 * pg sends what it holds.
 */
function withComment(t: DatabaseTracing, span: CoreSpan, config: unknown, statement: string): unknown {
  if (typeof config === 'string') return dbmComment(t, span, false) + ' ' + config
  if (typeof config !== 'object' || config === null || statement === '') return config
  const name = (config as { name?: unknown }).name
  const commented = dbmComment(t, span, typeof name === 'string' && name !== '') + ' ' + statement
  if (typeof (config as Submittable).submit === 'function') {
    ;(config as { text: string }).text = commented
    return config
  }
  return { ...config, text: commented }
}

function wrapQuery(original: Fn): Fn {
  return function query(this: unknown, config: unknown, values?: unknown, callback?: unknown): unknown {
    const t = currentPgTracing()
    if (config === null || config === undefined || t === undefined) return original.call(this, config, values, callback)
    const client = this as PgClientLike
    const statement = typeof config === 'string' ? config : (text((config as { text?: unknown }).text) ?? '')
    const span = startQuerySpan(t, client, statement)
    if (span === undefined) return original.call(this, config, values, callback)
    const store = storage.getStore()
    try {
      if (t.dbmMode !== 'disabled') config = withComment(t, span, config, statement)
      if (typeof (config as Submittable).submit === 'function') {
        const submittable = config as Submittable
        const given = typeof submittable.callback === 'function' ? submittable.callback : typeof values === 'function' ? values : callback
        if (typeof given === 'function') {
          submittable.callback = tracedCallback(span, store, given as Callback)
        } else if (typeof submittable.once === 'function') {
          span.metrics['db.stream'] = 1
          streamSpans.set(submittable, span)
          submittable.once('end', onStreamDone)
          submittable.once('error', onStreamDone)
          submittable.once('close', onStreamDone)
        } else {
          span.finish()
        }
        return original.call(this, config, values, callback)
      }
      if (typeof values === 'function') return original.call(this, config, tracedCallback(span, store, values as Callback))
      if (typeof callback === 'function') return original.call(this, config, values, tracedCallback(span, store, callback as Callback))
      if (typeof (config as { callback?: unknown }).callback === 'function') {
        return original.call(this, config, values, tracedCallback(span, store, (config as { callback: Callback }).callback))
      }
      // The promise pg would have made, made here around a callback that ends the span first. What pg
      // throws at once is thrown at once, as without us, not turned into a rejection.
      const PromiseClass = client._Promise ?? Promise
      let thrown: { error: unknown } | undefined
      const promise = new PromiseClass((resolve, reject) => {
        try {
          original.call(this, config, values, (err: unknown, result: unknown) => {
            finish(span, err)
            // pg rejects with what the driver reported, as it would without us.
            // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
            if (err !== undefined && err !== null) reject(err)
            else resolve(result)
          })
        } catch (err) {
          thrown = { error: err }
        }
      })
      if (thrown !== undefined) throw thrown.error
      return promise.catch(captureStack)
    } catch (err) {
      finish(span, err)
      throw err
    }
  }
}

/** Set while the pool's own `query` asks it for a client: that acquire is the query's, not a span of its own. */
let poolQueryDepth = 0

function wrapPoolQuery(original: Fn): Fn {
  return function query(this: unknown, ...args: unknown[]): unknown {
    poolQueryDepth++
    try {
      return original.apply(this, args)
    } finally {
      poolQueryDepth--
    }
  }
}

function wrapPoolConnect(original: Fn): Fn {
  return function connect(this: unknown, callback?: unknown): unknown {
    const t = currentPgTracing()
    if (t === undefined) return original.call(this, callback)
    const pool = this as PgPoolLike
    const store = storage.getStore()
    let span: CoreSpan | undefined
    if (poolQueryDepth === 0) {
      const options = pool.options
      span = t.start(t.acquireName, text(options?.host), port(options?.port), text(options?.database), t.acquireName)
    }
    const started = span?.start ?? 0
    const done = (err: unknown): void => {
      if (span === undefined) return
      span.metrics['db.pool.wait_time_ms'] = performance.now() - started
      finish(span, err)
    }
    // The callback of a client handed out later (the pool was full) would run in the context of the
    // request that released one: it runs in the caller's.
    if (typeof callback === 'function') {
      return original.call(this, (err: unknown, client: unknown, release: unknown) => {
        done(err)
        return callIn(store, callback as Callback, err, client, release)
      })
    }
    const PromiseClass = pool.Promise ?? Promise
    return new PromiseClass((resolve, reject) => {
      original.call(this, (err: unknown, client: unknown) => {
        done(err)
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        if (err !== undefined && err !== null) reject(err)
        else resolve(client)
      })
    })
  }
}

function wrap(proto: Record<string | symbol, unknown>, name: string, wrapper: (original: Fn) => Fn): void {
  const original = proto[name]
  if (typeof original === 'function') proto[name] = wrapper(original as Fn)
}

/**
 * Traces the `pg` module object it is given (`import pg from 'pg'`): every query of its `Client` and
 * `Pool` gets a client span, child of the span active at the call, and callbacks run in the caller's
 * context. Calling it again with the same module does nothing more. Returns the module.
 */
export function instrumentPg<M extends PgModule>(pg: M): M {
  const client = pg?.Client?.prototype as Record<string | symbol, unknown> | undefined
  if (client === undefined || client === null || typeof client.query !== 'function') {
    throw new TypeError('datadog-apm: instrumentPg(pg) needs the pg module object (import pg from "pg")')
  }
  if (client[WRAPPED] !== true) {
    wrap(client, 'query', wrapQuery)
    client[WRAPPED] = true
  }
  const pool = pg.Pool?.prototype as Record<string | symbol, unknown> | undefined
  if (pool !== undefined && pool !== null && pool[WRAPPED] !== true) {
    wrap(pool, 'connect', wrapPoolConnect)
    wrap(pool, 'query', wrapPoolQuery)
    pool[WRAPPED] = true
  }
  return pg
}
