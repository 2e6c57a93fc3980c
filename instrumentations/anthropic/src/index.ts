export { AnthropicInstrumentation, SUPPORTED_VERSIONS, type AnthropicInstrumentationConfig } from './instrumentation.js';
