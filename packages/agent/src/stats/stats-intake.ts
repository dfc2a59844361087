import type { IncomingMessage } from 'node:http'
import { readBody } from '../intake/body-reader.js'
import type { IntakeStore } from '../store/intake-store.js'
import { MsgpackDecodeError } from '../intake/msgpack-decoder.js'
import { decodeStatsPayload, StatsDecodeError } from './stats-decoder.js'
import type { StatsStore } from './stats-store.js'
import type { ReceivedPayload } from '../intake/types.js'

export const STATS_ENDPOINT = '/v0.6/stats'

export interface StatsRequest {
  readonly method: string
  /** Lowercased. */
  readonly headers: Record<string, string>
  readonly receivedAt: number
  readonly maxPayloadBytes: number
  readonly store: IntakeStore
  readonly stats: StatsStore
  /** Answers the request (status, body, extra headers). */
  readonly reply: (status: number, body: string, headers?: Record<string, string>) => void
}

/**
 * `PUT`/`POST /v0.6/stats`: decodes the payload and keeps it. Every request is also recorded among the
 * payloads (no traces), with its status: 413 past the size limit, 400 for a body the agent could not
 * decode, 200 otherwise.
 */
export async function handleStatsRequest(req: IncomingMessage, r: StatsRequest): Promise<void> {
  const record = (bytes: number, status: number, error?: string): ReceivedPayload => {
    const payload: ReceivedPayload = { method: r.method, path: STATS_ENDPOINT, headers: r.headers, bytes, traceCount: 0, status, receivedAt: r.receivedAt }
    if (error !== undefined) payload.error = error
    r.store.record(payload, [], [])
    return payload
  }
  const declared = Number(r.headers['content-length'])
  if (declared > r.maxPayloadBytes) {
    record(0, 413, 'payload-too-large')
    r.reply(413, 'payload-too-large', { Connection: 'close' })
    return
  }
  const body = await readBody(req, r.maxPayloadBytes)
  if (body.kind === 'too-large') {
    record(body.bytesRead, 413, 'payload-too-large')
    r.reply(413, 'payload-too-large', { Connection: 'close' })
    return
  }
  if (body.kind === 'aborted') {
    record(body.bytesRead, 0, 'aborted')
    return
  }
  let decoded
  try {
    decoded = decodeStatsPayload(body.body)
  } catch (error) {
    if (!(error instanceof MsgpackDecodeError) && !(error instanceof StatsDecodeError)) throw error
    record(body.body.length, 400, error.message)
    r.reply(400, `decode-error: ${error.message}`)
    return
  }
  // Stored before answering, so a client that has its 200 can already see its stats.
  const payload = record(body.body.length, 200)
  r.stats.add({ ...decoded, headers: r.headers, receivedAt: r.receivedAt, payloadId: payload.id ?? 0 })
  r.reply(200, 'OK')
}
