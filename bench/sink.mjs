// A trace sink for benchmarks: accepts any payload, reads and discards the body, answers as the agent
// does. Run as its own process so its CPU is not counted against the tracer being measured.
import http from 'node:http'

const answer = JSON.stringify({ rate_by_service: { 'service:,env:': 1 } })
let payloads = 0
let bytes = 0
const server = http.createServer((req, res) => {
  req.on('data', (chunk) => (bytes += chunk.length))
  req.on('end', () => {
    payloads++
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(answer)
  })
})
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`)
})
process.on('SIGTERM', () => {
  process.stderr.write(`sink: ${payloads} payloads, ${bytes} bytes\n`)
  process.exit(0)
})
