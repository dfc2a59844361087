import type { DatabaseIntegrationOptions } from '../config/integrations.js'
import type { CoreSpan } from '../model/span.js'
import { ChannelSpans, type OperationContext } from './channel-spans.js'
import { DATABASE_KINDS, DatabaseTracing, type IntegrationOwner } from './database-span.js'
import { redisCommandSpan, redisConnectSpan } from './redis-command.js'

// ioredis ≥ 5.11 publishes these TracingChannels itself (built/tracing.js); older versions publish
// nothing and are not traced. A command is published once, when it is written, MULTI, EXEC and the
// commands of pipelines and transactions included, so each gets its span as with dd-trace; the batch
// channel adds nothing to that and is not used.
export const IOREDIS_CHANNELS = {
  command: 'ioredis:command',
  connect: 'ioredis:connect'
} as const

let tracing: DatabaseTracing | undefined

/** The resource keeps the caller's casing (`get`), as dd-trace's does; the raw command is upper case. */
function commandSpan(context: OperationContext): CoreSpan | undefined {
  return redisCommandSpan(tracing, context, 0)
}

function connectSpan(context: OperationContext): CoreSpan | undefined {
  return redisConnectSpan(tracing, context)
}

const channels = [new ChannelSpans(IOREDIS_CHANNELS.command, commandSpan, false), new ChannelSpans(IOREDIS_CHANNELS.connect, connectSpan, false)]

/** Starts (or, with undefined options, stops) tracing ioredis for `owner`. */
export function setIoredisTracing(owner: IntegrationOwner, options: DatabaseIntegrationOptions | undefined): void {
  tracing = options === undefined ? undefined : new DatabaseTracing(owner, DATABASE_KINDS.ioredis, options)
  for (const c of channels) {
    if (tracing === undefined) c.unsubscribe()
    else c.subscribe()
  }
}
