export { PolicyDeniedError, isPolicyDenied, policyDenial } from './errors.js';
export {
  Guard,
  createGuard,
  loadPolicyInput,
  setGlobalGuard,
  getGlobalGuard,
  resolveGuard,
  guardRequest,
  httpAttributes,
  bodyFacts,
  urlParts,
  endWithError,
  recordError,
  endWithStatus,
  recordResponseStatus,
  type GuardOptions,
  type CreateGuardOptions,
  type GuardedRequest,
  type GuardRequestOptions,
} from './guard.js';
export { runDecided, currentDecided, runUndecided, isDecided, type DecidedContext } from './context.js';
export {
  tapResponse,
  openaiExtractor,
  anthropicExtractor,
  type ResponseFacts,
  type ResponseExtractor,
} from './response.js';
export * from './attributes.js';
export {
  speakeasyTargets,
  wrapCreateRequest,
  wrapDo,
  wrapRequest,
  modelOf,
  type CreateRequestFn,
  type DoFn,
  type RequestFn,
  type SpeakeasyHost,
  type SpeakeasyResult,
  type SpeakeasyTargets,
} from './speakeasy.js';
export {
  isStainlessProto,
  stainlessPrepareRequest,
  stainlessFetchWithTimeout,
  type StainlessClientProto,
  type StainlessVendor,
} from './stainless.js';
