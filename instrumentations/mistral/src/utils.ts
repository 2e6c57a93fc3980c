/** gen_ai.operation.name from the endpoint path (`/v1/chat/completions` → chat). */
export function operationName(url: string): string {
  const segments = (URL.parse(url)?.pathname ?? '').split('/').filter(Boolean);
  const version = segments.findIndex((s) => /^v\d+$/.test(s));
  const [resource = 'unknown', action] = version >= 0 ? segments.slice(version + 1) : segments;
  if (action === 'completions') {
    if (resource === 'chat' || resource === 'agents') return 'chat';
    if (resource === 'fim') return 'text_completion';
  }
  return resource;
}
