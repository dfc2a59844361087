import type { Tracer as CoreTracer } from '@datadog-apm/core'
import type { Context, TextMapGetter, TextMapPropagator, TextMapSetter } from '@opentelemetry/api'
import { BAGGAGE_KEY, baggageItems, BridgeBaggage } from './baggage.js'
import { BridgeSpan, NonRecordingSpan } from './bridge-span.js'
import { SPAN_KEY } from './context-manager.js'
import { parentContext, remoteSpanContext } from './span-context.js'

/** The headers each style reads and writes. */
const STYLE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  datadog: ['x-datadog-trace-id', 'x-datadog-parent-id', 'x-datadog-sampling-priority', 'x-datadog-origin', 'x-datadog-tags'],
  tracecontext: ['traceparent', 'tracestate'],
  baggage: ['baggage'],
  b3: ['b3'],
  b3multi: ['x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled', 'x-b3-flags']
}
const READ_FIELDS = Object.values(STYLE_FIELDS).flat()
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/**
 * OpenTelemetry's propagation in this tracer's header styles (`DD_TRACE_PROPAGATION_STYLE`, datadog,
 * tracecontext and baggage by default), so that what OpenTelemetry code sends and reads is what the
 * tracer's own requests send and read. Extraction keeps the tracer's full reading of the headers
 * (priority, origin, trace tags, baggage) in the context; the context's baggage is what goes out in
 * the `baggage` header.
 */
export class BridgePropagator implements TextMapPropagator {
  readonly #tracer: CoreTracer

  constructor(tracer: CoreTracer) {
    this.#tracer = tracer
  }

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    const headers: Record<string, unknown> = {}
    const span = context.getValue(SPAN_KEY)
    if (span instanceof BridgeSpan) this.#tracer.inject(span.core, headers)
    else if (span instanceof NonRecordingSpan && span.remote !== undefined) this.#tracer.inject(span.remote, headers)
    else if (span !== undefined && span !== null && typeof (span as { spanContext?: unknown }).spanContext === 'function') {
      const remote = parentContext((span as NonRecordingSpan).spanContext())
      if (remote !== null) this.#tracer.inject(remote, headers)
    }
    const propagation = this.#tracer.config.propagation
    const items = propagation.inject.includes('baggage') ? baggageItems(context.getValue(BAGGAGE_KEY)) : undefined
    if (items !== undefined) {
      const header = formatBaggage(items, propagation.baggageMaxItems, propagation.baggageMaxBytes)
      if (header === '') delete headers.baggage
      else headers.baggage = header
    }
    for (const name of Object.keys(headers)) {
      const value = headers[name]
      if (typeof value === 'string') setter.set(carrier, name, value)
    }
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const headers: Record<string, string | string[]> = {}
    for (const name of READ_FIELDS) {
      const value = getter.get(carrier, name)
      if (value !== undefined) headers[name] = value
    }
    const extracted = this.#tracer.extract(headers)
    if (extracted === null) return context
    let result = context
    if (extracted.traceId !== 0n) result = result.setValue(SPAN_KEY, new NonRecordingSpan(remoteSpanContext(extracted), extracted))
    const baggage = BridgeBaggage.of(extracted.baggage)
    if (baggage !== undefined) result = result.setValue(BAGGAGE_KEY, baggage)
    return result
  }

  fields(): string[] {
    return this.#tracer.config.propagation.inject.flatMap((style) => STYLE_FIELDS[style] ?? [])
  }
}

/** A W3C baggage header, as the tracer writes one: members whose key is not a token are left out; the limits cut the rest. */
function formatBaggage(items: Readonly<Record<string, string>>, maxItems: number, maxBytes: number): string {
  let header = ''
  let count = 0
  for (const key in items) {
    const value = items[key]
    // An empty value is legal W3C, but dd-trace drops a whole header holding one.
    if (value === '' || !TOKEN.test(key) || count === maxItems) continue
    let member: string
    try {
      member = key + '=' + encodeURIComponent(value)
    } catch {
      continue
    }
    if (header.length + (header === '' ? 0 : 1) + member.length > maxBytes) break
    header = header === '' ? member : header + ',' + member
    count++
  }
  return header
}
