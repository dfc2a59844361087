import { arch, release, type } from 'node:os'
import { TRACER_VERSION } from '../base/version.js'
import type { TracerConfig } from '../config/config.js'
import type { AgentProbe } from '../export/discovery.js'

/** What the startup log says of the agent: not asked (another exporter, tracing off), reached, or the failure. */
export type StartupAgent = AgentProbe | { readonly asked: false; readonly why: string }

/** The agent URL without credentials a proxy URL may carry. */
function shownUrl(url: URL): string {
  if (url.username === '' && url.password === '') return url.href
  const copy = new URL(url.href)
  copy.username = ''
  copy.password = ''
  return copy.href
}

// Rules may hold RegExps (shown as /source/flags) and nothing here holds a bigint, but a tag value of
// the user's might: neither may make the line fail.
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof RegExp || typeof value === 'bigint') return String(value)
  return value
}

/**
 * The startup line: the resolved configuration as JSON after `DATADOG TRACER CONFIGURATION - `, the
 * marker and field names of dd-trace's (`version` is the tracer's, `dd_version` the app's), with what
 * this tracer adds: the agent's answer, the integrations and propagation styles in use.
 */
export function startupLine(config: TracerConfig, agent: StartupAgent, now: Date = new Date()): string {
  const integrations = Object.entries(config.integrations)
    .filter(([, value]) => value !== false)
    .map(([name]) => name)
  const line: Record<string, unknown> = {
    date: now.toISOString(),
    os_name: type(),
    os_version: release(),
    architecture: arch(),
    version: TRACER_VERSION,
    lang: 'nodejs',
    lang_version: process.versions.node,
    env: config.env,
    enabled: config.enabled,
    service: config.service,
    dd_version: config.version,
    agent_url: shownUrl(config.url),
    agent_reachable: agent.asked ? agent.reached : undefined,
    agent_version: agent.asked && agent.reached ? agent.version : undefined,
    agent_error: agent.asked && !agent.reached ? agent.error : undefined,
    agent_not_asked: agent.asked ? undefined : 'why' in agent ? agent.why : 'agent discovery is off (agentDiscovery: false)',
    debug: config.debug,
    sample_rate: config.sampleRate,
    sampling_rules: config.samplingRules,
    rate_limit: config.rateLimit,
    span_sampling_rules: config.spanSamplingRules,
    tags: config.tags,
    log_injection_enabled: config.logInjection,
    runtime_metrics_enabled: config.metrics.runtimeMetrics,
    stats_computation_enabled: config.statsComputation,
    integrations_enabled: integrations,
    propagation_style_inject: config.propagation.inject,
    propagation_style_extract: config.propagation.extract,
    span_attribute_schema: config.naming.spanAttributeSchema,
    protocol_version: config.protocolVersion,
    trace_id_128_bit_generation_enabled: config.traceId128BitGeneration
  }
  return `DATADOG TRACER CONFIGURATION - ${JSON.stringify(line, replacer)}`
}
