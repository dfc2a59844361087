import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'

export interface Echo {
  base: string
  port: number
  /** Headers of every request received, in order. */
  seen: IncomingHttpHeaders[]
}

/**
 * A server on 127.0.0.1 that records each request's headers and answers `/status/NNN` with that status
 * (200 otherwise); stopped when the test ends.
 */
export async function echoServer(t: TestContext, body = 'ok'): Promise<Echo> {
  const seen: IncomingHttpHeaders[] = []
  const server = createServer((req, res) => {
    seen.push(req.headers)
    const status = /^\/status\/(\d{3})/.exec(req.url ?? '')
    res.statusCode = status === null ? 200 : Number(status[1])
    res.end(body)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  const port = (server.address() as AddressInfo).port
  return { base: `http://127.0.0.1:${port}`, port, seen }
}
