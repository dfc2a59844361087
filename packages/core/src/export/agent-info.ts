import type { Transport, TransportResponse } from '../agent-client/transport.js'

/** What the agent's `GET /info` said (reference §1.7); only the fields the tracer uses. */
export interface AgentInfo {
  readonly version: string | undefined
  readonly endpoints: readonly string[]
  /** The agent lets clients compute stats and drop P0 traces (kept for client-side stats). */
  readonly clientDropP0s: boolean
  /** Native span events are accepted. */
  readonly spanEvents: boolean
  /** `config.max_request_bytes`: payloads larger than this get 413. */
  readonly maxRequestBytes: number | undefined
  /** `obfuscation_version`: 1 lets client-side stats obfuscate SQL/Redis resources as the agent would; 0 when absent. */
  readonly obfuscationVersion: number
  /** `peer_tags`: the tag keys that describe the peer of client/producer/consumer spans in stats. */
  readonly peerTags: readonly string[]
  /** The `Datadog-Agent-State` the document came with. */
  readonly state: string | undefined
}

/** Parses the /info document; undefined when it is not a JSON object. Unknown or mistyped fields are ignored. */
export function parseAgentInfo(body: string, state: string | undefined): AgentInfo | undefined {
  let doc: unknown
  try {
    doc = JSON.parse(body)
  } catch {
    return undefined
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined
  const d = doc as Record<string, unknown>
  const config = d.config !== null && typeof d.config === 'object' ? (d.config as Record<string, unknown>) : {}
  const max = config.max_request_bytes
  const obfuscation = d.obfuscation_version
  const peers = Array.isArray(d.peer_tags) ? d.peer_tags.filter((t): t is string => typeof t === 'string' && t !== '') : []
  return {
    version: typeof d.version === 'string' ? d.version : undefined,
    endpoints: Array.isArray(d.endpoints) ? d.endpoints.filter((e): e is string => typeof e === 'string') : [],
    clientDropP0s: d.client_drop_p0s === true,
    spanEvents: d.span_events === true,
    maxRequestBytes: typeof max === 'number' && Number.isInteger(max) && max > 0 ? max : undefined,
    obfuscationVersion: typeof obfuscation === 'number' && Number.isInteger(obfuscation) && obfuscation > 0 ? obfuscation : 0,
    peerTags: [...new Set(peers)],
    state
  }
}

export function headerValue(response: TransportResponse, name: string): string | undefined {
  const value = response.headers[name]
  return Array.isArray(value) ? value[0] : value
}

export const DiscoveryStatus = {
  /** Not asked yet. */
  unknown: 'unknown',
  pending: 'pending',
  known: 'known',
  /** The agent answered 404: an agent without /info; v0.4 and defaults. */
  absent: 'absent',
  /** No usable answer (down, timeout, garbage); asked again later. */
  failed: 'failed'
} as const
export type DiscoveryStatusValue = (typeof DiscoveryStatus)[keyof typeof DiscoveryStatus]

/** Asks again after a failed discovery at most this often (a success of the trace endpoint asks sooner). */
const RETRY_FAILED_MS = 30_000

/**
 * Agent discovery as libdatadog does it: `GET /info` once before the first payload, and again when a
 * response's `Datadog-Agent-State` differs from the state the document came with. Never rejects; the
 * exporter works with defaults until (and unless) the agent answers.
 */
export class AgentDiscovery {
  readonly #transport: Transport
  readonly #timeoutMs: number
  readonly #onChange: (info: AgentInfo | undefined) => void
  #status: DiscoveryStatusValue = DiscoveryStatus.unknown
  #info: AgentInfo | undefined
  #pending: Promise<void> | undefined
  #failedAt = 0
  #lastError: string | undefined

  constructor(transport: Transport, timeoutMs: number, onChange: (info: AgentInfo | undefined) => void) {
    this.#transport = transport
    this.#timeoutMs = timeoutMs
    this.#onChange = onChange
  }

  get status(): DiscoveryStatusValue {
    return this.#status
  }

  get info(): AgentInfo | undefined {
    return this.#info
  }

  get lastError(): string | undefined {
    return this.#lastError
  }

  /** True when a fetch should start now: never asked, or a failure old enough to ask again. */
  get due(): boolean {
    return this.#status === DiscoveryStatus.unknown || (this.#status === DiscoveryStatus.failed && Date.now() - this.#failedAt >= RETRY_FAILED_MS)
  }

  /** Starts a fetch unless one is running; resolves when it is done. */
  refresh(): Promise<void> {
    this.#pending ??= this.#fetch().finally(() => {
      this.#pending = undefined
    })
    return this.#pending
  }

  /** A response of the trace endpoint: refetch when the agent's state changed, or when discovery had failed. */
  observe(response: TransportResponse): void {
    const state = headerValue(response, 'datadog-agent-state')
    if (this.#pending !== undefined) return
    if (this.#status === DiscoveryStatus.failed) void this.refresh()
    else if (state !== undefined && state !== '' && this.#status === DiscoveryStatus.known && state !== this.#info?.state) void this.refresh()
    else if (state !== undefined && state !== '' && this.#status === DiscoveryStatus.absent && state !== this.#absentState) void this.refresh()
  }

  #absentState: string | undefined

  async #fetch(): Promise<void> {
    if (this.#status !== DiscoveryStatus.known) this.#status = DiscoveryStatus.pending
    let response: TransportResponse
    try {
      response = await this.#transport.send('/info', 'GET', { accept: 'application/json' }, undefined, this.#timeoutMs)
    } catch (err) {
      this.#fail(err instanceof Error ? ((err as { code?: string }).code ?? err.message) : String(err))
      return
    }
    const state = headerValue(response, 'datadog-agent-state')
    if (response.status === 404) {
      this.#status = DiscoveryStatus.absent
      this.#absentState = state
      this.#lastError = undefined
      this.#info = undefined
      this.#onChange(undefined)
      return
    }
    const info = response.status === 200 ? parseAgentInfo(response.body, state) : undefined
    if (info === undefined) {
      this.#fail(response.status === 200 ? 'the /info answer is not a JSON object' : `HTTP ${response.status}`)
      return
    }
    this.#status = DiscoveryStatus.known
    this.#info = info
    this.#lastError = undefined
    this.#onChange(info)
  }

  #fail(reason: string): void {
    this.#lastError = reason
    this.#failedAt = Date.now()
    // What was known stays in use: an agent that fails to answer /info once has not changed.
    if (this.#status !== DiscoveryStatus.known) this.#status = DiscoveryStatus.failed
  }
}
