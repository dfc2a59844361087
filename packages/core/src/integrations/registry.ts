import type { IntegrationsConfig } from '../config/integrations.js'
import { disableHttpClients, enableHttpClients } from './client-instrumentation.js'
import { DATABASE_KINDS, DatabaseTracing, type IntegrationOwner } from './database-span.js'
import { setIoredisTracing } from './ioredis.js'
import { setMysql2Tracing } from './mysql2.js'
import { setNodeRedisTracing } from './node-redis.js'

/**
 * Every integration the tracer turns on when it is created, from its resolved `integrations` config.
 * Diagnostics channels are process-wide, so one tracer at a time owns them; the holder sits on a global
 * symbol so that two copies of core in one bundle do not both trace a query, and so that the pg
 * wrappers of either copy find the tracer of the one that holds it.
 */
interface Holder {
  owner: IntegrationOwner | undefined
  stop: (() => void) | undefined
  pg: DatabaseTracing | undefined
}

const KEY = Symbol.for('@datadog-apm/core.integrations')
const holder = ((globalThis as { [KEY]?: Holder })[KEY] ??= { owner: undefined, stop: undefined, pg: undefined })

function stopHere(): void {
  if (holder.owner !== undefined) {
    setMysql2Tracing(holder.owner, undefined)
    setIoredisTracing(holder.owner, undefined)
    setNodeRedisTracing(holder.owner, undefined)
  }
  holder.pg = undefined
}

/** Turns on each integration `config` does not turn off, for `owner`; a later tracer replaces an earlier one. */
export function enableIntegrations(owner: IntegrationOwner, config: IntegrationsConfig): void {
  if (config.http !== false) enableHttpClients(owner, config.http)
  if (holder.stop !== undefined && holder.stop !== stopHere) holder.stop()
  setMysql2Tracing(owner, config.mysql2 === false ? undefined : config.mysql2)
  setIoredisTracing(owner, config.ioredis === false ? undefined : config.ioredis)
  setNodeRedisTracing(owner, config.redis === false ? undefined : config.redis)
  holder.pg = config.pg === false ? undefined : new DatabaseTracing(owner, DATABASE_KINDS.pg, config.pg)
  holder.owner = owner
  holder.stop = stopHere
}

/** Turns every integration off if `owner` holds them (on shutdown). */
export function disableIntegrations(owner: IntegrationOwner): void {
  disableHttpClients(owner)
  if (holder.owner !== owner) return
  holder.stop?.()
  holder.owner = undefined
  holder.stop = undefined
}

/** The pg span settings of the tracer that holds the integrations, if pg is on. */
export function currentPgTracing(): DatabaseTracing | undefined {
  return holder.pg
}
