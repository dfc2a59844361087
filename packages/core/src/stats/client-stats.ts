import type { Diagnostics } from '../base/diagnostics.js'
import type { CoreSpan } from '../model/span.js'
import { hostname } from 'node:os'
import { TRACER_VERSION } from '../base/version.js'
import { StatsConcentrator } from './concentrator.js'
import { keptOfP0 } from './p0-drop.js'
import { encodeStatsPayloads, type StatsPayloadMeta } from './stats-payload.js'

export const STATS_ENDPOINT = '/v0.6/stats'
/**
 * The language stats are sent under, in the payload's `Lang` and the request's `Datadog-Meta-Lang`:
 * dd-trace says `javascript` there (and `nodejs` on traces), and the agent keys stats by it.
 */
export const STATS_LANG = 'javascript'
/** The obfuscation this tracer does for stats resources (SQL, Redis), as the agent numbers it. */
export const STATS_OBFUSCATION_VERSION = 1

/** The host's name; '' (the agent then uses its own) where the system will not tell. */
function localHostname(): string {
  try {
    return hostname()
  } catch {
    return ''
  }
}

/** Options of client-side stats; the tracer fills them from its config. */
export interface ClientStatsOptions {
  readonly service: string
  readonly env?: string
  readonly version?: string
  readonly runtimeId: string
  /** Default: `os.hostname()`, as dd-trace sends it. */
  readonly hostname?: string
  /** Default 10000. */
  readonly bucketSizeMs?: number
  /** Default 2000 (see `ConcentratorOptions`). */
  readonly maxGroupsPerBucket?: number
  /** Largest stats payload; larger ones are split. Default 4 MiB. */
  readonly maxPayloadBytes?: number
  /** Epoch ms (tests). Default Date.now. */
  readonly now?: () => number
  /** Where a failure of our own is reported. */
  readonly diagnostics?: Diagnostics
}

/** What the agent's `/info` says that stats depend on (the exporter's `AgentInfo` has these fields). */
export interface StatsAgentFacts {
  readonly endpoints: readonly string[]
  readonly clientDropP0s: boolean
  readonly obfuscationVersion: number
  readonly peerTags: readonly string[]
}

/** One `/v0.6/stats` body, ready to send. */
export interface StatsPayload {
  readonly body: Buffer
  /** `Datadog-Obfuscation-Version` to send with it: the resources in it were obfuscated here. */
  readonly obfuscationVersion: number | undefined
}

/** What client-side stats computed so far (the exporter adds what it sent). */
export interface StatsComputeHealth {
  /** Stats are computed now (enabled, and the agent takes them). */
  active: boolean
  /** P0 chunks are dropped before encoding (the agent's /info says `client_drop_p0s`). */
  dropP0s: boolean
  /** SQL and Redis resources are obfuscated here (the agent's `obfuscation_version` is 1). */
  obfuscating: boolean
  spansCounted: number
  /** Groups lost because one alone did not fit a payload. */
  groupsDropped: number
  /** Spans that went to the overflow group (`tracer_blocked_value`) past the group limit. */
  overflowSpans: number
  droppedP0Traces: number
  droppedP0Spans: number
}

/**
 * Client-side stats and P0 dropping, as libdatadog's trace exporter does them. The agent exporter hands
 * every chunk to `process` when it takes it off its queue (never on the request path): all of them count
 * in the stats, then rejected chunks are dropped when the agent allows it. This class only computes:
 * the exporter takes finished buckets as payloads (`takePayloads`) and sends them.
 */
export class ClientStats {
  readonly #concentrator: StatsConcentrator
  readonly #meta: StatsPayloadMeta
  readonly #maxPayloadBytes: number
  readonly #diagnostics: Diagnostics | undefined
  #active = true
  #dropP0s = false
  #sequence = 1
  #pendingTraces = 0
  #pendingSpans = 0
  #closed = false
  readonly #health: StatsComputeHealth

  constructor(options: ClientStatsOptions) {
    this.#concentrator = new StatsConcentrator({
      service: options.service,
      bucketSizeMs: options.bucketSizeMs,
      maxGroupsPerBucket: options.maxGroupsPerBucket,
      now: options.now
    })
    this.#meta = {
      service: options.service,
      env: options.env ?? '',
      version: options.version ?? '',
      runtimeId: options.runtimeId,
      tracerVersion: TRACER_VERSION,
      lang: STATS_LANG,
      hostname: options.hostname ?? localHostname()
    }
    this.#maxPayloadBytes = options.maxPayloadBytes ?? 4 * 1024 * 1024
    this.#diagnostics = options.diagnostics
    this.#health = {
      active: true,
      dropP0s: false,
      obfuscating: false,
      spansCounted: 0,
      groupsDropped: 0,
      overflowSpans: 0,
      droppedP0Traces: 0,
      droppedP0Spans: 0
    }
  }

  /**
   * What `/info` said (undefined: the agent has none). Stats stay on unless the agent is known not to
   * take them; P0 chunks are dropped only when it says `client_drop_p0s`.
   */
  setAgent(info: StatsAgentFacts | undefined): void {
    this.#active = info !== undefined && info.endpoints.includes(STATS_ENDPOINT)
    this.#dropP0s = this.#active && info?.clientDropP0s === true
    const reader = this.#concentrator.reader
    const obfuscationVersion = info?.obfuscationVersion ?? 0
    reader.obfuscate = obfuscationVersion >= 1 && obfuscationVersion <= STATS_OBFUSCATION_VERSION
    reader.peerTagKeys = info?.peerTags ?? []
    this.#diagnostics?.debug(
      `client stats ${this.#active ? 'on' : 'off (the agent has no /v0.6/stats)'}; P0 dropping ${this.#dropP0s ? 'on' : 'off'}; stats obfuscation ${reader.obfuscate ? 'on' : 'off'}`
    )
  }

  get active(): boolean {
    return this.#active && !this.#closed
  }

  /**
   * Counts a chunk in the stats and returns what of it to send: the chunk, the spans of it that
   * single-span sampling kept, or an empty array when the whole chunk is dropped.
   */
  process(chunk: readonly CoreSpan[]): readonly CoreSpan[] {
    if (!this.#active || this.#closed) return chunk
    try {
      this.#concentrator.addChunk(chunk)
    } catch (err) {
      // A bug of ours costs the stats of this chunk, never the trace.
      this.#diagnostics?.warn('stats-failed', 'computing client-side stats failed for a trace', err instanceof Error ? err.stack : String(err))
    }
    if (!this.#dropP0s) return chunk
    const kept = keptOfP0(chunk)
    if (kept.length < chunk.length) {
      const spans = chunk.length - kept.length
      const traces = kept.length === 0 ? 1 : 0
      this.#pendingSpans += spans
      this.#pendingTraces += traces
      this.#health.droppedP0Spans += spans
      this.#health.droppedP0Traces += traces
    }
    return kept
  }

  /** Dropped P0 counts not yet reported to the agent. */
  get pendingDrops(): boolean {
    return this.#pendingTraces > 0 || this.#pendingSpans > 0
  }

  /**
   * Headers for a trace payload while stats are on: `Datadog-Client-Computed-Stats`, and with `report`
   * the P0 counts dropped since the last report (which then start again from zero).
   */
  traceHeaders(report: boolean): Record<string, string> | undefined {
    if (!this.#active) return undefined
    const headers: Record<string, string> = { 'datadog-client-computed-stats': 'yes' }
    if (report && (this.#dropP0s || this.pendingDrops)) {
      headers['datadog-client-dropped-p0-traces'] = String(this.#pendingTraces)
      headers['datadog-client-dropped-p0-spans'] = String(this.#pendingSpans)
      this.#pendingTraces = 0
      this.#pendingSpans = 0
    }
    return headers
  }

  /**
   * The buckets that are done as payloads to send (with `all`, the current partial bucket too, as at
   * flush and shutdown). Obfuscated buckets go in payloads of their own, since the agent reads the
   * obfuscation version from the request's header.
   */
  takePayloads(all: boolean): StatsPayload[] {
    const buckets = this.#concentrator.flush(all)
    const health = this.#health
    for (const bucket of buckets) health.overflowSpans += bucket.overflowSpans
    const out: StatsPayload[] = []
    if (buckets.length === 0) return out
    for (const obfuscated of [false, true]) {
      const part = buckets.filter((b) => b.obfuscated === obfuscated)
      if (part.length === 0) continue
      try {
        const encoded = encodeStatsPayloads(this.#meta, this.#sequence, part, this.#maxPayloadBytes)
        this.#sequence += encoded.payloads.length
        health.groupsDropped += encoded.droppedGroups
        for (const body of encoded.payloads) out.push({ body, obfuscationVersion: obfuscated ? STATS_OBFUSCATION_VERSION : undefined })
      } catch (err) {
        this.#diagnostics?.warn('stats-failed', 'encoding client-side stats failed; they were dropped', err instanceof Error ? err.stack : String(err))
      }
    }
    return out
  }

  /** Stops counting; what is left was taken by the exporter's last flush. */
  close(): void {
    this.#closed = true
  }

  health(): StatsComputeHealth {
    const reader = this.#concentrator.reader
    return {
      ...this.#health,
      active: this.active,
      dropP0s: this.#dropP0s,
      obfuscating: reader.obfuscate,
      spansCounted: this.#concentrator.spansCounted
    }
  }
}
