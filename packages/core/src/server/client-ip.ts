import { isIP } from 'node:net'

/** The headers dd-trace reads for `http.client_ip`, in its order. */
export const CLIENT_IP_HEADERS = [
  'x-forwarded-for',
  'x-real-ip',
  'true-client-ip',
  'x-client-ip',
  'forwarded',
  'forwarded-for',
  'x-cluster-client-ip',
  'fastly-client-ip',
  'cf-connecting-ip',
  'cf-connecting-ipv6'
] as const

const PRIVATE_V4 = [/^10\./, /^172\.(1[6-9]|2\d|3[01])\./, /^192\.168\./, /^127\./, /^169\.254\./, /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./, /^0\./]
const PRIVATE_V6 = [/^::1$/, /^f[cd]/i, /^fe[89ab]/i, /^::$/]

function isPrivate(ip: string): boolean {
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip
  return isIP(v4) === 4 ? PRIVATE_V4.some((r) => r.test(v4)) : PRIVATE_V6.some((r) => r.test(ip))
}

function candidates(header: string, value: string): string[] {
  const out: string[] = []
  for (const raw of value.split(',')) {
    let item = raw.trim()
    if (header === 'forwarded') {
      const match = /(?:^|;)\s*for=([^;]*)/i.exec(item)
      if (match === null) continue
      item = match[1].trim().replace(/^"|"$/g, '')
    }
    if (item.startsWith('[')) item = item.slice(1, Math.max(1, item.indexOf(']')))
    else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(item)) item = item.slice(0, item.lastIndexOf(':'))
    if (isIP(item) !== 0) out.push(item)
  }
  return out
}

/**
 * The client's address as dd-trace finds it: the first public IP in the headers, else the first private
 * one, else the socket's peer. `header` replaces the list (`DD_TRACE_CLIENT_IP_HEADER`).
 */
export function clientIp(headers: Readonly<Record<string, string | string[] | undefined>>, remoteAddress: string | undefined, header?: string): string | undefined {
  let firstPrivate: string | undefined
  for (const name of header === undefined ? CLIENT_IP_HEADERS : [header]) {
    const value = headers[name]
    if (value === undefined) continue
    for (const ip of candidates(name, Array.isArray(value) ? value.join(',') : value)) {
      if (!isPrivate(ip)) return ip
      firstPrivate ??= ip
    }
  }
  return firstPrivate ?? remoteAddress
}
