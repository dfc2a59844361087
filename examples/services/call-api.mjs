// The web service's one outbound call: a plain fetch, and nothing else. The trace travels with it because
// the tracer follows fetch through undici's diagnostics channels from the moment it exists: it makes an
// http.request span for the call and adds the trace headers, which the api's plugin continues the trace from.
export async function callApi(base, path, init = {}) {
  const response = await fetch(new URL(path, base), init)
  const body = await response.json().catch(() => null)
  return { status: response.status, body }
}
