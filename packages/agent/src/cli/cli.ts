import { parseArgs } from 'node:util'
import { AGENT_VERSION, DEFAULT_MAX_TRACES, startAgent, type Agent } from '../agent.js'
import { parseFault, type Fault, type FaultOptions } from '../intake/faults.js'
import type { InfoOptions } from '../intake/info.js'
import { DEFAULT_MAX_SPANS } from '../store/intake-store.js'
import { DEFAULT_DOGSTATSD_PORT } from '../metrics/dogstatsd-udp.js'

export const DEFAULT_CLI_PORT = 8126

export const USAGE = `Usage: datadog-apm-agent [options]

A local Datadog trace intake: tracers send to it as to the Datadog Agent, and its page at / shows
what arrived as waterfalls, with a per-service summary, every protocol violation, and the runtime and
custom metrics received over DogStatsD.

Options:
  --port <n>         TCP port, 0 for any free one (default ${DEFAULT_CLI_PORT}, or DD_APM_RECEIVER_PORT)
  --host <addr>      address to listen on (default 127.0.0.1)
  --socket <path>    also listen on this Unix socket (default DD_APM_RECEIVER_SOCKET, if set)
  --max-traces <n>   trace chunks kept, oldest dropped first (default ${DEFAULT_MAX_TRACES})
  --max-spans <n>    spans kept at most (default ${DEFAULT_MAX_SPANS})
  --dogstatsd-port <n>  DogStatsD UDP port, 0 for any free one (default ${DEFAULT_DOGSTATSD_PORT}, or
                     DD_DOGSTATSD_PORT; a free one when it is taken); metrics also come on /dogstatsd/v2/proxy
  --no-dogstatsd     no DogStatsD UDP listener

What it tells clients, and how it misbehaves (to see how a tracer copes):
  --client-drop-p0s  /info says clients may compute stats and drop P0 traces
  --endpoints <list> /info's endpoints, comma-separated (default /v0.4/traces,/v0.5/traces,/v0.6/stats,
                     /dogstatsd/v2/proxy,/info; the proxy answers 404 when left out)
  --no-info          /info answers 404, as an old agent
  --fault <spec>     delay=MS, late=MS, status=CODE, garbage, truncated, reset, refuse or hangup, each with optional
                     ,times=N and ,paths=all (default: the trace endpoints); repeatable

  -h, --help         this text
  -v, --version      the version

Point a tracer at it with DD_TRACE_AGENT_URL=http://127.0.0.1:<port>.
`

export interface CliOptions {
  help: boolean
  version: boolean
  host: string
  port: number
  socketPath: string | undefined
  maxTraces: number
  maxSpans: number
  /** false: no UDP listener. */
  dogstatsdPort: number | false
  info: InfoOptions
  faults: Array<{ fault: Fault; options: FaultOptions }>
}

/** A command line that makes no sense: the message says which flag and why. */
export class CliUsageError extends Error {
  readonly code = 'ERR_DATADOG_APM_AGENT_USAGE'
}

export interface CliIo {
  out(line: string): void
  err(line: string): void
}

/** Reads the flags (which win) and the agent's own variables DD_APM_RECEIVER_PORT and DD_APM_RECEIVER_SOCKET. */
export function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}, io?: CliIo): CliOptions {
  let values
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        host: { type: 'string' },
        port: { type: 'string' },
        socket: { type: 'string' },
        'max-traces': { type: 'string' },
        'max-spans': { type: 'string' },
        'dogstatsd-port': { type: 'string' },
        'no-dogstatsd': { type: 'boolean' },
        'client-drop-p0s': { type: 'boolean' },
        endpoints: { type: 'string' },
        'no-info': { type: 'boolean' },
        fault: { type: 'string', multiple: true }
      }
    }))
  } catch (error) {
    throw new CliUsageError(error instanceof Error ? error.message : String(error))
  }
  let port = DEFAULT_CLI_PORT
  const envPort = env.DD_APM_RECEIVER_PORT
  if (values.port !== undefined) {
    port = integer('--port', values.port, 0, 65535)
  } else if (envPort !== undefined && envPort !== '') {
    try {
      port = integer('DD_APM_RECEIVER_PORT', envPort, 0, 65535)
    } catch (error) {
      io?.err(`datadog-apm-agent: ${(error as Error).message}; using ${DEFAULT_CLI_PORT}`)
    }
  }
  let dogstatsdPort: number | false = DEFAULT_DOGSTATSD_PORT
  const envStatsd = env.DD_DOGSTATSD_PORT
  if (values['no-dogstatsd'] === true) {
    if (values['dogstatsd-port'] !== undefined) throw new CliUsageError('--dogstatsd-port and --no-dogstatsd contradict each other')
    dogstatsdPort = false
  } else if (values['dogstatsd-port'] !== undefined) {
    dogstatsdPort = integer('--dogstatsd-port', values['dogstatsd-port'], 0, 65535)
  } else if (envStatsd !== undefined && envStatsd !== '') {
    try {
      dogstatsdPort = integer('DD_DOGSTATSD_PORT', envStatsd, 0, 65535)
    } catch (error) {
      io?.err(`datadog-apm-agent: ${(error as Error).message}; using ${DEFAULT_DOGSTATSD_PORT}`)
    }
  }
  const host = values.host ?? '127.0.0.1'
  if (host === '') throw new CliUsageError('--host must not be empty')
  const socketPath = values.socket ?? (env.DD_APM_RECEIVER_SOCKET || undefined)
  if (socketPath === '') throw new CliUsageError('--socket must not be empty')
  const info: InfoOptions = {}
  if (values['client-drop-p0s'] === true) info.clientDropP0s = true
  if (values['no-info'] === true) info.enabled = false
  if (values.endpoints !== undefined) {
    const endpoints = values.endpoints.split(',').map((e) => e.trim()).filter((e) => e !== '')
    if (endpoints.some((e) => !e.startsWith('/'))) throw new CliUsageError(`--endpoints takes paths starting with /, got ${JSON.stringify(values.endpoints)}`)
    info.endpoints = endpoints
  }
  const faults = (values.fault ?? []).map((spec) => {
    try {
      return parseFault(spec)
    } catch (error) {
      throw new CliUsageError(`--fault ${spec}: ${(error as Error).message}`)
    }
  })
  return {
    help: values.help === true,
    version: values.version === true,
    host,
    port,
    socketPath,
    maxTraces: values['max-traces'] === undefined ? DEFAULT_MAX_TRACES : integer('--max-traces', values['max-traces'], 1, Number.MAX_SAFE_INTEGER),
    maxSpans: values['max-spans'] === undefined ? DEFAULT_MAX_SPANS : integer('--max-spans', values['max-spans'], 1, Number.MAX_SAFE_INTEGER),
    dogstatsdPort,
    info,
    faults
  }
}

function integer(name: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN
  if (!(value >= min && value <= max)) throw new CliUsageError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`)
  return value
}

/**
 * Runs the intake until SIGINT or SIGTERM. Resolves with the exit code: 0 after a clean stop, 2 for a
 * usage error, 1 when the intake cannot start (a busy port, say).
 */
export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  let options: CliOptions
  try {
    options = parseCliArgs(argv, env, io)
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error
    io.err(`datadog-apm-agent: ${error.message}\n\n${USAGE}`)
    return 2
  }
  if (options.help) {
    io.out(USAGE)
    return 0
  }
  if (options.version) {
    io.out(AGENT_VERSION)
    return 0
  }
  let agent: Agent
  try {
    agent = await startAgent({
      host: options.host,
      port: options.port,
      socketPath: options.socketPath,
      maxTraces: options.maxTraces,
      maxSpans: options.maxSpans,
      info: options.info,
      dogstatsdPort: options.dogstatsdPort
    })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const where = options.socketPath === undefined ? `${options.host}:${options.port}` : `${options.host}:${options.port} or ${options.socketPath}`
    io.err(`datadog-apm-agent: cannot listen on ${where}: ${code === 'EADDRINUSE' ? 'the address is in use (another agent? try --port 0)' : (error as Error).message}`)
    return 1
  }
  io.out(`datadog-apm local intake ${AGENT_VERSION}`)
  io.out(`  traces  ${agent.url}   (DD_TRACE_AGENT_URL=${agent.url})`)
  if (agent.socketUrl !== undefined) io.out(`  socket  ${agent.socketUrl}`)
  if (agent.dogstatsdPort !== undefined) {
    io.out(`  metrics udp://${options.host.includes(':') ? `[${options.host}]` : options.host}:${agent.dogstatsdPort}   (DD_DOGSTATSD_PORT=${agent.dogstatsdPort}), and ${agent.url}/dogstatsd/v2/proxy`)
  }
  if (agent.dogstatsdNotice !== undefined) io.err(`datadog-apm-agent: ${agent.dogstatsdNotice}; tracers reach it through the proxy endpoint, or with DD_DOGSTATSD_PORT=${agent.dogstatsdPort}`)
  io.out(`  page    ${agent.url}/`)
  for (const { fault, options: faultOptions } of options.faults) agent.faults.add(fault, faultOptions)
  if (options.faults.length > 0) io.out(`  faults  ${options.faults.map((f) => JSON.stringify({ ...f.fault, ...f.options })).join(' ')}`)
  io.out(`  keeps the last ${options.maxTraces} trace chunks, at most ${options.maxSpans} spans. Ctrl-C to stop.`)
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
  await agent.close()
  io.out('datadog-apm local intake stopped')
  return 0
}
