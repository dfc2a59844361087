import type { MsgpackWriter } from './msgpack-writer.js'

// Span times as the agent takes them: start in ns since the epoch, duration in ns, both int64.

const TWO_32 = 0x1_0000_0000
// Span starts are performance.now() offsets; epoch ns = the process's time origin + offset. The origin
// (~1.7e18 ns) is past 2^53, so it is kept as two uint32 halves and the offset added with a carry:
// exact, and no BigInt per span.
const originNs = BigInt(Math.round(performance.timeOrigin * 1000)) * 1000n
const ORIGIN_HIGH = Number(originNs >> 32n)
const ORIGIN_LOW = Number(originNs & 0xffffffffn)
// The agent replaces a start before 2000-01-01 with now - duration; past 2262 int64 ns overflow.
const MIN_START_MS = 946_684_800_000 - performance.timeOrigin
const MAX_START_MS = 9_200_000_000_000 - performance.timeOrigin
const MAX_DURATION_MS = Number.MAX_SAFE_INTEGER / 1e6

/** A duration in ms the agent keeps: negative, NaN or past int64 ns becomes 0, as the agent makes it. */
export function sendableDurationMs(duration: number): number {
  return duration >= 0 && duration <= MAX_DURATION_MS ? duration : 0
}

/** A start (performance.now() ms) the agent keeps: one before 2000 or past 2262 becomes now - duration. */
export function sendableStartMs(start: number, duration: number): number {
  return start >= MIN_START_MS && start <= MAX_START_MS ? start : performance.now() - duration
}

/** Writes a performance.now() time as int64 ns since the epoch. */
export function writeEpochNs(w: MsgpackWriter, startMs: number): void {
  const rel = Math.round(startMs * 1e6)
  const relHigh = Math.floor(rel / TWO_32)
  let low = ORIGIN_LOW + (rel - relHigh * TWO_32)
  let high = ORIGIN_HIGH + relHigh
  if (low >= TWO_32) {
    low -= TWO_32
    high += 1
  }
  w.int64Parts(high, low)
}
