import { envEntry, envText, type Env, type Warn } from './env.js'
import { parseStatusRanges, statusPredicate } from './status-ranges.js'

/**
 * Defaults of the request spans of the Express and Fastify packages, from the environment; each one
 * gives way to the option of the middleware or plugin.
 */
export interface HttpServerConfig {
  /**
   * `DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP` as set, checked to compile: '' keeps query strings, `.*`
   * drops them; undefined means dd-trace's default pattern.
   */
  readonly queryStringObfuscation: string | undefined
  /** `DD_TRACE_HEADER_TAGS`, split at commas: `header` or `header:tag`. */
  readonly headerTags: readonly string[]
  /** `DD_TRACE_HTTP_SERVER_ERROR_STATUSES`; default 500-599. */
  readonly isErrorStatus: (status: number) => boolean
  /** `DD_TRACE_CLIENT_IP_ENABLED`; default false. */
  readonly clientIp: boolean
  /** `DD_TRACE_CLIENT_IP_HEADER`, lowercased. */
  readonly clientIpHeader: string | undefined
}

/** Defaults of outgoing request spans (`httpClients`), from the environment. */
export interface HttpClientConfig {
  /** `DD_TRACE_HTTP_CLIENT_ERROR_STATUSES`; default 400-499. */
  readonly isErrorStatus: (status: number) => boolean
}

const SERVER_ERRORS = (status: number): boolean => status >= 500 && status < 600
const CLIENT_ERRORS = (status: number): boolean => status >= 400 && status < 500

function errorStatuses(env: Env, name: string, fallback: (status: number) => boolean, fallbackText: string, warn: Warn): (status: number) => boolean {
  const text = envText(env, name)
  if (text === undefined) return fallback
  const table = parseStatusRanges(text)
  if (table !== undefined) return statusPredicate(table)
  warn(`${name}=${JSON.stringify(text)} is not a list of statuses and ranges; using ${fallbackText}`)
  return fallback
}

function queryStringObfuscation(env: Env, warn: Warn): string | undefined {
  // Set but empty is meaningful here (keep query strings), so the raw value is read.
  const text = env.DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP
  if (text === undefined || text === '' || text === '.*') return text
  try {
    new RegExp(text, 'gi')
    return text
  } catch {
    warn('DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP is not a valid regular expression; using the default')
    return undefined
  }
}

export function resolveHttpServerConfig(env: Env, warn: Warn): HttpServerConfig {
  const clientIp = envEntry(env, ['DD_TRACE_CLIENT_IP_ENABLED'])
  return Object.freeze({
    queryStringObfuscation: queryStringObfuscation(env, warn),
    headerTags: Object.freeze((envText(env, 'DD_TRACE_HEADER_TAGS') ?? '').split(',')),
    isErrorStatus: errorStatuses(env, 'DD_TRACE_HTTP_SERVER_ERROR_STATUSES', SERVER_ERRORS, '500-599', warn),
    // Anything but true/1 leaves it off, as dd-trace does: no warning, since off is the safe reading.
    clientIp: clientIp !== undefined && /^(true|1)$/i.test(clientIp[1]),
    clientIpHeader: envText(env, 'DD_TRACE_CLIENT_IP_HEADER')?.toLowerCase()
  })
}

export function resolveHttpClientConfig(env: Env, warn: Warn): HttpClientConfig {
  return Object.freeze({
    isErrorStatus: errorStatuses(env, 'DD_TRACE_HTTP_CLIENT_ERROR_STATUSES', CLIENT_ERRORS, '400-499', warn)
  })
}
