import { tracer as defaultTracer, type Tracer as CoreTracer } from '@datadog-apm/core'
import * as defaultApi from '@opentelemetry/api'
import type { Context, ContextManager, Span, TextMapPropagator, Tracer, TracerOptions, TracerProvider as OtelTracerProvider } from '@opentelemetry/api'
import { BridgeContextManager } from './context-manager.js'
import { BridgeTracer, type BridgeHost } from './otel-tracer.js'
import { BridgePropagator } from './propagator.js'

/**
 * The parts of an `@opentelemetry/api` module `register` uses. Any 1.x copy has them; pass the one
 * your app and its libraries import when it is not the one this package resolves.
 */
export interface OpenTelemetryApi {
  readonly trace: { setGlobalTracerProvider(provider: OtelTracerProvider): boolean }
  readonly context: {
    setGlobalContextManager(manager: ContextManager): boolean
    active(): Context
    with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F>
  }
  readonly propagation: { setGlobalPropagator(propagator: TextMapPropagator): boolean }
  readonly ROOT_CONTEXT: Context
}

export interface TracerProviderOptions {
  /** The tracer whose spans OpenTelemetry makes. Default: the default tracer of `@datadog-apm/core`. */
  tracer?: CoreTracer
  /**
   * The `@opentelemetry/api` module whose active context the tracers read (`register({ api })` sets it
   * too). Default: the one this package resolves (its peer).
   */
  api?: OpenTelemetryApi
}

export interface RegisterOptions {
  /** The `@opentelemetry/api` module to register with. Default: the provider's (`TracerProviderOptions.api`), else the one this package resolves (its peer). */
  api?: OpenTelemetryApi
  /** Replaces the propagator; null registers none. Default: one in the tracer's header styles. */
  propagator?: TextMapPropagator | null
}

/**
 * Makes `@opentelemetry/api` create this tracer's spans. `register()` installs it as the global tracer
 * provider, with a context manager on the tracer's own context store and a propagator in its header
 * styles: a span started through OpenTelemetry inside an Express or Fastify request is a child of the
 * request's span, a span the tracer starts inside an OpenTelemetry span is that span's child, and
 * headers go out and are read as the tracer's own. With `openTelemetry: false`
 * (`DD_TRACE_OTEL_ENABLED=false`) its spans record nothing, while contexts still propagate.
 */
export class TracerProvider implements OtelTracerProvider {
  readonly #tracer: CoreTracer
  #api: OpenTelemetryApi = defaultApi
  #contextManager: BridgeContextManager | undefined
  readonly #tracers = new Map<string, BridgeTracer>()
  readonly #host: BridgeHost

  constructor(options: TracerProviderOptions = {}) {
    this.#tracer = options.tracer ?? defaultTracer
    if (options.api !== undefined) this.#api = options.api
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const provider = this
    this.#host = {
      tracer: this.#tracer,
      active: () => provider.#api.context.active(),
      with: <R>(context: Context, fn: (span: Span) => R, span: Span): R => provider.#api.context.with(context, fn, undefined, span)
    }
  }

  /** The context manager `register` installs (made on first use). */
  get contextManager(): ContextManager {
    return (this.#contextManager ??= new BridgeContextManager(this.#api.ROOT_CONTEXT))
  }

  getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
    const key = `${name}@${version ?? ''}@${options?.schemaUrl ?? ''}`
    let tracer = this.#tracers.get(key)
    if (tracer === undefined) {
      tracer = new BridgeTracer(this.#host, typeof name === 'string' ? name : '')
      this.#tracers.set(key, tracer)
    }
    return tracer
  }

  /**
   * Installs this provider, the context manager and the propagator as OpenTelemetry's globals. Returns
   * false, with a warning, when one of them could not be installed (OpenTelemetry already has one, or
   * another copy of its API registered first: its globals take one API version).
   */
  register(options: RegisterOptions = {}): boolean {
    const api = options.api ?? this.#api
    if (api !== this.#api) {
      this.#api = api
      this.#contextManager = undefined
    }
    const failed: string[] = []
    if (!api.context.setGlobalContextManager(this.contextManager)) failed.push('context manager')
    if (!api.trace.setGlobalTracerProvider(this)) failed.push('tracer provider')
    const propagator = options.propagator === undefined ? new BridgePropagator(this.#tracer) : options.propagator
    if (propagator !== null && !api.propagation.setGlobalPropagator(propagator)) failed.push('propagator')
    if (failed.length === 0) return true
    this.#tracer.diagnostics.warn(
      'otel-register',
      `OpenTelemetry kept its own ${failed.join(', ')}: another was registered first, or by another version of @opentelemetry/api; spans made through OpenTelemetry may not reach Datadog`
    )
    return false
  }

  /** Sends the traces finished so far. */
  forceFlush(): Promise<void> {
    return this.#tracer.flush()
  }

  /** Sends the traces finished so far; the tracer itself goes on (it is shared). */
  shutdown(): Promise<void> {
    return this.#tracer.flush()
  }
}
