// Colours only when a person is watching: piped output (CI, the tests) stays plain text.
const enabled = process.stdout.isTTY === true && !process.env.NO_COLOR

const CODES = { dim: 2, bold: 1, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36 }

export function paint(style, text) {
  return enabled ? `\u001b[${CODES[style]}m${text}\u001b[0m` : text
}

export function formatMs(ns) {
  const ms = ns / 1e6
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`
}
