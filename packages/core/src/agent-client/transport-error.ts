import type { FailureStage, TransportFailure } from './transport.js'

/** A failed send: a stable code, as Node's own network errors have, and how far the request got. */
export class TransportError extends Error implements TransportFailure {
  readonly code: string
  readonly stage: FailureStage

  constructor(code: string, message: string, stage: FailureStage, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'TransportError'
    this.code = code
    this.stage = stage
  }
}

/** The code of a socket's error (`ECONNRESET`, a TLS code, ...), or its name when it has none. */
export function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : err instanceof Error ? err.name : String(err)
}
