export { CohereInstrumentation, SUPPORTED_VERSIONS, type CohereInstrumentationConfig } from './instrumentation.js';
