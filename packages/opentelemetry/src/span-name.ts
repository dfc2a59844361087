import type { Attributes } from '@opentelemetry/api'

/** OpenTelemetry's SpanKind values, and Datadog's `span.kind` for each. */
export const Kind = { INTERNAL: 0, SERVER: 1, CLIENT: 2, PRODUCER: 3, CONSUMER: 4 } as const
export const KIND_NAMES: readonly string[] = ['internal', 'server', 'client', 'producer', 'consumer']

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined
}

/**
 * The Datadog operation name of a span started through OpenTelemetry, as dd-trace's bridge names it: a
 * span's own name when it has one, else (first match wins, on the attributes given at start)
 * `operation.name`, then names derived from the semantic conventions (HTTP, database, messaging, RPC,
 * FaaS, GraphQL, network protocol), else the kind.
 */
export function operationName(spanName: string, kind: number, attributes: Attributes): string {
  if (spanName !== '') return spanName
  const explicit = text(attributes['operation.name'])
  if (explicit !== undefined) return explicit
  const { SERVER, CLIENT, INTERNAL } = Kind
  if ('http.method' in attributes || 'http.request.method' in attributes) {
    if (kind === SERVER) return 'http.server.request'
    if (kind === CLIENT) return 'http.client.request'
  }
  const db = text(attributes['db.system'])
  if (db !== undefined && kind === CLIENT) return `${db}.query`
  const messaging = text(attributes['messaging.system'])
  const operation = text(attributes['messaging.operation'])
  if (messaging !== undefined && operation !== undefined && kind !== INTERNAL) return `${messaging}.${operation}`
  const rpc = text(attributes['rpc.system'])
  if (rpc !== undefined) {
    if (kind === CLIENT) return rpc === 'aws-api' ? `aws.${text(attributes['rpc.service']) ?? 'client'}.request` : `${rpc}.client.request`
    if (kind === SERVER) return `${rpc}.server.request`
  }
  const provider = text(attributes['faas.invoked_provider'])
  const invoked = text(attributes['faas.invoked_name'])
  if (kind === CLIENT && provider !== undefined && invoked !== undefined) return `${provider}.${invoked}.invoke`
  const trigger = text(attributes['faas.trigger'])
  if (kind === SERVER && trigger !== undefined) return `${trigger}.invoke`
  if ('graphql.operation.type' in attributes) return 'graphql.server.request'
  const protocol = text(attributes['network.protocol.name'])
  const prefix = protocol === undefined ? '' : `${protocol}.`
  if (kind === SERVER) return `${prefix}server.request`
  if (kind === CLIENT) return `${prefix}client.request`
  return KIND_NAMES[kind] ?? 'internal'
}
