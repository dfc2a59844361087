import { Limits, asText, isValidStatusCode, normalizePeerService, normalizeTagValue, truncateWithEllipsis } from './normalize.js'

// The agent's normalization as the encoder applies it, value by value: a cheap length check settles
// nearly every value, and only one that fails it goes through the slower fix.

// Lengths below these are within the agent's byte limits whatever the characters (3 bytes per unit at most).
export const SHORT_TYPE = Math.floor(Limits.typeBytes / 3)
export const SHORT_RESOURCE = Math.floor(Limits.resourceBytes / 3)
export const SHORT_KEY = Math.floor(Limits.metaKeyBytes / 3)
export const SHORT_VALUE = Math.floor(Limits.metaValueBytes / 3)

// Meta keys the agent rewrites. Most keys differ from them in length, so a table lookup settles most
// keys before any string comparison.
const SPECIAL_KEYS = ['http.status_code', 'env', 'peer.service', '_dd.base_service'] as const
/** 1 at the length of each key the agent rewrites. */
export const SPECIAL_LENGTH = new Uint8Array(SHORT_KEY + 1)
for (const key of SPECIAL_KEYS) SPECIAL_LENGTH[key.length] = 1

export function isSpecialKey(k: string): boolean {
  return k === 'http.status_code' || k === 'env' || k === 'peer.service' || k === '_dd.base_service'
}

/**
 * A meta pair as the agent leaves it: `http.status_code` only when valid, `env` and peer services
 * normalized, keys and values cut. Undefined when the pair goes.
 */
export function fixMetaPair(key: string, value: unknown): [string, string] | undefined {
  if (value === undefined || value === null) return undefined
  let v = typeof value === 'string' ? value : asText(value)
  switch (key) {
    case 'http.status_code':
      if (!isValidStatusCode(v)) return undefined
      break
    case 'env':
      if (v !== '') v = normalizeTagValue(v)
      break
    case 'peer.service':
    case '_dd.base_service':
      if (v !== '') v = normalizePeerService(v)
      break
  }
  return [truncateWithEllipsis(key, Limits.metaKeyBytes), truncateWithEllipsis(v, Limits.metaValueBytes)]
}
