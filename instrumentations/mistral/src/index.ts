export { MistralInstrumentation, SUPPORTED_VERSIONS, type MistralInstrumentationConfig } from './instrumentation.js';
