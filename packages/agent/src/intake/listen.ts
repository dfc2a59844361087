import { lstat, unlink } from 'node:fs/promises'
import type { Server } from 'node:http'

/** Resolves once the server listens; rejects with the listen error (EADDRINUSE, EACCES, ...). */
export function listen(server: Server, start: (onListening: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    start(() => {
      server.off('error', reject)
      resolve()
    })
  })
}

/** Removes a socket file a dead process left behind; any other kind of file is left alone and refused. */
export async function removeStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch(ignoreMissing)
  if (stat === undefined) return
  if (!stat.isSocket()) throw new Error(`socketPath ${path} exists and is not a socket; not removing it`)
  await unlink(path).catch(ignoreMissing)
}

export function ignoreMissing(error: unknown): undefined {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
  throw error
}
