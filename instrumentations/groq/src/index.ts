export { GroqInstrumentation, SUPPORTED_VERSIONS, type GroqInstrumentationConfig } from './instrumentation.js';
