import { createHash } from 'node:crypto'

/** What the intake's `GET /info` says about itself, in the agent's own field names. Every field is optional. */
export interface InfoOptions {
  /** False: `GET /info` answers 404, as an agent too old to serve it. Default true. */
  enabled?: boolean
  /** Endpoints advertised. Default `['/v0.4/traces', '/v0.5/traces', '/v0.6/stats', '/dogstatsd/v2/proxy', '/info']`; leaving the proxy out makes it answer 404. */
  endpoints?: readonly string[]
  /** Tells clients they may compute stats and drop P0 traces. Default false. */
  clientDropP0s?: boolean
  /** Native span events accepted. Default true. */
  spanEvents?: boolean
  /** `version` in the document. Default the intake's version. */
  version?: string
  /** Merged over the top level of the document. */
  extra?: Readonly<Record<string, unknown>>
}

export const DEFAULT_INFO_ENDPOINTS: readonly string[] = Object.freeze(['/v0.4/traces', '/v0.5/traces', '/v0.6/stats', '/dogstatsd/v2/proxy', '/info'])

export interface InfoContext {
  version: string
  port: number
  socketPath: string | undefined
  maxRequestBytes: number
  /** DogStatsD's UDP port, if it listens. */
  statsdPort?: number
}

/** The `/info` body; `Datadog-Agent-State` is the SHA-256 of it, as the agent derives it. */
export function infoDocument(options: InfoOptions, context: InfoContext): string {
  return JSON.stringify({
    version: options.version ?? context.version,
    endpoints: [...(options.endpoints ?? DEFAULT_INFO_ENDPOINTS)],
    client_drop_p0s: options.clientDropP0s ?? false,
    span_meta_structs: true,
    long_running_spans: true,
    span_events: options.spanEvents ?? true,
    config: {
      receiver_port: context.port,
      receiver_socket: context.socketPath ?? '',
      max_request_bytes: context.maxRequestBytes,
      statsd_port: context.statsdPort ?? 0
    },
    ...options.extra
  })
}

export function agentState(body: string): string {
  return createHash('sha256').update(body).digest('hex')
}
