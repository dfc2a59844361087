import { isSuppressed } from '../model/context.js'
import type { CoreSpan } from '../model/span.js'
import type { TracerConfig } from '../config/config.js'
import type { HeaderSetter } from '../propagation/carrier.js'

/** What the client instrumentation needs from the tracer. */
export interface ClientSpanOwner {
  readonly config: TracerConfig
  readonly enabled: boolean
  readonly diagnostics: { warn(kind: string, message: string, detail?: string): void }
  startSpan(name: string, options: { service?: string; type?: string; resource?: string }): CoreSpan
  /** Writes the span's context with `set`, locking the trace's sampling decision. */
  injectSpan<C>(span: CoreSpan, carrier: C, set: HeaderSetter<C>): void
}

/** The options every span of one integration starts with: built once, only read by `startSpan`. */
export interface ClientSpanStart {
  service?: string
  type: string
  resource: string
}

/**
 * The start of every client span, outbound HTTP and databases alike: nothing while the tracer is off or
 * the exporter itself is running, else a child of the active span with the tags dd-trace puts on every
 * client span (`span.kind`, `component`, measured).
 */
export function startClientSpan(owner: ClientSpanOwner, name: string, start: ClientSpanStart, component: string): CoreSpan | undefined {
  if (!owner.enabled || isSuppressed()) return undefined
  const span = owner.startSpan(name, start)
  const meta = span.meta
  meta['span.kind'] = 'client'
  meta.component = component
  span.metrics['_dd.measured'] = 1
  return span
}

/**
 * dd-trace's `peer.service`: `peer`, read from the tag `source`, renamed by `DD_TRACE_PEER_SERVICE_MAPPING`
 * (the old name kept in `_dd.peer.service.remapped_from`). Called only when peer service defaults are on.
 */
export function setPeerService(meta: Record<string, string>, mapping: Readonly<Record<string, string>>, source: string, peer: string): void {
  const mapped = mapping[peer]
  if (mapped !== undefined) {
    meta['_dd.peer.service.remapped_from'] = peer
    peer = mapped
  }
  meta['peer.service'] = peer
  meta['_dd.peer.service.source'] = source
}
