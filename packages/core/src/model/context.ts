import { AsyncLocalStorage } from 'node:async_hooks'
import type { CoreSpan } from './span.js'

/** The store the exporter runs under, so nothing it does is traced or gets headers injected. */
export const SUPPRESSED = Object.freeze({ suppressed: true as const })
export type ContextStore = CoreSpan | typeof SUPPRESSED

// One AsyncLocalStorage for the whole process, registered under a global symbol: every tracer, the
// logger and the framework packages read the same context even when a bundle carries two copies of
// core. One instance also matters for speed: on Node 24 the cost of `run` grows with the number of
// AsyncLocalStorage instances (AsyncContextFrame copies every store on each `run`).
const KEY = Symbol.for('@datadog-apm/core.context')
const holder = globalThis as { [KEY]?: AsyncLocalStorage<ContextStore> }
export const storage: AsyncLocalStorage<ContextStore> = (holder[KEY] ??= new AsyncLocalStorage<ContextStore>())

/** The span active in the current async context, if any. */
export function activeSpan(): CoreSpan | undefined {
  const store = storage.getStore()
  return store === undefined || store === SUPPRESSED ? undefined : (store as CoreSpan)
}

/** True while the exporter (or anything else that must not be traced) is running. */
export function isSuppressed(): boolean {
  return storage.getStore() === SUPPRESSED
}

/** Runs `fn` with tracing suppressed: no spans are parented to the caller and nothing is injected. */
export function runSuppressed<R>(fn: () => R): R {
  return storage.run(SUPPRESSED, fn)
}
