/** Something that holds spans and can send them before the process goes away. */
export interface Flushable {
  /** True while it holds something to send, or spans are still open. */
  readonly pending: boolean
  /**
   * Sends what it holds, waiting at most `timeoutMs`. With `cut` the process is about to end: spans
   * still open are first finished as they are, marked with `cut` (the signal or `beforeExit`), so that
   * their traces go too.
   */
  flushWithin(timeoutMs: number, cut?: string): Promise<void>
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const
/** How long a signal waits for the last traces before the process exits as it would have. */
export const EXIT_FLUSH_TIMEOUT_MS = 2000

const flushables = new Set<Flushable>()
let installed = false
let signalled = false

function flushAll(timeoutMs: number, cut: string | undefined): Promise<unknown> {
  return Promise.allSettled([...flushables].map((f) => f.flushWithin(timeoutMs, cut)))
}

let exitFlushed = false

function onBeforeExit(): void {
  // One flush, capped like a signal's: beforeExit fires again each time the flush's own work drains, and
  // with the agent down each new flush would wait for retries again (a script took 15 s to exit).
  if (exitFlushed || ![...flushables].some((f) => f.pending)) return
  exitFlushed = true
  // The event loop is empty: nothing can finish the spans still open any more.
  void flushAll(EXIT_FLUSH_TIMEOUT_MS, 'beforeExit')
}

function onSignal(signal: NodeJS.Signals): void {
  if (signalled) return
  signalled = true
  // Only ours: without us the default action would have ended the process, so after the flush it ends
  // the same way, killed by the same signal. With a handler of the app's, the app decides.
  // Only then are open spans cut short: the process ends now. An app's own handler may be shutting down
  // gracefully, finishing the requests in flight, and their spans with them.
  const alone = process.listenerCount(signal) === 1
  void flushAll(EXIT_FLUSH_TIMEOUT_MS, alone ? signal : undefined).then(() => {
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

/**
 * Flushes on `beforeExit`, SIGTERM and SIGINT. A tracer registers when it is created (with an exporter
 * that holds traces), so that a signal during its very first request still sends that request's trace.
 */
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
