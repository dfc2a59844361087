#!/usr/bin/env node
// The `datadog-apm-agent` command. Kept apart from the library so importing the package starts nothing.
import { runCli } from './cli/cli.js'

const io = {
  out: (line: string): void => {
    process.stdout.write(`${line}\n`)
  },
  err: (line: string): void => {
    process.stderr.write(`${line}\n`)
  }
}

process.exitCode = await runCli(process.argv.slice(2), process.env, io)
