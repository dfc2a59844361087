// A small traced job runner: the demo's first service, using nothing but @datadog-apm/core.
import { setTimeout as sleep } from 'node:timers/promises'
import { createTracer } from '@datadog-apm/core'

const tracer = createTracer({ service: 'demo-worker', env: 'demo', version: '1.0.0' })

async function job(n) {
  return tracer.trace('job.run', { resource: `job ${n % 3}`, type: 'worker' }, async (span) => {
    span.setTag('job.number', n)
    await tracer.trace('job.fetch', { type: 'http' }, () => sleep(2 + (n % 4)))
    await tracer.trace('job.store', { type: 'sql', resource: 'INSERT INTO results VALUES (?)' }, () => sleep(1))
    if (n % 5 === 4) throw new Error(`job ${n} failed`)
  })
}

const count = Number(process.argv[2] ?? 10)
for (let n = 0; n < count; n++) await job(n).catch(() => undefined)
await tracer.shutdown()
