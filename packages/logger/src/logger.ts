import { checkOptionNames, getTracer, type DiagnosticSink, type OptionNames, type Tracer, type TracerConfig } from '@datadog-apm/core'
import { correlatedSpan, idleLineFragment, spanLineFragment } from './correlation.js'
import { stderrSink, warn, warnOnce } from './diagnostics.js'
import { LEVELS, METHOD_LEVELS, levelFromEnv, levelOption, type LevelName } from './levels.js'
import { sinkFor, type LineSink, type LogStream } from './line-sink.js'
import { errorJson, fieldJson, isError, messageJson, quote, read } from './safe-json.js'

/** Options of `createLogger`. Every field is optional. */
export interface LoggerOptions {
  /** Lowest level written. Default: env `LOG_LEVEL`, else `info`. */
  level?: LevelName
  /** Written as `logger.name` on every line. Default: none. */
  name?: string
  /** Fields on every line, serialized once here. Default: none. */
  fields?: Readonly<Record<string, unknown>>
  /** Where lines go. Default: `process.stdout`. */
  stream?: LogStream
  /**
   * The tracer whose service, env, version and `logInjection` apply to lines written outside any span.
   * Default: core's default tracer, looked up at the first such line. Inside a span, the config of the
   * tracer that made the span applies.
   */
  tracer?: Tracer
  /** Where the logger's own warnings go (a bad `LOG_LEVEL`, a failing stream). Default: stderr. */
  diagnostics?: DiagnosticSink
}

/** Every option of `createLogger`, for the check that reports a misspelled one; typed so it cannot miss one. */
const LOGGER_OPTION_NAMES: OptionNames<LoggerOptions> = { level: true, name: true, fields: true, stream: true, tracer: true, diagnostics: true }

const LOGGER_HINTS = { base: "pino's base is fields here" }

/** Options of `child`. */
export interface ChildOptions {
  /** Default: the parent's level. */
  level?: LevelName
}

/**
 * A log method. Call shapes as in pino: `log.info('msg')`, `log.info({ fields }, 'msg')`,
 * `log.error(err, 'msg')` (the message defaults to the error's).
 */
export interface LogMethod {
  (message?: string): void
  (fields: object, message?: string): void
}

// Every disabled level of every logger is this one function: a disabled call is one call of an empty
// function, with no argument looked at.
function noop(): void {}

// `{"level":"info","timestamp":` per level, built once.
const PREFIXES = METHOD_LEVELS.map((name) => '{"level":"' + name + '","timestamp":')

/** What a logger and all its children share. */
export interface Shared {
  readonly sink: LineSink
  readonly tracer: Tracer | undefined
  readonly diagnostics: DiagnosticSink
  idleConfig: TracerConfig | undefined
}

function isObject(value: unknown): value is object {
  return value !== null && typeof value === 'object'
}

/** Bound fields as one prebuilt JSON fragment; keys the line owns are left out (see `#write`). */
function boundJson(option: string, fields: unknown): { json: string; hasDd: boolean } {
  if (fields === undefined) return { json: '', hasDd: false }
  if (!isObject(fields) || Array.isArray(fields)) throw new TypeError(`datadog-apm: ${option} must be an object of field names to values`)
  let json = ''
  let hasDd = false
  for (const key of Object.keys(fields)) {
    if (isOwnKey(key)) continue
    if (key === 'dd') hasDd = true
    json += fieldJson(key, read(fields, key))
  }
  return { json, hasDd }
}

/** Keys the logger writes itself: fields by these names are dropped, so a line never has two. */
function isOwnKey(key: string): boolean {
  return key === 'level' || key === 'timestamp' || key === 'message' || key === 'logger.name'
}

/**
 * A structured JSON logger. Each line: `{"level","timestamp","message","logger.name",...bound fields,
 * ...call fields,"error","dd"}`, one line per call, written synchronously to the stream.
 */
export class Logger {
  trace!: LogMethod
  debug!: LogMethod
  info!: LogMethod
  warn!: LogMethod
  error!: LogMethod
  fatal!: LogMethod
  readonly #shared: Shared
  /** `,"logger.name":…` and the bound fields, prebuilt. */
  readonly #context: string
  /** The bound fields hold a `dd`: the user's wins, ours is never added. */
  readonly #boundDd: boolean
  #level: LevelName

  /** Internal: use `createLogger` or `child`. */
  constructor(shared: Shared, context: string, boundDd: boolean, level: LevelName) {
    this.#shared = shared
    this.#context = context
    this.#boundDd = boundDd
    this.#level = level
    this.#bindMethods()
  }

  /** The lowest level written. Setting an unknown name throws a TypeError. */
  get level(): LevelName {
    return this.#level
  }

  set level(name: LevelName) {
    this.#level = levelOption('level', name)
    this.#bindMethods()
  }

  isLevelEnabled(name: LevelName): boolean {
    return Object.hasOwn(LEVELS, name) && name !== 'silent' && LEVELS[name] >= LEVELS[this.#level]
  }

  /** A logger whose lines carry `bindings`, serialized once here, after this logger's own. */
  child(bindings?: Readonly<Record<string, unknown>>, options?: ChildOptions): Logger {
    const bound = boundJson('child bindings', bindings)
    const level = options?.level === undefined ? this.#level : levelOption('level', options.level)
    return new Logger(this.#shared, this.#context + bound.json, this.#boundDd || bound.hasDd, level)
  }

  // Done at construction and on a level change, never per call: each enabled method is one small
  // closure, each disabled one the shared no-op.
  #bindMethods(): void {
    const threshold = LEVELS[this.#level]
    this.trace = threshold <= LEVELS.trace ? (a?: unknown, b?: unknown) => this.#write(0, a, b) : noop
    this.debug = threshold <= LEVELS.debug ? (a?: unknown, b?: unknown) => this.#write(1, a, b) : noop
    this.info = threshold <= LEVELS.info ? (a?: unknown, b?: unknown) => this.#write(2, a, b) : noop
    this.warn = threshold <= LEVELS.warn ? (a?: unknown, b?: unknown) => this.#write(3, a, b) : noop
    this.error = threshold <= LEVELS.error ? (a?: unknown, b?: unknown) => this.#write(4, a, b) : noop
    this.fatal = threshold <= LEVELS.fatal ? (a?: unknown, b?: unknown) => this.#write(5, a, b) : noop
  }

  #write(slot: number, a: unknown, b: unknown): void {
    try {
      let message: unknown
      let tail = ''
      let callDd = false
      if (typeof a === 'object' && a !== null) {
        message = b
        if (isError(a)) {
          if (message === undefined) message = readMessage(a)
          tail = ',"error":' + errorJson(a)
        } else {
          try {
            for (const key in a) {
              if (!Object.hasOwn(a, key) || isOwnKey(key)) continue
              if (key === 'dd') callDd = true
              tail += fieldJson(key, read(a, key))
            }
          } catch {
            // A proxy whose traps throw: the fields read so far are whole, and the line still goes out.
          }
        }
      } else {
        message = a === undefined || a === null ? b : a
      }
      let line = PREFIXES[slot] + Date.now()
      if (message !== undefined) line += ',"message":' + messageJson(message)
      line += this.#context + tail
      if (!callDd && !this.#boundDd) line += this.#dd()
      this.#shared.sink.write(line + '}\n')
    } catch (err) {
      // Only a bug of ours gets here: serializers above catch what hostile values throw.
      warn(this.#shared.diagnostics, 'write-failed', `a log line could not be built (${String(err)}); it was dropped`)
    }
  }

  #dd(): string {
    const span = correlatedSpan()
    if (span !== undefined) return spanLineFragment(span)
    const shared = this.#shared
    // Looked up at the first line outside a span, not at createLogger: a logger is usually made at
    // import time, and ESM runs imports before the code that sets DD_SERVICE or DD_ENV.
    return idleLineFragment((shared.idleConfig ??= (shared.tracer ?? getTracer()).config))
  }
}

function readMessage(err: Error): unknown {
  try {
    return err.message
  } catch {
    return undefined
  }
}

function streamOption(value: unknown): LogStream {
  if (isObject(value) && typeof (value as Partial<LogStream>).write === 'function') return value as LogStream
  throw new TypeError('datadog-apm: option stream must be a writable stream or an object with a write(line) method')
}

/** A logger; throws a TypeError naming the option when an option is invalid. */
export function createLogger(options: LoggerOptions = {}): Logger {
  if (!isObject(options)) throw new TypeError('datadog-apm: createLogger options must be an object')
  const diagnostics = options.diagnostics ?? stderrSink
  if (!isObject(diagnostics) || typeof diagnostics.write !== 'function') {
    throw new TypeError('datadog-apm: option diagnostics must be an object with a write(line) method')
  }
  if (options.tracer !== undefined && (!isObject(options.tracer) || !isObject(options.tracer.config))) {
    throw new TypeError('datadog-apm: option tracer must be a tracer from @datadog-apm/core')
  }
  checkOptionNames(options, LOGGER_OPTION_NAMES, 'createLogger', (kind, message) => warnOnce(diagnostics, kind, message), { hints: LOGGER_HINTS })
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
    throw new TypeError(`datadog-apm: option name must be a non-empty string, got ${typeof options.name === 'string' ? '""' : typeof options.name}`)
  }
  const level =
    options.level === undefined
      ? levelFromEnv(process.env.LOG_LEVEL, (message) => warn(diagnostics, `log-level:${process.env.LOG_LEVEL}`, message))
      : levelOption('level', options.level)
  const sink = sinkFor(options.stream === undefined ? process.stdout : streamOption(options.stream), diagnostics)
  const bound = boundJson('option fields', options.fields)
  const name = options.name === undefined ? '' : ',"logger.name":' + quote(options.name)
  const shared: Shared = { sink, tracer: options.tracer, diagnostics, idleConfig: undefined }
  return new Logger(shared, name + bound.json, bound.hasDd, level)
}
