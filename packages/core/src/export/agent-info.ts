import type { TransportResponse } from '../agent-client/transport.js'

/** What the agent's `GET /info` said (its JSON document); only the fields the tracer uses. */
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
