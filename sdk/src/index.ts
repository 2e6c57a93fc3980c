// The checkrd package: init + instrument* (issue 3), the engine and policy APIs, and the CLI.
export {
  init,
  instrument,
  instrumentFetch,
  instrumentHttp,
  instrumentOpenAI,
  instrumentAnthropic,
  instrumentCohere,
  instrumentGoogleGenAI,
  instrumentMistral,
  instrumentGroq,
  shutdown,
  type InitOptions,
} from './init.js';
export { PolicyDeniedError, isPolicyDenied, policyDenial } from '@checkrd/instrumentation-common';
export { createEngine, validatePolicy, Engine, CheckrdError, EngineError, PolicyInvalidError, WasmLoadError } from '@checkrd/core';
export type { Decision, RequestFacts, EvaluateOptions, EngineOptions, PolicyDiagnostic } from '@checkrd/core';
export { parsePolicy, loadPolicyFile, hashPolicy, formatDiagnostic, type LoadedPolicy } from '@checkrd/policy';
export { main as cli } from './cli/main.js';
