/**
 * Span attribute names. checkrd.* are ours; the HTTP and GenAI names are OpenTelemetry semantic conventions
 * (copied here because the GenAI ones are not stable yet, and semantic-conventions/incubating is not a
 * runtime import).
 */
export const ATTR_CHECKRD_AGENT_ID = 'checkrd.agent.id';
export const ATTR_CHECKRD_POLICY_RESULT = 'checkrd.policy.result';
export const ATTR_CHECKRD_POLICY_RULE = 'checkrd.policy.rule';
export const ATTR_CHECKRD_POLICY_REASON = 'checkrd.policy.reason';
export const ATTR_CHECKRD_POLICY_MODE = 'checkrd.policy.mode';
export const ATTR_CHECKRD_POLICY_ENFORCED = 'checkrd.policy.enforced';
export const ATTR_CHECKRD_POLICY_HASH = 'checkrd.policy.hash';

export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method';
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_URL_SCHEME = 'url.scheme';
export const ATTR_URL_PATH = 'url.path';
export const ATTR_ERROR_TYPE = 'error.type';

export const ATTR_GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
export const ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
export const ATTR_GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model';
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
