import { createSocket, type Socket } from 'node:dgram'
import { isIP } from 'node:net'
import type { MetricStore } from './metric-store.js'

/** DogStatsD's port. */
export const DEFAULT_DOGSTATSD_PORT = 8125
/** The agent's default read buffer (`dogstatsd_buffer_size`): longer datagrams are cut, as there. */
const MAX_DATAGRAM_BYTES = 8192

export interface DogStatsDListener {
  readonly socket: Socket
  readonly port: number
  /** Set when the port asked for was taken and a free one was used instead: says which and why. */
  readonly notice: string | undefined
}

function bind(socket: Socket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, host, () => {
      socket.off('error', reject)
      resolve()
    })
  })
}

/**
 * Listens for DogStatsD datagrams on `host:port` and hands each to the store. When `port` is taken (a
 * real agent's DogStatsD, another intake), it listens on a free port instead and says so in `notice`,
 * rather than failing the whole intake for want of metrics.
 */
export async function listenDogStatsD(store: MetricStore, host: string, port: number): Promise<DogStatsDListener> {
  const type = isIP(host) === 6 ? 'udp6' : 'udp4'
  const open = (): Socket => {
    const socket = createSocket(type)
    socket.on('message', (message) => store.receive(message.subarray(0, MAX_DATAGRAM_BYTES).toString('utf8'), 'udp'))
    return socket
  }
  let socket = open()
  let notice: string | undefined
  try {
    await bind(socket, port, host)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    socket.close()
    if (port === 0 || (code !== 'EADDRINUSE' && code !== 'EACCES')) throw error
    socket = open()
    await bind(socket, 0, host)
    notice = `DogStatsD port ${port} is ${code === 'EADDRINUSE' ? 'in use' : 'not allowed'}; listening on ${socket.address().port} instead`
  }
  // A socket error after binding (none is expected for a receiving socket) must not end the intake.
  socket.on('error', () => {})
  return { socket, port: socket.address().port, notice }
}
