// On SIGTERM or SIGINT: stop taking requests, flush the traces, and print one JSON line with the
// tracer's export health, which the demo reads to tell whether everything reached the agent.
export function reportOnShutdown(service, tracer, stopServer) {
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    await stopServer()
    await tracer.shutdown({ timeoutMs: 3000 })
    process.stdout.write(`${JSON.stringify({ demo: 'health', service, health: tracer.health() ?? null })}\n`)
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
