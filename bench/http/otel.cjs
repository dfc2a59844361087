// OpenTelemetry as its users run it against Datadog: http + framework instrumentation, a batch span
// processor and the OTLP/HTTP exporter, sending to the benchmark sink.
'use strict'
const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node')
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http')
const { registerInstrumentations } = require('@opentelemetry/instrumentation')
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http')
const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express')
const { FastifyOtelInstrumentation } = require('@fastify/otel')

let fastifyOtel

exports.start = function start(framework, sinkUrl) {
  const provider = new NodeTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${sinkUrl}/v1/traces` }))]
  })
  provider.register()
  const instrumentations = [new HttpInstrumentation()]
  if (framework === 'express') instrumentations.push(new ExpressInstrumentation())
  else {
    fastifyOtel = new FastifyOtelInstrumentation()
    instrumentations.push(fastifyOtel)
  }
  registerInstrumentations({ instrumentations })
}

exports.fastifyPlugin = function fastifyPlugin() {
  return fastifyOtel.plugin()
}
