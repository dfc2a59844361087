import type { IncomingMessage } from 'node:http'
import { readBody } from '../intake/body-reader.js'
import type { MetricStore } from './metric-store.js'

/** The agent's endpoint that takes DogStatsD lines over HTTP (tracers use it first, then UDP). */
export const DOGSTATSD_PROXY_ENDPOINT = '/dogstatsd/v2/proxy'
/** A proxy body is a few KB (a tracer's flush); past this it is refused. */
export const MAX_PROXY_BODY_BYTES = 4 * 1024 * 1024

/**
 * `POST /dogstatsd/v2/proxy`: the body's lines are kept as if each had come as a datagram, and the answer
 * is an empty 200, as the agent's. A body over `MAX_PROXY_BODY_BYTES` gets 413 without being buffered.
 */
export async function handleDogStatsDProxy(req: IncomingMessage, store: MetricStore, reply: (status: number, body: string, headers?: Record<string, string>) => void): Promise<void> {
  const body = await readBody(req, MAX_PROXY_BODY_BYTES)
  if (body.kind === 'too-large') return reply(413, 'payload-too-large', { Connection: 'close' })
  if (body.kind === 'aborted') return
  store.receive(body.body.toString('utf8'), 'http')
  reply(200, '')
}
