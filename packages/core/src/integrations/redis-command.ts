import { activeSpan } from '../model/context.js'
import type { CoreSpan } from '../model/span.js'
import { numberField, stringField, type OperationContext } from './channel-spans.js'
import type { DatabaseTracing } from './database-span.js'

// `redis.raw_command` as dd-trace writes it: the command in upper case, then each argument, a string cut
// to 97 characters plus `...` past 100, a number as text, anything else `?`; AUTH with no arguments; the
// whole cut to 997 characters plus `...` past 1000. The drivers' channels give arguments already
// sanitized (values the command writes are `?`), so the agent has less to obfuscate than with dd-trace.
const MAX_ARG = 100
const MAX_COMMAND = 1000

function argText(arg: unknown): string {
  if (typeof arg === 'string') return arg.length > MAX_ARG ? arg.slice(0, MAX_ARG - 3) + '...' : arg
  if (typeof arg === 'number') return String(arg)
  return '?'
}

/** The raw command of `name` with `args` from index `from` on (node-redis puts the command at 0). */
export function rawCommand(name: string, args: unknown, from: number): string {
  let text = name.toUpperCase()
  if (text === 'AUTH' || !Array.isArray(args)) return text
  for (let i = from; i < args.length; i++) {
    text += ' ' + argText(args[i])
    if (text.length > MAX_COMMAND) return text.slice(0, MAX_COMMAND - 3) + '...'
  }
  return text
}

/**
 * A Redis command's span from a driver's channel context: the resource is the command as the driver gives
 * it, `redis.raw_command` is built from its arguments from index `from` on.
 */
export function redisCommandSpan(tracing: DatabaseTracing | undefined, context: OperationContext, from: number): CoreSpan | undefined {
  if (tracing === undefined) return undefined
  const command = stringField(context.command) ?? ''
  const span = tracing.start(command, stringField(context.serverAddress), numberField(context.serverPort), undefined)
  if (span !== undefined) span.meta['redis.raw_command'] = rawCommand(command, context.args, from)
  return span
}

/** A connect inside a traced operation; one with no active span (a client warming up) starts no trace. */
export function redisConnectSpan(tracing: DatabaseTracing | undefined, context: OperationContext): CoreSpan | undefined {
  if (tracing === undefined || activeSpan() === undefined) return undefined
  return tracing.start('connect', stringField(context.serverAddress), numberField(context.serverPort), undefined, 'redis.connect')
}
