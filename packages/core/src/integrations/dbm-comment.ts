import type { CoreSpan } from '../model/span.js'
import type { DatabaseTracing } from './database-span.js'

// The SQL comment that links a query to its trace in Database Monitoring, as dd-trace writes it: keys in
// this order, values single-quoted, no spaces. dddb, dddbs, dde and ddh are URI-encoded unless they are
// plain (`encodeURIComponent` leaves `'` alone, as dd-trace's does); ddps and ddpv never are.
const PLAIN = /^[\w\-.~]*$/

function quoted(value: string | undefined): string {
  if (value === undefined) return "''"
  return "'" + (PLAIN.test(value) ? value : encodeURIComponent(value)) + "'"
}

function hex16(value: bigint): string {
  return value.toString(16).padStart(16, '0')
}

/**
 * The comment for a query of `span`: the service keys, and in `full` mode (not for named prepared
 * statements, whose text the server caches) the span's `traceparent`. Full mode makes the trace's
 * sampling decision first and locks it, as an injected header does, and tags the span
 * `_dd.dbm_trace_injected`.
 */
export function dbmComment(tracing: DatabaseTracing, span: CoreSpan, prepared: boolean): string {
  const config = tracing.owner.config
  const meta = span.meta
  const service = tracing.owner.config.naming.peerServiceDefaults ? (meta['peer.service'] ?? span.service) : span.service
  let comment =
    '/*dddb=' + quoted(meta['db.name']) +
    ',dddbs=' + quoted(service) +
    ',dde=' + quoted(config.env) +
    ',ddh=' + quoted(meta['out.host']) +
    ",ddps='" + config.service +
    "',ddpv='" + (config.version ?? '') + "'"
  if (tracing.dbmMode === 'full' && !prepared) {
    const trace = span.trace
    tracing.owner.injectSpan(span, undefined, noHeaders)
    const flags = (trace.samplingPriority ?? 1) >= 1 ? '01' : '00'
    const high = trace.traceIdHigh === '' ? '0000000000000000' : trace.traceIdHigh
    comment += ",traceparent='00-" + high + hex16(trace.traceId) + '-' + hex16(span.spanId) + '-' + flags + "'"
    meta['_dd.dbm_trace_injected'] = 'true'
  }
  return comment + '*/'
}

/** Full mode's sampling decision goes through the tracer's injection with nowhere to write headers. */
function noHeaders(): void {}
