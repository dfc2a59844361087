import type { Transport, TransportResponse } from '../agent-client/transport.js'
import { headerValue, parseAgentInfo, type AgentInfo } from './agent-info.js'

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

function noop(): void {}

const BACKGROUND = { background: true } as const

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
  #firstWait: Promise<void> | undefined
  #payloadSeen = false
  #failedAt = 0
  #lastError: string | undefined
  #absentState: string | undefined

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

  /**
   * Called before a payload is sent. The first time, asks `/info` (or joins the request under way) and returns a promise that resolves
   * when it answered or after `waitMs`, whichever comes first, so that the first payload goes out in
   * the right format and size without waiting long for an agent that does not answer. Later, asks
   * again in the background when due, and returns undefined: the payload need not wait.
   */
  beforePayload(waitMs: number): Promise<void> | undefined {
    if (this.#firstWait !== undefined) return this.#firstWait
    const first = !this.#payloadSeen
    this.#payloadSeen = true
    // The first payload also waits for a fetch already under way (the startup log's).
    if (!this.due && !(first && this.#pending !== undefined)) return undefined
    const done = this.refresh()
    if (!first) return undefined
    const wait = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs).unref()
      void done.then(() => {
        clearTimeout(timer)
        resolve()
      })
    }).then(() => {
      this.#firstWait = undefined
    })
    this.#firstWait = wait
    return wait
  }

  /**
   * Starts a fetch unless one is running; resolves when it is done. A `background` fetch does not keep
   * the process alive (the startup log's, asked before anything else needs the agent).
   */
  refresh(background = false): Promise<void> {
    // #fetch handles every failure of the agent; a throw here is a bug of ours and costs the discovery.
    this.#pending ??= this.#fetch(background)
      .catch(noop)
      .finally(() => {
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

  async #fetch(background: boolean): Promise<void> {
    if (this.#status !== DiscoveryStatus.known) this.#status = DiscoveryStatus.pending
    let response: TransportResponse
    try {
      response = await this.#transport.send('/info', 'GET', { accept: 'application/json' }, undefined, this.#timeoutMs, background ? BACKGROUND : undefined)
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

/** What the agent said when the startup log asked: reached (with its version) or the failure. */
export type AgentProbe =
  | { readonly asked: false }
  | { readonly asked: true; readonly reached: true; readonly version: string | undefined; readonly info: boolean }
  | { readonly asked: true; readonly reached: false; readonly error: string }

/** Asks `/info` in the background unless it was answered already, and says how it went. Never rejects. */
export async function probeAgent(discovery: AgentDiscovery | undefined): Promise<AgentProbe> {
  if (discovery === undefined) return { asked: false }
  if (discovery.status !== DiscoveryStatus.known && discovery.status !== DiscoveryStatus.absent) await discovery.refresh(true)
  const status: DiscoveryStatusValue = discovery.status
  if (status === DiscoveryStatus.known) return { asked: true, reached: true, version: discovery.info?.version, info: true }
  if (status === DiscoveryStatus.absent) return { asked: true, reached: true, version: undefined, info: false }
  return { asked: true, reached: false, error: discovery.lastError ?? 'no answer' }
}
