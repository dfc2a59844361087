import { Buffer } from 'node:buffer'
import type { Socket as UdpSocket } from 'node:dgram'
import { unlink } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { IntakeApi } from './store/api.js'
import { readBody } from './intake/body-reader.js'
import { v05ToV04Tree } from './intake/decode-v05.js'
import { FaultController, type FaultControl } from './intake/faults.js'
import { agentState, DEFAULT_INFO_ENDPOINTS, infoDocument, type InfoOptions } from './intake/info.js'
import { DEFAULT_MAX_SPANS, IntakeStore, type WaitForTracesOptions } from './store/intake-store.js'
import { ignoreMissing, listen, removeStaleSocket } from './intake/listen.js'
import { decodeMsgpackTree, MsgpackDecodeError, type MsgpackNode } from './intake/msgpack-decoder.js'
import { Rule } from './intake/rules.js'
import { setOwn } from './intake/set-own.js'
import { handleStatsRequest, STATS_ENDPOINT } from './stats/stats-intake.js'
import { StatsStore, type ReceivedStats } from './stats/stats-store.js'
import type { ReceivedPayload, ReceivedSpan, ReceivedTrace, Violation } from './intake/types.js'
import { validateRequest } from './intake/validate.js'
import { DOGSTATSD_PROXY_ENDPOINT, handleDogStatsDProxy } from './metrics/dogstatsd-proxy.js'
import { listenDogStatsD } from './metrics/dogstatsd-udp.js'
import { DEFAULT_MAX_POINTS, DEFAULT_MAX_SERIES, MetricStore, type MetricProcess, type MetricSeries, type SeriesFilter, type WaitForMetricOptions } from './metrics/metric-store.js'

export const AGENT_VERSION = '0.1.0'
export const TRACES_ENDPOINT = '/v0.4/traces'
export const TRACES_ENDPOINT_V05 = '/v0.5/traces'
export const DEFAULT_MAX_PAYLOAD_BYTES = 25 * 1024 * 1024
export const DEFAULT_MAX_TRACES = 10_000
export const DEFAULT_RATE_BY_SERVICE: Readonly<Record<string, number>> = Object.freeze({ 'service:,env:': 1 })

export interface AgentOptions {
  /** Default '127.0.0.1'. */
  host?: string
  /** Default 0: an ephemeral port, read it back from `url`. */
  port?: number
  /** Also listen on this Unix socket; a stale socket file there is removed first. */
  socketPath?: string
  /** Bodies larger than this are answered 413 without being buffered. Default 25 MiB, as the agent. */
  maxPayloadBytes?: number
  /** Answered as `rate_by_service`. Default `{ 'service:,env:': 1 }`. */
  rateByService?: Record<string, number>
  /** The last N trace chunks are kept (and the last N payloads, and the last N violations). Default 10000. */
  maxTraces?: number
  /** At most this many spans are kept; the oldest chunks go first. Default 250000. */
  maxSpans?: number
  /** What `GET /info` answers: endpoints, client_drop_p0s, ... (see InfoOptions); `enabled: false` answers 404. */
  info?: InfoOptions
  /**
   * DogStatsD's UDP port, on `host`. Default 0: a free port, read it back from `dogstatsdPort`; when the
   * port asked for is taken, a free one is used and `dogstatsdNotice` says so. `false`: no UDP listener
   * (the proxy endpoint still takes metrics).
   */
  dogstatsdPort?: number | false
  /** Metric series (name, type and tag set) kept at most; the one updated longest ago goes first. Default 2000. */
  maxMetricSeries?: number
  /** Points kept a series. Default 360 (an hour at 10 s). */
  maxMetricPoints?: number
}

export interface Agent {
  /** `http://<host>:<port>` */
  readonly url: string
  readonly port: number
  readonly socketPath?: string
  /** `unix://<socketPath>` */
  readonly socketUrl?: string
  traces(filter?: (trace: ReceivedTrace) => boolean): ReceivedTrace[]
  spans(): ReceivedSpan[]
  payloads(): ReceivedPayload[]
  violations(): Violation[]
  /** The client-side stats payloads received on `/v0.6/stats`, decoded, oldest first (the last `maxTraces`). */
  stats(): ReceivedStats[]
  /** DogStatsD's UDP port, undefined with `dogstatsdPort: false`. */
  readonly dogstatsdPort: number | undefined
  /** Set when the DogStatsD port asked for was taken and another was used. */
  readonly dogstatsdNotice: string | undefined
  /** Metric series received (over UDP or the proxy endpoint), with their recent points. */
  metrics(filter?: SeriesFilter): MetricSeries[]
  /** The processes (service and runtime id) that sent metrics. */
  metricProcesses(): MetricProcess[]
  /** Resolves with the first series of that name that has a point (and passes `filter`). */
  waitForMetric(name: string, options?: WaitForMetricOptions): Promise<MetricSeries>
  /** Forgets every trace, payload, violation, stats payload and metric received so far. */
  clear(): void
  /** Replaces the `rate_by_service` answered from now on. */
  setRates(rateByService: Record<string, number>): void
  /** Resolves with every matching trace held once at least `count` of them have arrived. */
  waitForTraces(count: number, options?: WaitForTracesOptions): Promise<ReceivedTrace[]>
  /** Stops listening, drops every open connection and removes the socket file. */
  close(): Promise<void>
  /** Makes the intake misbehave on purpose (slow, error statuses, garbage, resets, refused connections, a removed socket). */
  readonly faults: FaultControl
  /** Replaces what `GET /info` answers; `Datadog-Agent-State` changes with it. */
  setInfo(info: InfoOptions): void
}

export async function startAgent(options: AgentOptions = {}): Promise<Agent> {
  return LocalAgent.start(options)
}

class LocalAgent implements Agent {
  readonly #host: string
  readonly #socketPath: string | undefined
  readonly #maxPayloadBytes: number
  readonly #store: IntakeStore
  readonly #stats: StatsStore
  readonly #metrics: MetricStore
  readonly #api: IntakeApi
  readonly #servers: Server[] = []
  readonly faults = new FaultController()
  #infoOptions: InfoOptions
  #udp: UdpSocket | undefined
  #dogstatsdPort: number | undefined
  #dogstatsdNotice: string | undefined
  #rates: Record<string, number>
  #port = 0
  #info: string | undefined
  #state: string | undefined
  #closing: Promise<void> | undefined
  // Only a socket this agent bound is removed on close; a failed start must not delete someone else's file.
  #ownsSocketFile = false

  private constructor(options: AgentOptions) {
    this.#host = options.host ?? '127.0.0.1'
    this.#socketPath = options.socketPath
    this.#maxPayloadBytes = positiveInteger('maxPayloadBytes', options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES)
    this.#store = new IntakeStore(
      positiveInteger('maxTraces', options.maxTraces ?? DEFAULT_MAX_TRACES),
      positiveInteger('maxSpans', options.maxSpans ?? DEFAULT_MAX_SPANS)
    )
    this.#stats = new StatsStore(positiveInteger('maxTraces', options.maxTraces ?? DEFAULT_MAX_TRACES))
    this.#metrics = new MetricStore(
      positiveInteger('maxMetricSeries', options.maxMetricSeries ?? DEFAULT_MAX_SERIES),
      positiveInteger('maxMetricPoints', options.maxMetricPoints ?? DEFAULT_MAX_POINTS)
    )
    this.#api = new IntakeApi(this.#store, {
      status: () => ({ agentVersion: AGENT_VERSION, url: this.url, socketUrl: this.socketUrl ?? null, dogstatsdPort: this.#dogstatsdPort ?? null }),
      stats: this.#stats,
      metrics: this.#metrics
    })
    this.#rates = { ...(options.rateByService ?? DEFAULT_RATE_BY_SERVICE) }
    this.#infoOptions = { ...options.info }
  }

  static async start(options: AgentOptions): Promise<LocalAgent> {
    const port = options.port ?? 0
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be 0-65535, got ${port}`)
    const udpPort = options.dogstatsdPort ?? 0
    if (udpPort !== false && (!Number.isInteger(udpPort) || udpPort < 0 || udpPort > 65535)) throw new RangeError(`dogstatsdPort must be 0-65535 or false, got ${udpPort}`)
    const agent = new LocalAgent(options)
    try {
      const tcp = agent.#createServer()
      await listen(tcp, (cb) => tcp.listen(port, agent.#host, cb))
      const address = tcp.address()
      agent.#port = typeof address === 'object' && address !== null ? address.port : port
      if (udpPort !== false) {
        const udp = await listenDogStatsD(agent.#metrics, agent.#host, udpPort)
        agent.#udp = udp.socket
        agent.#dogstatsdPort = udp.port
        agent.#dogstatsdNotice = udp.notice
      }
      const socketPath = agent.#socketPath
      if (socketPath !== undefined) {
        await removeStaleSocket(socketPath)
        const unix = agent.#createServer()
        await listen(unix, (cb) => unix.listen(socketPath, cb))
        agent.#ownsSocketFile = true
        agent.faults.attachSocket(unix, socketPath)
      }
    } catch (error) {
      await agent.close()
      throw error
    }
    return agent
  }

  get url(): string {
    return `http://${this.#host.includes(':') ? `[${this.#host}]` : this.#host}:${this.#port}`
  }

  get port(): number {
    return this.#port
  }

  get socketPath(): string | undefined {
    return this.#socketPath
  }

  get socketUrl(): string | undefined {
    return this.#socketPath === undefined ? undefined : `unix://${this.#socketPath}`
  }

  traces(filter?: (trace: ReceivedTrace) => boolean): ReceivedTrace[] {
    return this.#store.traces(filter)
  }

  spans(): ReceivedSpan[] {
    return this.#store.spans()
  }

  payloads(): ReceivedPayload[] {
    return this.#store.payloads()
  }

  violations(): Violation[] {
    return this.#store.violations()
  }

  stats(): ReceivedStats[] {
    return this.#stats.all()
  }

  get dogstatsdPort(): number | undefined {
    return this.#dogstatsdPort
  }

  get dogstatsdNotice(): string | undefined {
    return this.#dogstatsdNotice
  }

  metrics(filter?: SeriesFilter): MetricSeries[] {
    return this.#metrics.series(filter)
  }

  metricProcesses(): MetricProcess[] {
    return this.#metrics.processes()
  }

  waitForMetric(name: string, options?: WaitForMetricOptions): Promise<MetricSeries> {
    return this.#metrics.waitForMetric(name, options)
  }

  clear(): void {
    this.#stats.clear()
    this.#metrics.clear()
    this.#store.clear()
  }

  setRates(rateByService: Record<string, number>): void {
    this.#rates = { ...rateByService }
  }

  setInfo(info: InfoOptions): void {
    this.#infoOptions = { ...info }
    this.#info = undefined
    this.#state = undefined
  }

  waitForTraces(count: number, options?: WaitForTracesOptions): Promise<ReceivedTrace[]> {
    return this.#store.waitForTraces(count, options)
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  async #shutdown(): Promise<void> {
    this.#store.close()
    this.#metrics.close()
    this.faults.close()
    const udp = this.#udp
    this.#udp = undefined
    if (udp !== undefined) await new Promise<void>((resolve) => udp.close(() => resolve()))
    await Promise.all(this.#servers.map((server) => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })))
    if (this.#ownsSocketFile && this.#socketPath !== undefined) await unlink(this.#socketPath).catch(ignoreMissing)
  }

  #createServer(): Server {
    const server = createServer((req, res) => this.#handle(req, res))
    server.on('connection', (socket: Socket) => this.faults.onConnection(socket))
    // With `Expect: 100-continue` an oversized upload is refused before the client sends a byte of it.
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      const declared = Number(req.headers['content-length'])
      if (!(declared > this.#maxPayloadBytes)) res.writeContinue()
      this.#handle(req, res)
    })
    this.#servers.push(server)
    return server
  }

  // The body of /info, from which Datadog-Agent-State is derived as the real agent derives it.
  #infoBody(): string {
    this.#info ??= infoDocument(this.#infoOptions, {
      version: AGENT_VERSION,
      port: this.#port,
      socketPath: this.#socketPath,
      maxRequestBytes: this.#maxPayloadBytes,
      statsdPort: this.#dogstatsdPort
    })
    return this.#info
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    // A client vanishing mid-request surfaces as 'error' on both; unhandled, that would end the process.
    req.on('error', noop)
    res.on('error', noop)
    const receivedAt = Date.now()
    this.#state ??= agentState(this.#infoBody())
    res.setHeader('Datadog-Agent-Version', AGENT_VERSION)
    res.setHeader('Datadog-Agent-State', this.#state)
    const path = (req.url ?? '/').split('?')[0]
    const method = req.method ?? ''
    if (this.faults.intercept(req, res, path, () => this.#route(req, res, path, method, receivedAt))) return
    this.#route(req, res, path, method, receivedAt)
  }

  #route(req: IncomingMessage, res: ServerResponse, path: string, method: string, receivedAt: number): void {
    if (path === '/info' && this.#infoOptions.enabled === false) {
      send(res, 404, '404 page not found\n')
      return
    }
    if (path === '/info') {
      if (method === 'GET') send(res, 200, this.#infoBody(), 'application/json')
      else send(res, 405, 'method-not-allowed', undefined, { Allow: 'GET' })
      return
    }
    if (this.#api.handle(req, res, path, method)) return
    if (path === DOGSTATSD_PROXY_ENDPOINT) {
      // An agent that does not list the proxy (an old one, or one configured so) has none: the tracer then uses UDP.
      const listed = this.#infoOptions.enabled !== false && (this.#infoOptions.endpoints ?? DEFAULT_INFO_ENDPOINTS).includes(DOGSTATSD_PROXY_ENDPOINT)
      if (!listed) return send(res, 404, '404 page not found\n')
      if (method !== 'POST' && method !== 'PUT') return send(res, 405, 'method-not-allowed', undefined, { Allow: 'POST, PUT' })
      handleDogStatsDProxy(req, this.#metrics, (status, body, extra) => send(res, status, body, undefined, extra)).catch((error: unknown) => {
        send(res, 500, `internal-error: ${error instanceof Error ? error.message : String(error)}`, undefined, { Connection: 'close' })
      })
      return
    }
    if (path === STATS_ENDPOINT) {
      if (method !== 'PUT' && method !== 'POST') return send(res, 405, 'method-not-allowed', undefined, { Allow: 'PUT, POST' })
      const stats = { method, headers: lowercaseHeaders(req), receivedAt, maxPayloadBytes: this.#maxPayloadBytes, store: this.#store, stats: this.#stats }
      handleStatsRequest(req, { ...stats, reply: (status, body, extra) => send(res, status, body, undefined, extra) }).catch((error: unknown) => {
        send(res, 500, `internal-error: ${error instanceof Error ? error.message : String(error)}`, undefined, { Connection: 'close' })
      })
      return
    }
    if (path !== TRACES_ENDPOINT && path !== TRACES_ENDPOINT_V05) {
      send(res, 404, '404 page not found\n')
      return
    }
    if (method !== 'PUT' && method !== 'POST') {
      send(res, 405, 'method-not-allowed', undefined, { Allow: 'PUT, POST' })
      return
    }
    this.#intake(req, res, path, method, receivedAt).catch((error: unknown) => {
      send(res, 500, `internal-error: ${error instanceof Error ? error.message : String(error)}`, undefined, { Connection: 'close' })
    })
  }

  async #intake(req: IncomingMessage, res: ServerResponse, path: string, method: string, receivedAt: number): Promise<void> {
    const headers = lowercaseHeaders(req)
    const store = this.#store
    const context = { headers, endpoint: path, receivedAt }
    const payload = (bytes: number, status: number, traceCount: number, error?: string): ReceivedPayload => {
      const p: ReceivedPayload = { method, path, headers, bytes, traceCount, status, receivedAt }
      if (error !== undefined) p.error = error
      return p
    }
    const violation = (rule: Violation['rule'], message: string): Violation => ({ rule, message, endpoint: path, receivedAt })
    const refuse = (bytes: number, why: string): void => {
      const { violations } = validateRequest({ ...context, bytes: undefined, root: undefined })
      violations.push(violation(Rule.payloadTooLarge, `${why}, over maxPayloadBytes (${this.#maxPayloadBytes}); answered 413`))
      store.record(payload(bytes, 413, 0, 'payload-too-large'), [], violations)
      // Closing the connection is what stops the rest of the body from being read.
      send(res, 413, 'payload-too-large', undefined, { Connection: 'close' })
    }

    const declared = Number(headers['content-length'])
    if (declared > this.#maxPayloadBytes) return refuse(0, `Content-Length is ${declared}`)
    const body = await readBody(req, this.#maxPayloadBytes)
    if (body.kind === 'too-large') return refuse(body.bytesRead, `the body passed ${body.bytesRead} bytes`)
    if (body.kind === 'aborted') {
      const { violations } = validateRequest({ ...context, bytes: undefined, root: undefined })
      violations.push(violation(Rule.requestAborted, `the client went away after ${body.bytesRead} body bytes`))
      store.record(payload(body.bytesRead, 0, 0, 'aborted'), [], violations)
      return
    }

    let root: MsgpackNode | undefined
    let decodeError: MsgpackDecodeError | undefined
    try {
      root = decodeMsgpackTree(body.body)
    } catch (error) {
      if (!(error instanceof MsgpackDecodeError)) throw error
      decodeError = error
    }
    let v05Error: string | undefined
    if (root !== undefined && path === TRACES_ENDPOINT_V05) {
      const converted = v05ToV04Tree(root)
      root = converted.root
      v05Error = converted.error
    }
    const result = validateRequest({ ...context, bytes: body.body.length, root })
    const reason = decodeError?.reason ?? (v05Error === undefined ? undefined : 'invalid-v05-payload') ?? result.rejection
    if (decodeError !== undefined) {
      result.violations.push(violation(Rule.payloadUndecodable, `${decodeError.message}; answered 400`))
    }
    if (v05Error !== undefined) result.violations.push(violation(Rule.payloadUndecodable, `${v05Error}; answered 400`))
    if (reason !== undefined) {
      store.record(payload(body.body.length, 400, 0, reason), [], result.violations)
      send(res, 400, reason)
      return
    }
    // Stored before answering, so a client that has its 200 can already see its traces.
    store.record(payload(body.body.length, 200, result.traces.length), result.traces, result.violations)
    send(res, 200, JSON.stringify({ rate_by_service: this.#rates }), 'application/json')
  }
}

function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return
  res.statusCode = status
  res.setHeader('Content-Type', contentType)
  res.setHeader('Content-Length', Buffer.byteLength(body))
  for (const [name, value] of Object.entries(extra)) res.setHeader(name, value)
  res.end(body)
}

function lowercaseHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) setOwn(out, name, Array.isArray(value) ? value.join(', ') : value)
  }
  return out
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`)
  return value
}

function noop(): void {}
