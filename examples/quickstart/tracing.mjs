// A real OpenTelemetry tracer provider that prints each finished span's checkrd decision.
import { trace } from '@opentelemetry/api';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

const printer = {
  export(spans, done) {
    for (const s of spans) {
      const a = s.attributes;
      console.log(`  span "${s.name}": checkrd.policy.result=${a['checkrd.policy.result']} rule=${a['checkrd.policy.rule'] ?? '-'} reason=${a['checkrd.policy.reason']} gen_ai.request.model=${a['gen_ai.request.model']} status=${a['http.response.status_code'] ?? 'not sent'}`);
    }
    done({ code: 0 });
  },
  shutdown: async () => {},
};
export const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: printer })] });
trace.setGlobalTracerProvider(provider);
