export { parsePolicy, loadPolicyFile, type LoadedPolicy, type ParseOptions } from './load.js';
export { hashPolicy } from './hash.js';
export { formatDiagnostic, PolicyInvalidError, type PolicyDiagnostic } from './errors.js';
export { MAX_POLICY_BYTES } from './yaml.js';
export { policySchema } from './schema.js';
