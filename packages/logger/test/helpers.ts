import { request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createTracer, type Tracer, type TracerOptions } from '@datadog-apm/core'
import { InMemoryExporter } from '@datadog-apm/core/testing'

/** A stream that keeps what it is given; `records()` parses each line, and fails on anything not one JSON line. */
export function capture() {
  const chunks: string[] = []
  const stream = {
    write(chunk: string): boolean {
      chunks.push(chunk)
      return true
    }
  }
  function lines(): string[] {
    const text = chunks.join('')
    if (text === '') return []
    if (!text.endsWith('\n')) throw new Error(`output does not end with a newline: ${JSON.stringify(text)}`)
    return text.slice(0, -1).split('\n')
  }
  function records(): Record<string, unknown>[] {
    return lines().map((line) => JSON.parse(line) as Record<string, unknown>)
  }
  return { stream, chunks, lines, records }
}

/** A diagnostics sink that keeps the warnings. */
export function warnings() {
  const seen: string[] = []
  return { sink: { write: (line: string) => void seen.push(line) }, seen }
}

export function makeTracer(options: TracerOptions = {}): Tracer {
  return createTracer({ service: 'svc', env: 'test', version: '1.2.3', exporter: new InMemoryExporter(), flushOnExit: false, ...options })
}

/** `dd` of a parsed record, typed for assertions. */
export function ddOf(record: Record<string, unknown> | undefined): Record<string, string> | undefined {
  return record?.dd as Record<string, string> | undefined
}

export function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
}

/** GET with a fresh connection per request, so no keep-alive socket outlives the test. */
export function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve(body))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}
