// The web service's one outbound call: a plain fetch. The trace travels with it because web.mjs called
// tracer.instrumentHttpClients(): core then follows fetch through undici's diagnostics channels, makes an
// http.request span for it and adds the trace headers, which the api's plugin continues the trace from.
export async function callApi(base, path, init = {}) {
  const response = await fetch(new URL(path, base), init)
  const body = await response.json().catch(() => null)
  return { status: response.status, body }
}
