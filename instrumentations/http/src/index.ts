export { HttpInstrumentation } from './instrumentation.js';
export type { HttpInstrumentationConfig } from './types.js';
