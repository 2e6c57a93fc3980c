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
  urlParts,
  endWithError,
  endWithStatus,
  type GuardOptions,
  type CreateGuardOptions,
  type GuardedRequest,
  type GuardRequestOptions,
} from './guard.js';
export { runDecided, currentDecided, runUndecided, type DecidedContext } from './context.js';
export * from './attributes.js';
