/** The vendor SDKs checkrd instruments: the module each patches, and its instrumentation. */
import { AnthropicInstrumentation } from '@checkrd/instrumentation-anthropic';
import { CohereInstrumentation } from '@checkrd/instrumentation-cohere';
import { GoogleGenAIInstrumentation } from '@checkrd/instrumentation-google-genai';
import { GroqInstrumentation } from '@checkrd/instrumentation-groq';
import { MistralInstrumentation } from '@checkrd/instrumentation-mistral';
import { OpenAIInstrumentation } from '@checkrd/instrumentation-openai';
import type { InstrumentationBase } from '@opentelemetry/instrumentation';

/** What every vendor instrumentation offers besides InstrumentationBase: patching a loaded module. */
export interface VendorInstrumentation extends InstrumentationBase {
  patchClient(mod: never): void;
  unpatchClient(mod: never): void;
}

export interface Vendor {
  /** The npm package the app imports. */
  module: string;
  make(): VendorInstrumentation;
}

export const VENDORS = {
  openai: { module: 'openai', make: () => new OpenAIInstrumentation() },
  anthropic: { module: '@anthropic-ai/sdk', make: () => new AnthropicInstrumentation() },
  cohere: { module: 'cohere-ai', make: () => new CohereInstrumentation() },
  'google-genai': { module: '@google/genai', make: () => new GoogleGenAIInstrumentation() },
  mistral: { module: '@mistralai/mistralai', make: () => new MistralInstrumentation() },
  groq: { module: 'groq-sdk', make: () => new GroqInstrumentation() },
} satisfies Record<string, Vendor>;

export type VendorName = keyof typeof VENDORS;
