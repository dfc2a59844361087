import type { TracerConfig } from '../config/config.js'
import type { DatabaseIntegrationOptions, DbmPropagationMode } from '../config/integrations.js'
import type { CoreSpan } from '../model/span.js'
import { setPeerService, startClientSpan, type ClientSpanStart } from './client-operation.js'
import type { ClientSpanOwner } from './client-span.js'

/** What the database integrations need from the tracer. */
export interface IntegrationOwner extends ClientSpanOwner {
  readonly config: TracerConfig
}

/** How dd-trace names one driver's spans, by span attribute schema. */
export interface DatabaseKind {
  /** `component` and `_dd.integration`: `pg`, `mysql2`, `ioredis`, `redis`. */
  readonly component: string
  /** `db.type`: `postgres`, `mysql`, `redis`. */
  readonly dbType: string
  /** `pg.query` under v0. */
  readonly nameV0: string
  /** `postgresql.query` under v1. */
  readonly nameV1: string
  /** The v0 service is the tracer's plus this: `-postgres`. */
  readonly serviceSuffix: string
  /** `_dd.svc_src` when the schema's default service is used: `pg`, `mysql`, `redis`. */
  readonly serviceSource: string
  /** The span type: `sql` or `redis`. */
  readonly type: string
  /** SQL databases name their peer after the database; caches after the host. */
  readonly peerFromDatabase: boolean
  /** The pool acquire span's name under v0 and v1. */
  readonly acquireV0: string
  readonly acquireV1: string
}

/**
 * One driver's span settings, worked out once when the tracer turns the integration on: the operation
 * name, service and service tags under the span attribute schema, the peer service rules. `start` then
 * costs a span and a handful of constant-key stores.
 */
export class DatabaseTracing {
  readonly owner: IntegrationOwner
  readonly kind: DatabaseKind
  readonly name: string
  /** The pool acquire span's name (and resource). */
  readonly acquireName: string
  /** Whether and how queries carry the Database Monitoring comment (pg only). */
  readonly dbmMode: DbmPropagationMode
  readonly #start: ClientSpanStart & { service: string }
  readonly #serviceSource: string | undefined
  readonly #baseService: string | undefined
  readonly #peerService: boolean
  readonly #peerMapping: Readonly<Record<string, string>>

  constructor(owner: IntegrationOwner, kind: DatabaseKind, options: DatabaseIntegrationOptions & { dbmPropagationMode?: DbmPropagationMode }) {
    const config = owner.config
    const naming = config.naming
    const v1 = naming.spanAttributeSchema === 'v1'
    this.owner = owner
    this.kind = kind
    this.name = v1 ? kind.nameV1 : kind.nameV0
    this.acquireName = v1 ? kind.acquireV1 : kind.acquireV0
    this.dbmMode = options.dbmPropagationMode ?? 'disabled'
    let service: string
    let source: string | undefined
    if (options.service !== undefined) {
      service = options.service
      source = 'opt.plugin'
    } else if (v1 || naming.removeIntegrationServiceNames) {
      service = config.service
    } else {
      service = config.service + kind.serviceSuffix
      source = kind.serviceSource
    }
    // The service is always given: under v1 it is the tracer's, not the parent span's (a framework
    // package may have given the request span a service of its own).
    this.#start = { service, type: kind.type, resource: '' }
    const differs = service !== config.service
    this.#serviceSource = differs ? source : undefined
    this.#baseService = differs ? config.service.toLowerCase() : undefined
    this.#peerService = naming.peerServiceDefaults
    this.#peerMapping = naming.peerServiceMapping
  }

  /** A span named `name` (the driver's operation name by default), or undefined when none is to be made. */
  start(resource: string, host: string | undefined, port: number | undefined, database: string | undefined, name: string = this.name): CoreSpan | undefined {
    const span = startClientSpan(this.owner, name, this.#start, this.kind.component)
    if (span === undefined) return undefined
    span.resource = resource
    const meta = span.meta
    meta['_dd.integration'] = this.kind.component
    meta['db.type'] = this.kind.dbType
    if (this.#baseService !== undefined) meta['_dd.base_service'] = this.#baseService
    if (this.#serviceSource !== undefined) meta['_dd.svc_src'] = this.#serviceSource
    if (database !== undefined && database !== '') meta['db.name'] = database
    if (host !== undefined && host !== '') meta['out.host'] = host
    if (port !== undefined) span.metrics['network.destination.port'] = port
    if (this.#peerService) this.#setPeer(meta, database, host)
    return span
  }

  /** `peer.service` from the database name (SQL) or the host, renamed by the peer service mapping. */
  #setPeer(meta: Record<string, string>, database: string | undefined, host: string | undefined): void {
    if (this.kind.peerFromDatabase && database !== undefined && database !== '') setPeerService(meta, this.#peerMapping, 'db.name', database)
    else if (host !== undefined && host !== '') setPeerService(meta, this.#peerMapping, 'out.host', host)
  }
}

/** dd-trace's span names and services of the four drivers. */
export const DATABASE_KINDS = {
  pg: { component: 'pg', dbType: 'postgres', nameV0: 'pg.query', nameV1: 'postgresql.query', serviceSuffix: '-postgres', serviceSource: 'pg', type: 'sql', peerFromDatabase: true, acquireV0: 'pg.pool.acquire', acquireV1: 'postgresql.pool.acquire' },
  mysql2: { component: 'mysql2', dbType: 'mysql', nameV0: 'mysql.query', nameV1: 'mysql.query', serviceSuffix: '-mysql', serviceSource: 'mysql', type: 'sql', peerFromDatabase: true, acquireV0: 'mysql2.pool.acquire', acquireV1: 'mysql2.pool.acquire' },
  ioredis: { component: 'ioredis', dbType: 'redis', nameV0: 'redis.command', nameV1: 'redis.command', serviceSuffix: '-redis', serviceSource: 'redis', type: 'redis', peerFromDatabase: false, acquireV0: '', acquireV1: '' },
  redis: { component: 'redis', dbType: 'redis', nameV0: 'redis.command', nameV1: 'redis.command', serviceSuffix: '-redis', serviceSource: 'redis', type: 'redis', peerFromDatabase: false, acquireV0: '', acquireV1: '' }
} as const satisfies Record<string, DatabaseKind>
