import { freemem, totalmem } from 'node:os'
import { monitorEventLoopDelay, performance, PerformanceObserver, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks'
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8'
import type { MetricsAggregator } from './aggregator.js'

// Every time is sent in nanoseconds: the backend's Node.js runtime dashboards read them so.

/** `monitorEventLoopDelay`'s resolution, in ms, as dd-trace's. */
const EVENT_LOOP_RESOLUTION_MS = 4

/**
 * `samplePerIteration` (one sample per turn of the loop, what the delay should mean) exists from Node
 * 24.19 and 26.5. Without it the monitor samples on a timer of `EVENT_LOOP_RESOLUTION_MS`, and every
 * sample includes that timer's own period: dd-trace subtracts it, and so do we.
 */
export function hasSamplePerIteration(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  return major > 26 || (major === 26 && minor >= 5) || (major === 24 && minor >= 19)
}

const MINOR_GC = Number(process.versions.node.split('.')[0]) >= 22 ? 'minor_mark_sweep' : 'minor_mark_compact'

/** dd-trace's `gc_type` tag values for the kinds a `gc` performance entry carries. */
export function gcType(kind: number | undefined): string {
  switch (kind) {
    case 1:
      return 'scavenge'
    case 2:
      return MINOR_GC
    case 4:
      return 'mark_sweep_compact'
    case 8:
      return 'incremental_marking'
    case 16:
      return 'process_weak_callbacks'
    case 31:
      return 'all'
    default:
      return 'unknown'
  }
}

export interface RuntimeCollectorOptions {
  /** Event loop delay and utilization. */
  eventLoop: boolean
  /** GC pauses. */
  gc: boolean
}

/**
 * dd-trace's runtime metrics from Node's own measurements (process, os, v8, perf_hooks): no native
 * add-on. `capture` reads them all once a flush, off the request path; the GC observer records each
 * pause as it is reported, which Node does outside any request's turn.
 */
export class RuntimeMetricsCollector {
  readonly #metrics: MetricsAggregator
  readonly #options: RuntimeCollectorOptions
  readonly #perIteration = hasSamplePerIteration()
  #gcObserver: PerformanceObserver | undefined
  #delay: IntervalHistogram | undefined
  #lastTime = 0
  #lastCpu: NodeJS.CpuUsage | undefined
  #lastElu: EventLoopUtilization | undefined

  constructor(metrics: MetricsAggregator, options: RuntimeCollectorOptions) {
    this.#metrics = metrics
    this.#options = options
  }

  start(): void {
    this.#lastTime = performance.now()
    this.#lastCpu = process.cpuUsage()
    if (this.#options.gc && this.#gcObserver === undefined) {
      const metrics = this.#metrics
      const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          // `detail.kind` since Node 16; `kind` on the entry itself before, still read by dd-trace.
          const gc = entry as unknown as { detail?: { kind?: number } | null; kind?: number }
          const kind = gc.detail?.kind ?? gc.kind
          const ns = entry.duration * 1e6
          metrics.histogram('runtime.node.gc.pause.by.type', ns, `gc_type:${gcType(kind)}`)
          metrics.histogram('runtime.node.gc.pause', ns)
        }
      })
      observer.observe({ type: 'gc' })
      this.#gcObserver = observer
    }
    if (this.#options.eventLoop && this.#delay === undefined) {
      const options = { resolution: EVENT_LOOP_RESOLUTION_MS, samplePerIteration: this.#perIteration }
      this.#delay = monitorEventLoopDelay(options)
      this.#delay.enable()
    }
  }

  stop(): void {
    this.#gcObserver?.disconnect()
    this.#gcObserver = undefined
    this.#delay?.disable()
    this.#delay = undefined
  }

  /** Reads every measurement into the aggregator, in dd-trace's order. */
  capture(): void {
    this.#cpu()
    this.#memory()
    this.#metrics.gauge('runtime.node.process.uptime', Math.round((this.#lastTime + 499) / 1000))
    this.#heap()
    if (this.#options.eventLoop) this.#utilization()
    this.#heapSpaces()
    if (this.#options.eventLoop) this.#eventLoopDelay()
  }

  #cpu(): void {
    const cpu = process.cpuUsage()
    const last = this.#lastCpu ?? cpu
    const now = performance.now()
    // µs of CPU over ms of wall time: per cent of one core.
    const elapsed = (now - this.#lastTime) * 10
    const user = (cpu.user - last.user) / elapsed
    const system = (cpu.system - last.system) / elapsed
    this.#lastTime = now
    this.#lastCpu = cpu
    this.#metrics.gauge('runtime.node.cpu.system', round2(system))
    this.#metrics.gauge('runtime.node.cpu.user', round2(user))
    this.#metrics.gauge('runtime.node.cpu.total', round2(user + system))
  }

  #memory(): void {
    const m = this.#metrics
    const usage = process.memoryUsage()
    m.gauge('runtime.node.mem.heap_total', usage.heapTotal)
    m.gauge('runtime.node.mem.heap_used', usage.heapUsed)
    m.gauge('runtime.node.mem.rss', usage.rss)
    m.gauge('runtime.node.mem.total', totalmem())
    m.gauge('runtime.node.mem.free', freemem())
    m.gauge('runtime.node.mem.external', usage.external)
  }

  #heap(): void {
    const m = this.#metrics
    const heap = getHeapStatistics()
    m.gauge('runtime.node.heap.total_heap_size', heap.total_heap_size)
    m.gauge('runtime.node.heap.total_heap_size_executable', heap.total_heap_size_executable)
    m.gauge('runtime.node.heap.total_physical_size', heap.total_physical_size)
    m.gauge('runtime.node.heap.total_available_size', heap.total_available_size)
    m.gauge('runtime.node.heap.heap_size_limit', heap.heap_size_limit)
    m.gauge('runtime.node.heap.malloced_memory', heap.malloced_memory)
    m.gauge('runtime.node.heap.peak_malloced_memory', heap.peak_malloced_memory)
  }

  /** Busy share of the loop since the last flush (since the process started, the first time). */
  #utilization(): void {
    const elu = performance.eventLoopUtilization()
    const last = this.#lastElu
    this.#lastElu = elu
    const idle = elu.idle - (last?.idle ?? 0)
    const active = elu.active - (last?.active ?? 0)
    if (idle + active > 0) this.#metrics.gauge('runtime.node.event_loop.utilization', active / (idle + active))
  }

  #heapSpaces(): void {
    const m = this.#metrics
    for (const space of getHeapSpaceStatistics()) {
      const tag = `heap_space:${space.space_name}`
      m.gauge('runtime.node.heap.size.by.space', space.space_size, tag)
      m.gauge('runtime.node.heap.used_size.by.space', space.space_used_size, tag)
      m.gauge('runtime.node.heap.available_size.by.space', space.space_available_size, tag)
      m.gauge('runtime.node.heap.physical_size.by.space', space.physical_space_size, tag)
    }
  }

  #eventLoopDelay(): void {
    const delay = this.#delay
    if (delay === undefined) return
    delay.disable()
    if (delay.count !== 0) {
      const floor = this.#perIteration ? 0 : EVENT_LOOP_RESOLUTION_MS * 1e6
      const avg = Math.max(delay.mean - floor, 0)
      const sum = Math.round(avg * delay.count)
      // As dd-trace: a loop that never waited past the timer's own period sends nothing.
      if (sum !== 0) {
        const m = this.#metrics
        const name = 'runtime.node.event_loop.delay'
        m.gauge(`${name}.min`, Math.max(delay.min - floor, 0))
        m.gauge(`${name}.max`, Math.max(delay.max - floor, 0))
        m.count(`${name}.sum`, sum)
        m.count(`${name}.total`, sum)
        m.gauge(`${name}.avg`, avg)
        m.count(`${name}.count`, delay.count)
        m.gauge(`${name}.95percentile`, Math.max(delay.percentile(95) - floor, 0))
      }
    }
    delay.reset()
    delay.enable()
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100
}
