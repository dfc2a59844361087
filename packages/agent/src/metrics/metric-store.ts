import { RingBuffer } from '../store/ring-buffer.js'
import { Waiters } from '../store/waiters.js'
import { parseMetricLine, type MetricTypeName } from './dogstatsd-parser.js'
import { PointRing } from './series.js'

/** Series kept at most; past it the one updated longest ago is forgotten. */
export const DEFAULT_MAX_SERIES = 2000
/** Points kept a series: an hour at the tracers' 10 s flush. */
export const DEFAULT_MAX_POINTS = 360
/** The agent's read buffer: a longer line could not have come in one datagram, and would hold memory for nothing. */
export const MAX_LINE_LENGTH = 8192
/** Refused lines kept to show, newest last. */
const INVALID_KEPT = 50

export type MetricTransport = 'udp' | 'http'

/** One metric name, type and tag set, and its recent points. */
export interface MetricSeries {
  readonly name: string
  readonly type: MetricTypeName
  /** Sorted, so that one tag set is one series whatever the order it was written in. */
  readonly tags: readonly string[]
  /** From the `service:` tag; '' when none. */
  readonly service: string
  /** From the `runtime-id:` tag: the process that sent it; '' when none. */
  readonly runtimeId: string
  /** `[epoch ms, value]`, oldest first. A count's value is scaled by its sample rate, as the agent does. */
  readonly points: Array<[number, number]>
}

export interface SeriesFilter {
  service?: string
  runtimeId?: string
  /** Exact names. */
  names?: readonly string[]
  /** Names starting with this. */
  prefix?: string
  /** Points after this time (epoch ms) only. */
  since?: number
}

/** A process that sent metrics: one service and runtime id. */
export interface MetricProcess {
  readonly service: string
  readonly runtimeId: string
  readonly env: string
  readonly version: string
  readonly series: number
  /** Epoch ms of its newest point. */
  readonly lastSeen: number
  /** It sends dd-trace's runtime metrics (`runtime.node.*`). */
  readonly runtime: boolean
  /** The names of its metrics, sorted. */
  readonly names: readonly string[]
}

export interface InvalidLine {
  readonly line: string
  readonly reason: string
  readonly transport: MetricTransport
  readonly receivedAt: number
}

export interface MetricCounts {
  packets: number
  httpRequests: number
  lines: number
  invalid: number
  /** Events and service checks: recognised, not kept. */
  skipped: number
  /** Series forgotten to make room. */
  evicted: number
  series: number
}

export interface WaitForMetricOptions {
  /** Default 5000. */
  timeoutMs?: number
  filter?: (series: MetricSeries) => boolean
}

interface Stored {
  readonly name: string
  readonly type: MetricTypeName
  readonly tags: readonly string[]
  readonly service: string
  readonly runtimeId: string
  readonly env: string
  readonly version: string
  readonly ring: PointRing
}

function tagValue(tags: readonly string[], key: string): string {
  const prefix = `${key}:`
  return tags.find((tag) => tag.startsWith(prefix))?.slice(prefix.length) ?? ''
}

/**
 * The DogStatsD lines the intake received, as series per metric name, type and tag set, each holding
 * its recent points: at most `maxSeries` series of `maxPoints` points, so memory stays bounded however
 * long the intake runs and however many tag sets the senders invent.
 */
export class MetricStore {
  readonly #maxSeries: number
  readonly #maxPoints: number
  // In least recently updated order: a point moves its series to the end.
  readonly #series = new Map<string, Stored>()
  readonly #invalid = new RingBuffer<InvalidLine>(INVALID_KEPT)
  readonly #waiters = new Waiters()
  readonly #counts: MetricCounts = { packets: 0, httpRequests: 0, lines: 0, invalid: 0, skipped: 0, evicted: 0, series: 0 }
  #version = 0

  constructor(maxSeries = DEFAULT_MAX_SERIES, maxPoints = DEFAULT_MAX_POINTS) {
    if (!Number.isInteger(maxSeries) || maxSeries < 1) throw new RangeError(`maxSeries must be a positive integer, got ${maxSeries}`)
    if (!Number.isInteger(maxPoints) || maxPoints < 1) throw new RangeError(`maxPoints must be a positive integer, got ${maxPoints}`)
    this.#maxSeries = maxSeries
    this.#maxPoints = maxPoints
  }

  /** Changes whenever something arrives or is cleared: the page polls cheaply on it. */
  get version(): number {
    return this.#version
  }

  /** One UDP datagram or one proxy request's body: lines separated by newlines. */
  receive(text: string, transport: MetricTransport, receivedAt: number = Date.now()): void {
    if (transport === 'udp') this.#counts.packets++
    else this.#counts.httpRequests++
    for (const raw of text.split('\n')) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
      if (line === '') continue
      this.#counts.lines++
      this.#line(line, transport, receivedAt)
    }
    this.#version++
    this.#waiters.changed()
  }

  #line(line: string, transport: MetricTransport, receivedAt: number): void {
    const parsed = line.length > MAX_LINE_LENGTH ? { ok: false as const, reason: `longer than ${MAX_LINE_LENGTH} characters` } : parseMetricLine(line)
    if (parsed.ok === 'skipped') {
      this.#counts.skipped++
      return
    }
    if (!parsed.ok) {
      this.#counts.invalid++
      this.#invalid.push({ line: line.length > 300 ? `${line.slice(0, 300)}…` : line, reason: parsed.reason, transport, receivedAt })
      return
    }
    const m = parsed.metric
    const tags = [...m.tags].sort()
    const key = `${m.name}|${m.type}|${tags.join(',')}`
    let stored = this.#series.get(key)
    if (stored === undefined) {
      if (this.#series.size >= this.#maxSeries) {
        const oldest = this.#series.keys().next().value
        if (oldest !== undefined) this.#series.delete(oldest)
        this.#counts.evicted++
      }
      stored = {
        name: m.name,
        type: m.type,
        tags,
        service: tagValue(tags, 'service'),
        runtimeId: tagValue(tags, 'runtime-id'),
        env: tagValue(tags, 'env'),
        version: tagValue(tags, 'version'),
        ring: new PointRing(this.#maxPoints)
      }
    } else {
      this.#series.delete(key)
    }
    this.#series.set(key, stored)
    const time = m.timestamp === undefined ? receivedAt : m.timestamp * 1000
    const scale = m.type === 'count' ? 1 / m.sampleRate : 1
    for (const value of m.values) stored.ring.push(time, value * scale)
  }

  series(filter: SeriesFilter = {}): MetricSeries[] {
    const out: MetricSeries[] = []
    for (const s of this.#series.values()) {
      if (filter.service !== undefined && s.service !== filter.service) continue
      if (filter.runtimeId !== undefined && s.runtimeId !== filter.runtimeId) continue
      if (filter.names !== undefined && !filter.names.includes(s.name)) continue
      if (filter.prefix !== undefined && !s.name.startsWith(filter.prefix)) continue
      out.push({ name: s.name, type: s.type, tags: s.tags, service: s.service, runtimeId: s.runtimeId, points: s.ring.points(filter.since) })
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.tags.join(',') < b.tags.join(',') ? -1 : 1))
  }

  processes(): MetricProcess[] {
    const byKey = new Map<string, { service: string; runtimeId: string; env: string; version: string; series: number; lastSeen: number; runtime: boolean; names: Set<string> }>()
    for (const s of this.#series.values()) {
      const key = `${s.service}\n${s.runtimeId}`
      let p = byKey.get(key)
      if (p === undefined) byKey.set(key, (p = { service: s.service, runtimeId: s.runtimeId, env: s.env, version: s.version, series: 0, lastSeen: 0, runtime: false, names: new Set() }))
      p.series++
      p.lastSeen = Math.max(p.lastSeen, s.ring.last()?.[0] ?? 0)
      p.names.add(s.name)
      if (s.name.startsWith('runtime.node.')) p.runtime = true
    }
    return [...byKey.values()]
      .map((p) => ({ ...p, names: [...p.names].sort() }))
      .sort((a, b) => (a.service === b.service ? b.lastSeen - a.lastSeen : a.service < b.service ? -1 : 1))
  }

  counts(): MetricCounts {
    return { ...this.#counts, series: this.#series.size }
  }

  invalid(): InvalidLine[] {
    return this.#invalid.toArray()
  }

  get maxSeries(): number {
    return this.#maxSeries
  }

  get maxPoints(): number {
    return this.#maxPoints
  }

  clear(): void {
    this.#series.clear()
    this.#invalid.clear()
    for (const key of Object.keys(this.#counts) as Array<keyof MetricCounts>) this.#counts[key] = 0
    this.#version++
  }

  /** Resolves with the first series named `name` (and passing `filter`) that has a point. */
  waitForMetric(name: string, options: WaitForMetricOptions = {}): Promise<MetricSeries> {
    const { timeoutMs = 5000, filter } = options
    const find = (): MetricSeries | undefined => this.series({ names: [name] }).find((s) => s.points.length > 0 && (filter === undefined || filter(s)))
    return this.#waiters.wait(find, timeoutMs, {
      closed: () => `the agent closed while waiting for metric ${name}`,
      timedOut: () => this.#describe(name, timeoutMs)
    })
  }

  #describe(name: string, timeoutMs: number): string {
    const names = [...new Set([...this.#series.values()].map((s) => s.name))].sort()
    const c = this.#counts
    return [
      `waitForMetric: no ${name} within ${timeoutMs} ms; ${c.packets} UDP packets and ${c.httpRequests} proxy requests, ${c.lines} lines (${c.invalid} invalid).`,
      `Metrics (${names.length}): ${names.slice(0, 40).join(', ')}${names.length > 40 ? ', …' : ''}`,
      ...this.invalid().slice(-5).map((i) => `  invalid (${i.reason}): ${i.line}`)
    ].join('\n')
  }

  close(): void {
    this.#waiters.close()
  }
}
