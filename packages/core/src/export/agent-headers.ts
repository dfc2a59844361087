import { TRACER_VERSION } from '../base/version.js'
import type { ContainerIdentity } from './container-id.js'

/** The headers of every payload to the agent, traces and stats alike. */
export function agentHeaders(identity: ContainerIdentity): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {
    'content-type': 'application/msgpack',
    'datadog-meta-lang': 'nodejs',
    'datadog-meta-lang-version': process.version,
    'datadog-meta-lang-interpreter': 'v8',
    'datadog-meta-tracer-version': TRACER_VERSION,
    // The tracer marks top-level spans itself (`_dd.top_level`).
    'datadog-client-computed-top-level': 'yes',
    // An overloaded agent then answers 429 (which is retried) instead of a 200 that drops the payload.
    'datadog-send-real-http-status': '1'
  }
  if (identity.containerId !== undefined) headers['datadog-container-id'] = identity.containerId
  if (identity.entityId !== undefined) headers['datadog-entity-id'] = identity.entityId
  return headers
}
