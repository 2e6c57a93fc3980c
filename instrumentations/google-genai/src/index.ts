export { GoogleGenAIInstrumentation, SUPPORTED_VERSIONS, type GoogleGenAIInstrumentationConfig } from './instrumentation.js';
