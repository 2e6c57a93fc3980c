export { createEngine, validatePolicy, Engine, DEFAULT_BODY_LIMIT } from './engine.js';
export { CheckrdError, EngineError, PolicyInvalidError, WasmLoadError, type PolicyDiagnostic } from './errors.js';
export { bundledModule, compileVerified } from './load.js';
export { requestUrl } from './url.js';
export { ABI_VERSION } from './abi.js';
export { WASM_SHA256, WASM_BYTES } from './wasm-digest.js';
export type * from './types.js';
