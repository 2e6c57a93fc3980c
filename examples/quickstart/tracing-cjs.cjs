const { trace } = require('@opentelemetry/api');
const { SimpleSpanProcessor, TracerProvider, InMemorySpanExporter } = require('@opentelemetry/sdk-trace');
const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
process.on('exit', () => console.log(`spans: ${exporter.getFinishedSpans().map((s) => `${s.name}=${s.attributes['checkrd.policy.result']}`).join(', ')}`));
