// A trace sink for benchmarks: accepts any payload, reads and discards the body, answers as the agent
// does. Run as its own process so its CPU is not counted against the tracer being measured.
import http from 'node:http'

const answer = JSON.stringify({ rate_by_service: { 'service:,env:': 1 } })
// What a current agent says of itself in `/info`, so each tracer picks what it would pick against
// a real agent: dd-trace stays on v0.4, ours moves to v0.5. `--client-drop-p0s` makes it an agent that
// lets clients compute stats and drop P0 traces (bench/micro/stats-p0.mjs).
const info = JSON.stringify({
  version: '7.60.0',
  endpoints: ['/v0.3/traces', '/v0.4/traces', '/v0.5/traces', '/v0.7/traces', '/v0.6/stats', '/info', '/telemetry/proxy/'],
  client_drop_p0s: process.argv.includes('--client-drop-p0s'),
  span_events: true,
  config: { max_request_bytes: 26214400 }
})
let payloads = 0
let bytes = 0
const server = http.createServer((req, res) => {
  req.on('data', (chunk) => (bytes += chunk.length))
  req.on('end', () => {
    payloads++
    res.writeHead(200, { 'content-type': 'application/json', 'datadog-agent-state': 'bench' })
    res.end(req.method === 'GET' && req.url === '/info' ? info : answer)
  })
})
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`)
})
process.on('SIGTERM', () => {
  process.stderr.write(`sink: ${payloads} payloads, ${bytes} bytes\n`)
  process.exit(0)
})
