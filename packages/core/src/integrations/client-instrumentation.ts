import { setNodeHttpTracing } from './client-node-http.js'
import { HttpClientTracing, type ClientSpanOwner, type HttpClientOptions } from './client-span.js'
import { setUndiciTracing } from './client-undici.js'

/**
 * Diagnostics channels are process-wide, so one tracer at a time owns client instrumentation; the
 * holder sits on a global symbol so that two copies of core in one bundle do not both trace a request.
 */
interface Holder {
  owner: ClientSpanOwner | undefined
  stop: (() => void) | undefined
}

const KEY = Symbol.for('@datadog-apm/core.http-clients')
const holder = ((globalThis as { [KEY]?: Holder })[KEY] ??= { owner: undefined, stop: undefined })

function stopHere(): void {
  setUndiciTracing(undefined)
  setNodeHttpTracing(undefined)
}

/**
 * Traces outgoing HTTP requests for `owner`: client spans and injected headers for fetch and undici
 * (undici's diagnostics channels), and node:http/https (Node's `http.client.request.created` channel
 * where it exists, else only with `patchNodeHttp`). A later call, from this tracer or another,
 * replaces the earlier one. Bad options throw a TypeError.
 */
export function enableHttpClients(owner: ClientSpanOwner, options?: HttpClientOptions): void {
  const tracing = new HttpClientTracing(owner, options)
  if (holder.stop !== undefined && holder.stop !== stopHere) holder.stop()
  setUndiciTracing(tracing)
  setNodeHttpTracing(tracing)
  holder.owner = owner
  holder.stop = stopHere
}

/** Stops client instrumentation if `owner` holds it (on shutdown). */
export function disableHttpClients(owner: ClientSpanOwner): void {
  if (holder.owner !== owner) return
  holder.stop?.()
  holder.owner = undefined
  holder.stop = undefined
}

/** The tracer that currently traces outgoing requests, if any. */
export function httpClientsOwner(): ClientSpanOwner | undefined {
  return holder.owner
}
