export { FetchInstrumentation, type FetchInstrumentationConfig } from './instrumentation.js';
