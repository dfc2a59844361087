/** Something that holds spans and can send them before the process goes away. */
export interface Flushable {
  readonly pending: boolean
  flushWithin(timeoutMs: number): Promise<void>
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const
/** How long a signal waits for the last traces before the process exits as it would have. */
export const EXIT_FLUSH_TIMEOUT_MS = 2000

const flushables = new Set<Flushable>()
let installed = false
let signalled = false

function flushAll(timeoutMs: number): Promise<unknown> {
  return Promise.allSettled([...flushables].map((f) => f.flushWithin(timeoutMs)))
}

let exitFlushed = false

function onBeforeExit(): void {
  // One flush, capped like a signal's: beforeExit fires again each time the flush's own work drains, and
  // with the agent down each new flush would wait for retries again (a script took 15 s to exit).
  if (exitFlushed || ![...flushables].some((f) => f.pending)) return
  exitFlushed = true
  void flushAll(EXIT_FLUSH_TIMEOUT_MS)
}

function onSignal(signal: NodeJS.Signals): void {
  if (signalled) return
  signalled = true
  // Only ours: without us the default action would have ended the process, so after the flush it ends
  // the same way, killed by the same signal. With a handler of the app's, the app decides.
  const alone = process.listenerCount(signal) === 1
  void flushAll(EXIT_FLUSH_TIMEOUT_MS).then(() => {
    signalled = false
    if (!alone || process.listenerCount(signal) > 1) return
    uninstall()
    process.kill(process.pid, signal)
  })
}

function uninstall(): void {
  process.removeListener('beforeExit', onBeforeExit)
  for (const signal of SIGNALS) process.removeListener(signal, onSignal)
  installed = false
}

/** Flushes on `beforeExit`, SIGTERM and SIGINT. Installed when a tracer first has something to send. */
export function registerExitFlush(flushable: Flushable): void {
  flushables.add(flushable)
  if (installed) return
  installed = true
  process.on('beforeExit', onBeforeExit)
  for (const signal of SIGNALS) process.on(signal, onSignal)
}

export function unregisterExitFlush(flushable: Flushable): void {
  flushables.delete(flushable)
  if (flushables.size === 0 && installed) uninstall()
}
