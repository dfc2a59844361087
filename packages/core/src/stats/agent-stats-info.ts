import type { Transport, TransportResponse } from '../exporter/transport.js'

/** What `/info` says that only client-side stats need (reference §1.7). */
export interface StatsInfo {
  /** `obfuscation_version`: 0 when absent. */
  readonly obfuscationVersion: number
  /** `peer_tags`: the tag keys that describe the peer of client/producer/consumer spans. */
  readonly peerTags: readonly string[]
}

export const NO_STATS_INFO: StatsInfo = Object.freeze({ obfuscationVersion: 0, peerTags: Object.freeze([]) })

/** The stats fields of an `/info` body; undefined when it is not a JSON object. Mistyped fields read as absent. */
export function parseStatsInfo(body: string): StatsInfo | undefined {
  let doc: unknown
  try {
    doc = JSON.parse(body)
  } catch {
    return undefined
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined
  const d = doc as Record<string, unknown>
  const version = d.obfuscation_version
  const peers = Array.isArray(d.peer_tags) ? d.peer_tags.filter((t): t is string => typeof t === 'string' && t !== '') : []
  return {
    obfuscationVersion: typeof version === 'number' && Number.isInteger(version) && version > 0 ? version : 0,
    peerTags: [...new Set(peers)]
  }
}

/**
 * A transport that hands every `/info` answer to `onInfo` before its caller sees it: undefined for an
 * agent without /info (404), the parsed fields for a 200. Other answers (failures) say nothing new.
 * It lets the stats read fields the exporter's discovery does not keep, from the same request.
 */
export function tapInfo(transport: Transport, onInfo: (info: StatsInfo | undefined) => void): Transport {
  return {
    async send(path, method, headers, body, timeoutMs): Promise<TransportResponse> {
      const response = await transport.send(path, method, headers, body, timeoutMs)
      if (path === '/info') {
        if (response.status === 404) onInfo(undefined)
        else if (response.status === 200) {
          const info = parseStatsInfo(response.body)
          if (info !== undefined) onInfo(info)
        }
      }
      return response
    },
    close: () => transport.close()
  }
}
