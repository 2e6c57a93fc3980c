
/** gen_ai.provider.name values (semantic-conventions registry, gen_ai.provider.name members). */
export const PROVIDER_GEMINI = 'gcp.gemini'; // generativelanguage.googleapis.com, "also known as the AI Studio API"
export const PROVIDER_VERTEX = 'gcp.vertex_ai'; // aiplatform.googleapis.com
export const PROVIDER_UNKNOWN = 'gcp.gen_ai'; // "any Google generative AI endpoint … when specific backend is unknown"

const VERSION = /^v\d+((alpha|beta)\d*)?$/;

export interface RequestShape {
  operation: string;
  model?: string;
}

/**
 * gen_ai.operation.name and gen_ai.request.model from a Gemini API / Vertex AI URL:
 * `…/models/{model}:{method}` (Vertex: `…/publishers/google/models/{model}:{method}`), else the resource
 * after the version (and after `projects/{p}/locations/{l}`), e.g. `files`, `cachedContents`.
 */
export function requestShape(url: string, method: string, bodyModel?: string): RequestShape {
  const path = URL.parse(url)?.pathname ?? '';
  const call = /\/(?:models|tunedModels)\/([^/:]+):([A-Za-z]+)$/.exec(path);
  if (call) return { model: decodeURIComponent(call[1]!), operation: methodOperation(call[2]!) };
  const segments = path.split('/').filter(Boolean);
  let rest = segments.slice(segments.findIndex((s) => VERSION.test(s)) + 1);
  if (rest[0] === 'projects' && rest[2] === 'locations') rest = rest.slice(4);
  const resource = rest[0] ?? 'unknown';
  // The Interactions API (the "NextGen" surface): creating one runs a model, or an agent.
  if (resource === 'interactions' && rest.length === 1 && method.toUpperCase() === 'POST') {
    return bodyModel ? { operation: 'generate_content', model: bodyModel } : { operation: 'invoke_agent' };
  }
  return bodyModel ? { operation: resource, model: bodyModel } : { operation: resource };
}

function methodOperation(method: string): string {
  switch (method) {
    case 'generateContent':
    case 'streamGenerateContent':
      return 'generate_content';
    case 'embedContent':
    case 'batchEmbedContents':
      return 'embeddings';
    default:
      return method.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  }
}

/** The provider a URL's host names; `gcp.gen_ai` when it names none (a proxy, a local server). */
export function providerOfUrl(url: string): string {
  const u = URL.parse(url);
  const host = u?.hostname ?? '';
  if (host === 'aiplatform.googleapis.com' || host.endsWith('-aiplatform.googleapis.com') || host.endsWith('.aiplatform.googleapis.com')) return PROVIDER_VERTEX;
  if (host === 'generativelanguage.googleapis.com') return PROVIDER_GEMINI;
  if (/\/projects\/[^/]+\/locations\//.test(u?.pathname ?? '')) return PROVIDER_VERTEX;
  return PROVIDER_UNKNOWN;
}

export { bodyFacts } from '@checkrd/instrumentation-common';
