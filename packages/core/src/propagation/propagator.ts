import type { SpanContext, SpanLink } from '../model/span-context.js'
import { extractB3Multi, extractB3Single, injectB3Multi, injectB3Single } from './b3.js'
import { extractBaggage, injectBaggage } from './baggage.js'
import { fromHeaders, type HeaderCarrier, type HeaderSetter } from './carrier.js'
import { extractDatadog, injectDatadog } from './datadog.js'
import type { OutgoingContext } from './outgoing-context.js'
import { RemoteContext } from './remote-context.js'
import type { PropagationConfig, PropagationStyleName } from './styles.js'
import { hex16 } from './id-text.js'
import { extractTraceContext, injectTraceContext } from './tracecontext.js'

/**
 * node's `req.headers` is a plain object: checked by prototype first, since reading the global
 * `Headers` goes through a lazy getter that cost ~20 ns per request.
 */
function isFetchHeaders(carrier: object): carrier is Headers {
  const proto: unknown = Object.getPrototypeOf(carrier)
  return proto !== Object.prototype && proto !== null && typeof Headers === 'function' && carrier instanceof Headers
}

function sameTrace(a: RemoteContext, b: RemoteContext): boolean {
  return a.traceId === b.traceId && a.traceIdHigh === b.traceIdHigh
}

/**
 * tracecontext agreeing on the trace id with the context chosen first (as dd-trace merges them): its span id
 * wins (W3C headers are rewritten by proxies that do not know Datadog's), its tracestate is kept, and
 * the Datadog parent it replaces is remembered as `_dd.parent_id`.
 */
function mergeTraceContext(chosen: RemoteContext, w3c: RemoteContext, datadog: RemoteContext | undefined): void {
  if (chosen.samplingPriority === undefined) {
    chosen.samplingPriority = w3c.samplingPriority
    const dm = w3c.traceTags['_dd.p.dm']
    if (dm !== undefined) chosen.traceTags['_dd.p.dm'] = dm
  }
  chosen.tracestate = w3c.tracestate
  chosen.otherMembers = w3c.otherMembers
  chosen.randomTraceId = w3c.randomTraceId
  if (chosen.spanId === w3c.spanId) return
  if (w3c.lastParentId !== undefined) chosen.lastParentId = w3c.lastParentId
  else if (datadog !== undefined) chosen.lastParentId = hex16(datadog.spanId)
  chosen.spanId = w3c.spanId
}

/**
 * Reads and writes trace context in the configured header styles. Built once per tracer; `extract`
 * and `inject` run per request and never throw on bad input: a malformed header is ignored (or
 * trimmed where the format says so) and the next style is tried.
 */
export class Propagator {
  readonly config: PropagationConfig
  readonly #extractBaggage: boolean

  constructor(config: PropagationConfig) {
    this.config = config
    this.#extractBaggage = config.extract.includes('baggage')
  }

  /**
   * The caller's context from `carrier` (lowercase header names to values, or a fetch `Headers`);
   * null when there is none. A context whose trace id is 0n carries only baggage or links into a new
   * trace (baggage without trace headers, or `behaviorExtract: 'restart'`).
   */
  extract(carrier: unknown): SpanContext | null {
    if (carrier === null || typeof carrier !== 'object') return null
    const config = this.config
    if (config.behaviorExtract === 'ignore') return null
    const headers: HeaderCarrier = isFetchHeaders(carrier) ? fromHeaders(carrier) : (carrier as HeaderCarrier)
    let context: RemoteContext | undefined
    let first: PropagationStyleName | undefined
    let datadog: RemoteContext | undefined
    // Indexed loops: a for-of here allocated an iterator and its results on every request (~200 bytes).
    const styles = config.extract
    for (let i = 0; i < styles.length; i++) {
      const style = styles[i]
      let found: RemoteContext | undefined
      switch (style) {
        case 'datadog':
          found = datadog = extractDatadog(headers, config.tagsHeaderMaxLength)
          break
        case 'tracecontext':
          found = extractTraceContext(headers)
          break
        case 'b3':
          found = extractB3Single(headers)
          break
        case 'b3multi':
          found = extractB3Multi(headers)
          break
        case 'baggage':
          continue
      }
      if (found === undefined) continue
      if (context === undefined) {
        context = found
        first = style
        if (config.extractFirst) break
      } else if (sameTrace(context, found)) {
        if (style === 'tracecontext') mergeTraceContext(context, found, datadog)
      } else {
        const link: SpanLink = { context: found, attributes: { reason: 'terminated_context', context_headers: style } }
        ;(context.links ??= []).push(link)
      }
    }
    if (this.#extractBaggage) {
      const items = extractBaggage(headers, config.baggageMaxItems, config.baggageMaxBytes)
      if (items !== undefined) {
        context ??= new RemoteContext(0n, '', 0n)
        context.baggage = items
      }
    }
    if (context !== undefined && config.behaviorExtract === 'restart' && context.traceId !== 0n) {
      const restarted = new RemoteContext(0n, '', 0n)
      restarted.baggage = context.baggage
      context.links = undefined
      restarted.links = [{ context, attributes: { reason: 'propagation_behavior_extract', context_headers: first ?? '' } }]
      return restarted
    }
    return context ?? null
  }

  /**
   * Writes `context` into `carrier` in every inject style. Returns false when x-datadog-tags was too
   * long and left out (everything else is written).
   */
  inject<C>(context: OutgoingContext, carrier: C, set: HeaderSetter<C>): boolean {
    const config = this.config
    let ok = true
    const styles = config.inject
    for (let i = 0; i < styles.length; i++) {
      const style = styles[i]
      switch (style) {
        case 'datadog':
          ok = injectDatadog(context, carrier, set, config.tagsHeaderMaxLength)
          break
        case 'tracecontext':
          injectTraceContext(context, carrier, set)
          break
        case 'b3':
          injectB3Single(context, carrier, set)
          break
        case 'b3multi':
          injectB3Multi(context, carrier, set)
          break
        case 'baggage':
          if (context.baggage !== undefined) injectBaggage(context.baggage, carrier, set, config.baggageMaxItems, config.baggageMaxBytes)
          break
      }
    }
    return ok
  }
}
