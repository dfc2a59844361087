import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { unlink } from 'node:fs/promises'
import { ignoreMissing, listen, removeStaleSocket } from './listen.js'

/**
 * How the intake misbehaves on purpose, so tests can show a client copes with an agent that is slow,
 * overloaded, broken or gone:
 * - `delay`: answers normally, `ms` later;
 * - `status`: reads the body, then answers `status` (413, 429, 500, 503, ...) with `body`;
 * - `garbage`: reads the body, answers 200 with bytes that are not JSON;
 * - `truncated`: reads the body, answers 200 announcing more body than it sends, then closes;
 * - `reset`: destroys the connection while the request body is arriving;
 * - `refuse`: destroys every connection as soon as it is accepted (and open ones on their next request);
 * - `late`: takes the request as usual (a payload is stored), but answers only `ms` later: a client that
 *   gave up before then cannot know the agent has it;
 * - `hangup`: takes the request as usual (a payload is stored), then closes the connection unanswered.
 * `late` and `hangup` are the agent that received a payload while its client saw a failure: the stored
 * payloads show how many times a client sent the same one.
 */
export type Fault =
  | { kind: 'delay'; ms: number }
  | { kind: 'late'; ms: number }
  | { kind: 'hangup' }
  | { kind: 'status'; status: number; body?: string }
  | { kind: 'garbage' }
  | { kind: 'truncated' }
  | { kind: 'reset' }
  | { kind: 'refuse' }

export interface FaultOptions {
  /** Requests the fault applies to, then it is gone. Default: until cleared. */
  times?: number
  /** `traces` (the trace endpoints, default), `all` (also `/info` and the rest), or a list of paths. */
  paths?: 'traces' | 'all' | readonly string[]
}

/** The fault control of a running intake (`agent.faults`). */
export interface FaultControl {
  /** Adds a fault after the active ones; the first one that matches a request applies. */
  add(fault: Fault, options?: FaultOptions): void
  /** Replaces every active fault with this one. */
  set(fault: Fault, options?: FaultOptions): void
  /** Removes every fault: the intake behaves again. */
  clear(): void
  /** Requests a fault was applied to so far. */
  readonly applied: number
  /** Faults still active. */
  readonly active: number
  /** Unlinks the Unix socket file and drops its open connections: clients get ENOENT until `restoreSocket`. */
  removeSocket(): Promise<void>
  /** Listens on the Unix socket path again (after `removeSocket`, or after the file was deleted). */
  restoreSocket(): Promise<void>
}

const TRACE_PATHS = new Set(['/v0.4/traces', '/v0.5/traces'])
const GARBAGE = Buffer.from('\u0000\u00ff<html>not json', 'latin1')

interface ActiveFault {
  fault: Fault
  left: number
  paths: FaultOptions['paths']
}

function checkFault(fault: Fault, options: FaultOptions): void {
  if (fault === null || typeof fault !== 'object') throw new TypeError('fault must be an object with a kind')
  if ((fault.kind === 'delay' || fault.kind === 'late') && !(Number.isFinite(fault.ms) && fault.ms >= 0)) throw new RangeError(`${fault.kind} ms must be >= 0, got ${fault.ms}`)
  if (fault.kind === 'status' && !(Number.isInteger(fault.status) && fault.status >= 100 && fault.status <= 599)) {
    throw new RangeError(`status must be an HTTP status 100-599, got ${fault.status}`)
  }
  if (!['delay', 'late', 'hangup', 'status', 'garbage', 'truncated', 'reset', 'refuse'].includes(fault.kind)) throw new TypeError(`unknown fault kind ${String((fault as { kind: unknown }).kind)}`)
  if (options.times !== undefined && !(Number.isInteger(options.times) && options.times >= 1)) throw new RangeError(`times must be a positive integer, got ${options.times}`)
}

/** Reads and discards a request body, then calls `then` (also when the client goes away). */
function drain(req: IncomingMessage, then: () => void): void {
  if (req.complete) {
    then()
    return
  }
  req.on('end', then)
  req.on('error', () => undefined)
  req.resume()
}

export class FaultController implements FaultControl {
  readonly #faults: ActiveFault[] = []
  readonly #timers = new Set<NodeJS.Timeout>()
  #applied = 0
  #socket: { server: Server; path: string } | undefined

  get applied(): number {
    return this.#applied
  }

  get active(): number {
    return this.#faults.length
  }

  add(fault: Fault, options: FaultOptions = {}): void {
    checkFault(fault, options)
    this.#faults.push({ fault: { ...fault }, left: options.times ?? Infinity, paths: options.paths ?? 'traces' })
  }

  set(fault: Fault, options: FaultOptions = {}): void {
    checkFault(fault, options)
    this.#faults.length = 0
    this.add(fault, options)
  }

  clear(): void {
    this.#faults.length = 0
  }

  /** Called by the intake with its Unix listener, so the socket can be removed and restored. */
  attachSocket(server: Server, path: string): void {
    this.#socket = { server, path }
  }

  async removeSocket(): Promise<void> {
    if (this.#socket === undefined) throw new Error('the intake has no Unix socket (start it with socketPath)')
    await unlink(this.#socket.path).catch(ignoreMissing)
    // As when the agent restarts: open keep-alive connections go too, so clients must connect anew.
    this.#socket.server.closeAllConnections()
  }

  async restoreSocket(): Promise<void> {
    const socket = this.#socket
    if (socket === undefined) throw new Error('the intake has no Unix socket (start it with socketPath)')
    const { server, path } = socket
    if (server.listening) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    }
    await removeStaleSocket(path)
    await listen(server, (cb) => server.listen(path, cb))
  }

  /** For the intake's servers: with a `refuse` fault active, a new connection is destroyed at once. */
  onConnection(socket: Socket): void {
    const active = this.#faults.find((f) => f.fault.kind === 'refuse')
    if (active === undefined) return
    this.#applied++
    active.left--
    if (active.left <= 0) this.#faults.splice(this.#faults.indexOf(active), 1)
    socket.destroy()
  }

  #match(path: string): ActiveFault | undefined {
    for (const active of this.#faults) {
      const paths = active.paths
      const hit = paths === 'all' || (paths === 'traces' || paths === undefined ? TRACE_PATHS.has(path) : paths.includes(path))
      if (hit) return active
    }
    return undefined
  }

  /**
   * Applies the first matching fault to a request. Returns false when none applies (the intake answers
   * as usual); true when the fault took the request over. A `delay` calls `proceed` later.
   */
  intercept(req: IncomingMessage, res: ServerResponse, path: string, proceed: () => void): boolean {
    const active = this.#match(path)
    if (active === undefined) return false
    this.#applied++
    active.left--
    if (active.left <= 0) this.#faults.splice(this.#faults.indexOf(active), 1)
    const fault = active.fault
    switch (fault.kind) {
      case 'delay': {
        const timer = setTimeout(() => {
          this.#timers.delete(timer)
          if (!res.destroyed) proceed()
        }, fault.ms)
        this.#timers.add(timer)
        return true
      }
      case 'late':
        this.#replaceEnd(res, (end) => {
          const timer = setTimeout(() => {
            this.#timers.delete(timer)
            if (!res.destroyed) end()
          }, fault.ms)
          this.#timers.add(timer)
        })
        proceed()
        return true
      case 'hangup':
        this.#replaceEnd(res, () => req.socket.destroy())
        proceed()
        return true
      case 'status':
        drain(req, () => {
          const body = fault.body ?? defaultBody(fault.status)
          if (res.headersSent || res.destroyed) return
          res.writeHead(fault.status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) })
          res.end(body)
        })
        return true
      case 'garbage':
        drain(req, () => {
          if (res.headersSent || res.destroyed) return
          res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': GARBAGE.length })
          res.end(GARBAGE)
        })
        return true
      case 'truncated':
        drain(req, () => {
          if (res.headersSent || res.destroyed) return
          res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 1000 })
          res.write('{"rate_by_service":{"serv', () => res.socket?.destroy())
        })
        return true
      case 'reset': {
        const destroy = (): void => {
          req.socket.destroy()
        }
        if (req.complete) destroy()
        else {
          req.once('data', destroy)
          req.once('end', destroy)
        }
        return true
      }
      case 'refuse':
        req.socket.destroy()
        return true
    }
  }

  /**
   * Lets the intake handle the request as usual, but hands its answer to `instead` (which may send it
   * later by calling `end`, or never): headers go out with `end`, so nothing of the answer is sent before.
   */
  #replaceEnd(res: ServerResponse, instead: (end: () => void) => void): void {
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse
    const replaced = (...args: unknown[]): ServerResponse => {
      instead(() => end(...args))
      return res
    }
    res.end = replaced as ServerResponse['end']
  }

  /** Stops pending delays (the intake is closing). */
  close(): void {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    this.#faults.length = 0
  }
}

function defaultBody(status: number): string {
  switch (status) {
    case 413:
      return 'payload-too-large'
    case 429:
      return 'too-many-requests'
    case 400:
      return 'bad-request'
    default:
      return status >= 500 ? 'internal-error' : `status-${status}`
  }
}

/**
 * Parses a fault written for a command line: `delay=10000`, `late=3000`, `status=503`, `status=413,times=2`,
 * `garbage`, `truncated`, `reset`, `refuse`, `hangup`, each optionally with `,times=N` and `,paths=all`.
 * Throws a TypeError that names the problem.
 */
export function parseFault(spec: string): { fault: Fault; options: FaultOptions } {
  const parts = spec.split(',').map((p) => p.trim()).filter((p) => p !== '')
  const [head, ...rest] = parts
  if (head === undefined) throw new TypeError('empty fault; expected e.g. status=503,times=3')
  const [kind, value] = head.split('=', 2) as [string, string | undefined]
  const number = (text: string | undefined, what: string): number => {
    const n = Number(text)
    if (text === undefined || text === '' || !Number.isFinite(n)) throw new TypeError(`fault ${what} needs a number, got ${JSON.stringify(text)}`)
    return n
  }
  let fault: Fault
  switch (kind) {
    case 'delay':
    case 'late':
      fault = { kind, ms: number(value, kind) }
      break
    case 'status':
      fault = { kind, status: number(value, 'status') }
      break
    case 'garbage':
    case 'truncated':
    case 'reset':
    case 'refuse':
    case 'hangup':
      fault = { kind }
      break
    default:
      throw new TypeError(`unknown fault ${JSON.stringify(kind)}; expected delay=MS, late=MS, status=CODE, garbage, truncated, reset, refuse or hangup`)
  }
  const options: FaultOptions = {}
  for (const part of rest) {
    const [key, v] = part.split('=', 2) as [string, string | undefined]
    if (key === 'times') options.times = number(v, 'times')
    else if (key === 'paths' && v === 'all') options.paths = 'all'
    else if (key === 'paths' && v === 'traces') options.paths = 'traces'
    else throw new TypeError(`unknown fault option ${JSON.stringify(part)}; expected times=N or paths=all|traces`)
  }
  checkFault(fault, options)
  return { fault, options }
}
