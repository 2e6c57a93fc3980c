// The checkrd package. Issue-3 work (init, instrument*) builds on these.
export { createEngine, validatePolicy, Engine, CheckrdError, EngineError, PolicyInvalidError, WasmLoadError } from '@checkrd/core';
export type { Decision, RequestFacts, EvaluateOptions, EngineOptions, PolicyDiagnostic } from '@checkrd/core';
export { parsePolicy, loadPolicyFile, hashPolicy, formatDiagnostic, type LoadedPolicy } from '@checkrd/policy';
export { main as cli } from './cli/main.js';
