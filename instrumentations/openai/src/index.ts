export { OpenAIInstrumentation, SUPPORTED_VERSIONS, type OpenAIInstrumentationConfig } from './instrumentation.js';
