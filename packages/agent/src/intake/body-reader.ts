import type { IncomingMessage } from 'node:http'

export type BodyResult =
  | { kind: 'complete'; body: Buffer }
  | { kind: 'too-large'; bytesRead: number }
  | { kind: 'aborted'; bytesRead: number }

/**
 * Reads a request body, holding at most `maxBytes` of it. Past the cap it pauses the request and answers
 * `too-large` at once, so a client streaming 100 MB never makes the intake buffer more than the cap.
 * Never rejects: a client going away mid-body is an `aborted` result, not an error.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = (result: BodyResult): void => {
      if (done) return
      done = true
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('close', onClose)
      req.off('error', onError)
      resolve(result)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > maxBytes) {
        req.pause()
        chunks.length = 0
        finish({ kind: 'too-large', bytesRead: size })
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => {
      finish({ kind: 'complete', body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size) })
    }
    const onClose = (): void => {
      if (!req.complete) finish({ kind: 'aborted', bytesRead: size })
    }
    const onError = (): void => {
      finish({ kind: 'aborted', bytesRead: size })
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('close', onClose)
    req.on('error', onError)
  })
}
