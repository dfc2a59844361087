import { nearestName } from '../base/option-names.js'
import type { Env, Warn } from './env.js'
import type { HttpClientOptions } from './http-client-options.js'

/** The integrations the tracer knows, by the names dd-trace gives their plugins. */
export const INTEGRATION_NAMES = ['http', 'mysql2', 'ioredis', 'redis', 'pg'] as const
export type IntegrationName = (typeof INTEGRATION_NAMES)[number]

/** Options of a database or cache integration. Every field is optional. */
export interface DatabaseIntegrationOptions {
  /** Service of its spans. Env `DD_SERVICE_MAPPING` (`pg:orders-db,redis:cache`); default by the span attribute schema. */
  service?: string
}

/** How queries carry the link to their trace for Database Monitoring: a leading SQL comment. */
export type DbmPropagationMode = 'disabled' | 'service' | 'full'
const DBM_MODES: readonly string[] = ['disabled', 'service', 'full']

/** Options of the pg integration. Every field is optional. */
export interface PgIntegrationOptions extends DatabaseIntegrationOptions {
  /**
   * `service` prefixes each query with a comment naming the service, database and host; `full` adds the
   * trace context (`traceparent`) and makes the trace's sampling decision first. Env
   * `DD_DBM_PROPAGATION_MODE`; default `disabled`.
   */
  dbmPropagationMode?: DbmPropagationMode
}

/**
 * One entry per integration: `false` turns it off, `true` or its options turn it on. Each wins over
 * `DD_TRACE_<NAME>_ENABLED` and `DD_TRACE_DISABLED_PLUGINS`. Every integration is on by default: the
 * database and cache drivers, and `http` (fetch, undici and, where Node allows, node:http).
 */
export interface IntegrationsOptions {
  http?: boolean | HttpClientOptions
  /** mysql2 ≥ 3.20 through its diagnostics channels. */
  mysql2?: boolean | DatabaseIntegrationOptions
  /** ioredis ≥ 5.11 through its diagnostics channels. */
  ioredis?: boolean | DatabaseIntegrationOptions
  /** node-redis (`@redis/client` ≥ 5.12) through its diagnostics channels. */
  redis?: boolean | DatabaseIntegrationOptions
  /** pg, once the module is handed to `instrumentPg(pg)`. */
  pg?: boolean | PgIntegrationOptions
}

/** Each integration's options, or false when it is off. */
export interface IntegrationsConfig {
  readonly http: HttpClientOptions | false
  readonly mysql2: DatabaseIntegrationOptions | false
  readonly ioredis: DatabaseIntegrationOptions | false
  readonly redis: DatabaseIntegrationOptions | false
  readonly pg: (PgIntegrationOptions & { readonly dbmPropagationMode: DbmPropagationMode }) | false
}

export type SpanAttributeSchema = 'v0' | 'v1'

/** How integration spans are named and which peer they point at. */
export interface NamingOptions {
  /** Env `DD_TRACE_SPAN_ATTRIBUTE_SCHEMA`; default `v0`. */
  spanAttributeSchema?: SpanAttributeSchema
  /** Compute `peer.service` on client spans. Env `DD_TRACE_PEER_SERVICE_DEFAULTS_ENABLED`; default false under v0, true under v1. */
  peerServiceDefaults?: boolean
  /** Computed `peer.service` values renamed, old to new. Env `DD_TRACE_PEER_SERVICE_MAPPING` (`old:new,...`). */
  peerServiceMapping?: Readonly<Record<string, string>>
}

export interface NamingConfig {
  readonly spanAttributeSchema: SpanAttributeSchema
  readonly peerServiceDefaults: boolean
  readonly peerServiceMapping: Readonly<Record<string, string>>
  /** `DD_TRACE_REMOVE_INTEGRATION_SERVICE_NAMES_ENABLED`: under v0, integration spans keep the tracer's service. */
  readonly removeIntegrationServiceNames: boolean
}

/** dd-trace's other plugin ids that switch one of ours: node-redis's package hooks. */
const ALIASES: Readonly<Record<string, IntegrationName>> = {
  redis_client: 'redis',
  node_redis_client: 'redis'
}

/** `DD_TRACE_<ID>_ENABLED`: the id upper-cased, anything but letters, digits and `_` turned into `_`. */
function enabledVariable(id: string): string {
  return `DD_TRACE_${id.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}_ENABLED`
}

function envFlag(env: Env, name: string, warn: Warn): boolean | undefined {
  const value = env[name]?.trim().toLowerCase()
  if (value === undefined || value === '') return undefined
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  warn(`${name}=${JSON.stringify(env[name])} is not true or false; ignored`)
  return undefined
}

/** `a:b,c:d` (dd-trace's map syntax) as an object; entries without a colon or a key are skipped. */
export function parseMap(text: string): Record<string, string> {
  const map: Record<string, string> = {}
  for (const part of text.split(',')) {
    const colon = part.indexOf(':')
    if (colon <= 0) continue
    const key = part.slice(0, colon).trim()
    const value = part.slice(colon + 1).trim()
    if (key !== '' && value !== '') map[key] = value
  }
  return map
}

function idsOf(name: IntegrationName): string[] {
  return [name, ...Object.keys(ALIASES).filter((alias) => ALIASES[alias] === name)]
}

/** Whether the environment turns `name` off (`DD_TRACE_<ID>_ENABLED=false` or `DD_TRACE_DISABLED_PLUGINS`), or on. */
function envSwitch(name: IntegrationName, env: Env, disabledPlugins: ReadonlySet<string>, warn: Warn): boolean | undefined {
  let on: boolean | undefined
  for (const id of idsOf(name)) {
    if (disabledPlugins.has(id)) return false
    const flag = envFlag(env, enabledVariable(id), warn)
    if (flag === false) return false
    on ??= flag
  }
  return on
}

function checkDatabaseOptions(name: string, value: DatabaseIntegrationOptions): DatabaseIntegrationOptions {
  const service = value.service
  if (service !== undefined && (typeof service !== 'string' || service.trim() === '')) {
    throw new TypeError(`datadog-apm: option integrations.${name}.service must be a non-empty string, got ${JSON.stringify(service)}`)
  }
  return value
}

/**
 * Each integration's switch and options from the `integrations` option (and the older `httpClients`,
 * the same as `integrations.http`) merged over dd-trace's variables. An option wins over a variable.
 */
export function resolveIntegrations(
  options: IntegrationsOptions | undefined,
  httpClients: boolean | HttpClientOptions | undefined,
  env: Env,
  warn: Warn
): IntegrationsConfig {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new TypeError('datadog-apm: option integrations must be an object of integration names to false or options')
  }
  const given: Record<string, unknown> = { ...(options ?? {}) }
  if (given.http === undefined && httpClients !== undefined) given.http = httpClients
  for (const key of Object.keys(given)) {
    if (!(INTEGRATION_NAMES as readonly string[]).includes(key)) {
      const near = nearestName(key, INTEGRATION_NAMES)
      const advice = near === undefined ? '' : `; did you mean integrations.${near}?`
      throw new TypeError(`datadog-apm: option integrations.${key} names no integration; known: ${INTEGRATION_NAMES.join(', ')}${advice}`)
    }
  }
  const disabled = new Set(
    (env.DD_TRACE_DISABLED_PLUGINS ?? '')
      .split(',')
      .map((id) => id.trim().toLowerCase().replace(/[^a-z0-9_]/g, '_'))
      .filter((id) => id !== '')
  )
  const mapping = parseMap(env.DD_SERVICE_MAPPING ?? '')
  const resolve = <O extends object>(name: IntegrationName, onByDefault: boolean, check: (value: O) => O): O | false => {
    const value = given[name]
    if (value === false) return false
    if (value !== undefined && value !== true && (value === null || typeof value !== 'object')) {
      throw new TypeError(`datadog-apm: option integrations.${name} must be true, false or an options object, got ${JSON.stringify(value)}`)
    }
    if (value === undefined && !(envSwitch(name, env, disabled, warn) ?? onByDefault)) return false
    const chosen = (value === undefined || value === true ? {} : check(value as O)) as O & { service?: string }
    const mapped = mapping[name]
    return mapped !== undefined && chosen.service === undefined ? { ...chosen, service: mapped } : chosen
  }
  const database = (name: IntegrationName): DatabaseIntegrationOptions | false =>
    resolve<DatabaseIntegrationOptions>(name, true, (value) => checkDatabaseOptions(name, value))
  const pg = resolve<PgIntegrationOptions>('pg', true, (value) => {
    const mode = value.dbmPropagationMode
    if (mode !== undefined && !DBM_MODES.includes(mode)) {
      throw new TypeError(`datadog-apm: option integrations.pg.dbmPropagationMode must be 'disabled', 'service' or 'full', got ${JSON.stringify(mode)}`)
    }
    return checkDatabaseOptions('pg', value)
  })
  return {
    http: resolve<HttpClientOptions>('http', true, (value) => value),
    mysql2: database('mysql2'),
    ioredis: database('ioredis'),
    redis: database('redis'),
    pg: pg === false ? false : { ...pg, dbmPropagationMode: pg.dbmPropagationMode ?? dbmMode(env, warn) }
  }
}

/** `DD_DBM_PROPAGATION_MODE`; dd-trace's `dynamic_service` is `service` here (no process-tag hash). */
function dbmMode(env: Env, warn: Warn): DbmPropagationMode {
  const value = env.DD_DBM_PROPAGATION_MODE?.trim().toLowerCase()
  if (value === undefined || value === '') return 'disabled'
  if (value === 'dynamic_service') return 'service'
  if (value === 'disabled' || value === 'service' || value === 'full') return value
  warn(`DD_DBM_PROPAGATION_MODE=${JSON.stringify(env.DD_DBM_PROPAGATION_MODE)} is not disabled, service or full; using disabled`)
  return 'disabled'
}

function optionBoolean(name: string, value: boolean | undefined): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  throw new TypeError(`datadog-apm: option ${name} must be true or false, got ${String(value)}`)
}

/** The span attribute schema and the peer service settings. */
export function resolveNaming(options: NamingOptions, env: Env, warn: Warn): NamingConfig {
  let schema = options.spanAttributeSchema
  if (schema !== undefined && schema !== 'v0' && schema !== 'v1') {
    throw new TypeError(`datadog-apm: option spanAttributeSchema must be 'v0' or 'v1', got ${JSON.stringify(schema)}`)
  }
  if (schema === undefined) {
    const text = env.DD_TRACE_SPAN_ATTRIBUTE_SCHEMA?.trim().toLowerCase()
    if (text === 'v0' || text === 'v1') schema = text
    else if (text !== undefined && text !== '') warn(`DD_TRACE_SPAN_ATTRIBUTE_SCHEMA=${JSON.stringify(text)} is not v0 or v1; using v0`)
  }
  schema ??= 'v0'
  const mappingOption = options.peerServiceMapping
  if (mappingOption !== undefined && (mappingOption === null || typeof mappingOption !== 'object')) {
    throw new TypeError('datadog-apm: option peerServiceMapping must be an object of peer services to new names')
  }
  return {
    spanAttributeSchema: schema,
    peerServiceDefaults:
      optionBoolean('peerServiceDefaults', options.peerServiceDefaults) ??
      envFlag(env, 'DD_TRACE_PEER_SERVICE_DEFAULTS_ENABLED', warn) ??
      schema === 'v1',
    peerServiceMapping: { ...(mappingOption ?? parseMap(env.DD_TRACE_PEER_SERVICE_MAPPING ?? '')) },
    removeIntegrationServiceNames: envFlag(env, 'DD_TRACE_REMOVE_INTEGRATION_SERVICE_NAMES_ENABLED', warn) ?? false
  }
}
