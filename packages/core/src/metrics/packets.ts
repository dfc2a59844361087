import { Buffer } from 'node:buffer'

/**
 * Largest UDP packet, as dd-trace's client: several lines a packet, and under any path MTU with room
 * for the headers, so no packet is fragmented or cut.
 */
export const MAX_PACKET_BYTES = 1024
/**
 * A single line longer than a packet still goes out alone up to this size, the agent's default
 * read buffer (`dogstatsd_buffer_size`); beyond it the agent would cut it, so it is dropped and counted.
 */
export const MAX_LINE_BYTES = 8192

export interface Packets {
  readonly packets: Buffer[]
  readonly bytes: number
  /** Lines too long to send, left out. */
  readonly droppedLines: number
}

/** Packs newline-ended lines into packets of at most `maxBytes`, a new packet whenever the next line does not fit. */
export function packLines(lines: readonly string[], maxBytes: number = MAX_PACKET_BYTES): Packets {
  const packets: Buffer[] = []
  let bytes = 0
  let droppedLines = 0
  let current = ''
  let size = 0
  for (const line of lines) {
    const length = Buffer.byteLength(line)
    if (length > MAX_LINE_BYTES) {
      droppedLines++
      continue
    }
    if (size > 0 && size + length > maxBytes) {
      packets.push(Buffer.from(current))
      bytes += size
      current = ''
      size = 0
    }
    current += line
    size += length
  }
  if (size > 0) {
    packets.push(Buffer.from(current))
    bytes += size
  }
  return { packets, bytes, droppedLines }
}
