import type { TraceState } from '@opentelemetry/api'

/**
 * W3C tracestate as OpenTelemetry's `TraceState`: an immutable list of vendor members, the newest
 * first. The bridge's own, so span contexts need nothing of `@opentelemetry/api` at run time; members
 * are kept as the tracer read or wrote them (it checked them already).
 */
export class BridgeTraceState implements TraceState {
  readonly #members: readonly (readonly [string, string])[]

  constructor(members: readonly (readonly [string, string])[]) {
    this.#members = members
  }

  /** The members of a tracestate header; undefined when it holds none. */
  static parse(header: string | undefined): BridgeTraceState | undefined {
    if (header === undefined || header === '') return undefined
    const members: [string, string][] = []
    for (const item of header.split(',')) {
      const eq = item.indexOf('=')
      if (eq <= 0) continue
      const key = item.slice(0, eq).trim()
      if (!members.some(([k]) => k === key)) members.push([key, item.slice(eq + 1).trim()])
    }
    return members.length === 0 ? undefined : new BridgeTraceState(members)
  }

  get(key: string): string | undefined {
    return this.#members.find(([k]) => k === key)?.[1]
  }

  set(key: string, value: string): BridgeTraceState {
    return new BridgeTraceState([[key, value], ...this.#members.filter(([k]) => k !== key)])
  }

  unset(key: string): BridgeTraceState {
    return new BridgeTraceState(this.#members.filter(([k]) => k !== key))
  }

  serialize(): string {
    return this.#members.map(([k, v]) => `${k}=${v}`).join(',')
  }
}
