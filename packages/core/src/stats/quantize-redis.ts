// The agent's Redis resource quantization (obfuscate `QuantizeRedisString`, libdatadog
// `quantize_redis_string`): the command names of at most three commands, arguments dropped, `...` when
// more followed or a command was cut. Stats groups of `redis`/`valkey` spans use it when the tracer
// obfuscates stats resources itself (the agent then skips its own pass).

const COMPOUND = new Set(['CLIENT', 'CLUSTER', 'COMMAND', 'CONFIG', 'DEBUG', 'SCRIPT'])
const TRUNCATED = '...'
const MAX_COMMANDS = 3

export function quantizeRedis(query: string): string {
  const commands: string[] = []
  let truncated = false
  for (const raw of query.split('\n')) {
    if (commands.length >= MAX_COMMANDS) break
    // Spaces only, as the agent trims and splits: a tab stays part of a token.
    const tokens = raw.split(' ').filter((t) => t !== '')
    const first = tokens[0]
    if (first === undefined) continue
    if (first.endsWith(TRUNCATED)) {
      truncated = true
      continue
    }
    let command = first.toUpperCase()
    const sub = tokens[1]
    if (COMPOUND.has(command) && sub !== undefined) {
      if (sub.endsWith(TRUNCATED)) {
        truncated = true
        continue
      }
      command = `${command} ${sub.toUpperCase()}`
    }
    commands.push(command)
    truncated = false
  }
  const text = commands.join(' ')
  if (commands.length === MAX_COMMANDS || truncated) return text === '' ? TRUNCATED : `${text} ${TRUNCATED}`
  return text
}
