/*
 * The options of outgoing request spans live with the config because `integrations.http` and
 * `httpClients` are resolved against the environment there; the instrumentation reads them as they are.
 */

/** Options of `tracer.instrumentHttpClients(options)` / `createTracer({ httpClients })`. Every field is optional. */
export interface HttpClientOptions {
  /**
   * Whether to add trace headers to a request, given its URL without the query
   * (`https://api.example.com:8443/v1/users`). Return false for third parties that must not see your
   * trace ids. Default: every request. A filter that throws counts as false.
   */
  propagationFilter?: (url: string) => boolean
  /** Requests neither traced nor given headers, by the same URL. Default: none. */
  skip?: (url: string) => boolean
  /** True when a status marks the client span as failed. Env `DD_TRACE_HTTP_CLIENT_ERROR_STATUSES`; default 400-499. */
  validateStatus?: (status: number) => boolean
  /** Service of the client spans. Default: the parent span's, else the tracer's. */
  service?: string
  /**
   * On Node versions without the `http.client.request.created` diagnostics channel (before 22.12 and
   * 23.2, so Node 20), wrap `http.request`/`http.get`/`https.request`/`https.get` so node:http calls get
   * client spans and headers. Default false: there, node:http is left alone. Newer Node needs no
   * wrapping and ignores this.
   */
  patchNodeHttp?: boolean
}
