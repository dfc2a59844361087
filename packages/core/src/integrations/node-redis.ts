import type { DatabaseIntegrationOptions } from '../config/integrations.js'
import type { CoreSpan } from '../model/span.js'
import { ChannelSpans, numberField, stringField, type OperationContext } from './channel-spans.js'
import { DATABASE_KINDS, DatabaseTracing, type IntegrationOwner } from './database-span.js'
import { redisCommandSpan, redisConnectSpan } from './redis-command.js'

// node-redis (`@redis/client` ≥ 5.12) publishes these TracingChannels itself (dist/lib/client/tracing.js);
// older versions publish nothing and are not traced. Commands of a pipeline are published one by one,
// but a MULTI only as one batch event that does not say which commands it holds: it gets one span,
// resource `MULTI`, with the number of commands.
export const NODE_REDIS_CHANNELS = {
  command: 'node-redis:command',
  batch: 'node-redis:batch',
  connect: 'node-redis:connect'
} as const

let tracing: DatabaseTracing | undefined

/** node-redis upper-cases the command and keeps it at args[0]. */
function commandSpan(context: OperationContext): CoreSpan | undefined {
  return redisCommandSpan(tracing, context, 1)
}

function batchSpan(context: OperationContext): CoreSpan | undefined {
  const t = tracing
  if (t === undefined || context.batchMode !== 'MULTI') return undefined
  const span = t.start('MULTI', stringField(context.serverAddress), numberField(context.serverPort), undefined)
  if (span !== undefined) {
    span.meta['redis.raw_command'] = 'MULTI'
    if (typeof context.batchSize === 'number') span.metrics['redis.batch.size'] = context.batchSize
  }
  return span
}

function connectSpan(context: OperationContext): CoreSpan | undefined {
  return redisConnectSpan(tracing, context)
}

const channels = [
  new ChannelSpans(NODE_REDIS_CHANNELS.command, commandSpan, false),
  new ChannelSpans(NODE_REDIS_CHANNELS.batch, batchSpan, false),
  new ChannelSpans(NODE_REDIS_CHANNELS.connect, connectSpan, false)
]

/** Starts (or, with undefined options, stops) tracing node-redis for `owner`. */
export function setNodeRedisTracing(owner: IntegrationOwner, options: DatabaseIntegrationOptions | undefined): void {
  tracing = options === undefined ? undefined : new DatabaseTracing(owner, DATABASE_KINDS.redis, options)
  for (const c of channels) {
    if (tracing === undefined) c.unsubscribe()
    else c.subscribe()
  }
}
