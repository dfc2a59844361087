import { EventEmitter } from 'node:events'

const CHANGE = 'change'
const CLOSE = 'close'

/** Why a wait failed: the text is most of what a failing end-to-end test has to go on. */
export interface WaitMessages {
  /** The store closed first. */
  readonly closed: () => string
  /** The deadline came first. */
  readonly timedOut: () => string
}

/**
 * The waits of a store (`waitForTraces`, `waitForMetric`): each looks again at every change, and all of
 * them end when the store closes. Any number of tests may wait at once.
 */
export class Waiters {
  readonly #events = new EventEmitter()
  #closed = false

  constructor() {
    // The default cap of 10 listeners would only produce warnings.
    this.#events.setMaxListeners(0)
  }

  /** Something arrived: every wait looks again. */
  changed(): void {
    this.#events.emit(CHANGE)
  }

  /** Rejects every pending wait; later waits that are not already satisfied reject at once. */
  close(): void {
    this.#closed = true
    this.#events.emit(CLOSE)
  }

  /**
   * Resolves with what `find` returns once it returns something, now or at a change; rejects when the
   * store closes, at `timeoutMs`, or with what `find` throws.
   */
  wait<T>(find: () => T | undefined, timeoutMs: number, messages: WaitMessages): Promise<T> {
    return new Promise((resolve, reject) => {
      const settle = (fn: () => void): void => {
        clearTimeout(timer)
        this.#events.off(CHANGE, onChange)
        this.#events.off(CLOSE, onClose)
        fn()
      }
      const onChange = (): void => {
        try {
          const found = find()
          if (found !== undefined) settle(() => resolve(found))
        } catch (error) {
          settle(() => reject(error instanceof Error ? error : new Error(String(error))))
        }
      }
      const onClose = (): void => settle(() => reject(new Error(messages.closed())))
      const timer = setTimeout(() => settle(() => reject(new Error(messages.timedOut()))), timeoutMs)
      this.#events.on(CHANGE, onChange)
      this.#events.on(CLOSE, onClose)
      if (this.#closed) onClose()
      else onChange()
    })
  }
}
