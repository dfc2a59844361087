import type { TracerConfig } from '../config/config.js'
import type { Diagnostics } from '../base/diagnostics.js'
import type { ExporterHealth } from '../export/health.js'
import type { HttpClientOptions } from '../integrations/client-span.js'
import type { DogStatsD } from '../metrics/dogstatsd-client.js'
import type { SpanContext } from '../model/span-context.js'
import type { Span } from '../model/span-interface.js'
import { CoreTracer, type SpanCallback, type SpanOptions, type Tracer } from './tracer.js'

let instance: CoreTracer | undefined

/**
 * The process's default tracer, configured from the environment when first used rather than when core is
 * imported: ESM hoists imports above the code that sets `process.env`, and importing must start nothing.
 */
export function getTracer(): Tracer {
  return (instance ??= new CoreTracer())
}

class LazyTracer implements Tracer {
  get config(): TracerConfig {
    return getTracer().config
  }

  get diagnostics(): Diagnostics {
    return getTracer().diagnostics
  }

  get enabled(): boolean {
    return getTracer().enabled
  }

  get dogstatsd(): DogStatsD {
    return getTracer().dogstatsd
  }

  startSpan(name: string, options?: SpanOptions): Span {
    return getTracer().startSpan(name, options)
  }

  trace<R>(name: string, fn: SpanCallback<R>): R
  trace<R>(name: string, options: SpanOptions, fn: SpanCallback<R>): R
  trace<R>(name: string, optionsOrFn: SpanOptions | SpanCallback<R>, fn?: SpanCallback<R>): R {
    return typeof optionsOrFn === 'function'
      ? getTracer().trace(name, optionsOrFn)
      : getTracer().trace(name, optionsOrFn, fn as SpanCallback<R>)
  }

  activeSpan(): Span | undefined {
    return getTracer().activeSpan()
  }

  withSpan<R>(span: Span, fn: () => R): R {
    return getTracer().withSpan(span, fn)
  }

  extract(carrier: unknown): SpanContext | null {
    return getTracer().extract(carrier)
  }

  inject(spanOrContext: Span | SpanContext, carrier: Record<string, unknown> | Headers): void {
    getTracer().inject(spanOrContext, carrier)
  }

  instrumentHttpClients(options?: HttpClientOptions): void {
    getTracer().instrumentHttpClients(options)
  }

  flush(): Promise<void> {
    return instance === undefined ? Promise.resolve() : instance.flush()
  }

  shutdown(options?: { timeoutMs?: number }): Promise<void> {
    return instance === undefined ? Promise.resolve() : instance.shutdown(options)
  }

  health(): ExporterHealth | undefined {
    return getTracer().health()
  }
}

/** The default tracer, created from `DD_*` variables on first use. */
export const tracer: Tracer = new LazyTracer()
