import type { DatabaseIntegrationOptions } from '../config/integrations.js'
import { activeSpan } from '../model/context.js'
import type { CoreSpan } from '../model/span.js'
import { ChannelSpans, numberField, stringField, type OperationContext } from './channel-spans.js'
import { DATABASE_KINDS, DatabaseTracing, type IntegrationOwner } from './database-span.js'

// mysql2 ≥ 3.20 publishes these TracingChannels itself (lib/tracing.js); older versions publish nothing
// and are not traced.
export const MYSQL2_CHANNELS = {
  query: 'mysql2:query',
  execute: 'mysql2:execute',
  connect: 'mysql2:connect',
  poolConnect: 'mysql2:pool:connect'
} as const

let tracing: DatabaseTracing | undefined

/** `query()` gives the SQL with its values formatted in, as dd-trace's resource; `execute()` keeps `?`. */
function statementSpan(context: OperationContext): CoreSpan | undefined {
  const t = tracing
  if (t === undefined) return undefined
  return t.start(stringField(context.query) ?? '', stringField(context.serverAddress), numberField(context.serverPort), stringField(context.database))
}

/** A handshake inside a traced operation; one with no active span (a pool warming up) starts no trace. */
function connectSpan(context: OperationContext): CoreSpan | undefined {
  const t = tracing
  if (t === undefined || activeSpan() === undefined) return undefined
  const span = t.start('connect', stringField(context.serverAddress), numberField(context.serverPort), stringField(context.database), 'mysql.connect')
  const user = stringField(context.user)
  if (span !== undefined && user !== undefined && user !== '') span.meta['db.user'] = user
  return span
}

function acquireSpan(context: OperationContext): CoreSpan | undefined {
  const t = tracing
  if (t === undefined) return undefined
  return t.start('mysql2.pool.acquire', stringField(context.serverAddress), numberField(context.serverPort), stringField(context.database), 'mysql2.pool.acquire')
}

// Query and pool callbacks run in the caller's context: mysql2 calls them from the socket's data event
// or from whichever release freed a connection.
const channels = [
  new ChannelSpans(MYSQL2_CHANNELS.query, statementSpan, true),
  new ChannelSpans(MYSQL2_CHANNELS.execute, statementSpan, true),
  new ChannelSpans(MYSQL2_CHANNELS.connect, connectSpan, false),
  new ChannelSpans(MYSQL2_CHANNELS.poolConnect, acquireSpan, true, 'mysql2.pool.wait_time')
]

/** Starts (or, with undefined options, stops) tracing mysql2 for `owner`. */
export function setMysql2Tracing(owner: IntegrationOwner, options: DatabaseIntegrationOptions | undefined): void {
  tracing = options === undefined ? undefined : new DatabaseTracing(owner, DATABASE_KINDS.mysql2, options)
  for (const c of channels) {
    if (tracing === undefined) c.unsubscribe()
    else c.subscribe()
  }
}
