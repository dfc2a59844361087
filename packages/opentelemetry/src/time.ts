import { performance } from 'node:perf_hooks'
import type { TimeInput } from '@opentelemetry/api'

const timeOrigin = performance.timeOrigin

/**
 * An OpenTelemetry time as epoch milliseconds, read as the OpenTelemetry SDK reads it: `[seconds,
 * nanoseconds]`, a Date, epoch milliseconds, or a number below the process's time origin taken as a
 * `performance.now()` reading. Sub-millisecond precision is kept. Undefined for no time or a bad one
 * (the span then takes now).
 */
export function epochMs(time: TimeInput | undefined): number | undefined {
  if (typeof time === 'number') {
    if (!Number.isFinite(time)) return undefined
    return time < timeOrigin ? timeOrigin + time : time
  }
  if (time instanceof Date) {
    const ms = time.getTime()
    return Number.isNaN(ms) ? undefined : ms
  }
  if (Array.isArray(time) && time.length === 2 && typeof time[0] === 'number' && typeof time[1] === 'number') {
    const ms = time[0] * 1e3 + time[1] / 1e6
    return Number.isFinite(ms) ? ms : undefined
  }
  return undefined
}

/** True for what `addEvent`'s second argument holds when it is a time rather than attributes. */
export function isTimeInput(value: unknown): value is TimeInput {
  return typeof value === 'number' || value instanceof Date || (Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && typeof value[1] === 'number')
}
