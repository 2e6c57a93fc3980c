/**
 * `init` and `instrument*`: the three-line setup of the seed's quickstart.
 *
 *   await init({ agentId: 'checkout-agent', policy: 'policy.yaml' });
 *   instrumentOpenAI();                     // or instrument() for every installed vendor SDK
 *
 * init loads and validates the policy, builds the engine and installs the guard every instrumentation
 * uses. It also loads the installed vendor SDKs' module objects (CommonJS and ESM), so that
 * instrument*() can patch them synchronously whether the app imported the SDK before or after.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { trace, type TracerProvider } from '@opentelemetry/api';
import { createGuard, getGlobalGuard, setGlobalGuard, type Guard } from '@checkrd/instrumentation-common';
import { FetchInstrumentation } from '@checkrd/instrumentation-fetch';
import { HttpInstrumentation } from '@checkrd/instrumentation-http';
import type { EngineOptions, PolicyDocument } from '@checkrd/core';
import { VENDORS, type VendorInstrumentation, type VendorName } from './vendors.js';

export interface InitOptions {
  /** The agent's id (CHECKRD_AGENT_ID). */
  agentId?: string;
  /** A policy file path, YAML text, or the parsed object (CHECKRD_POLICY: a path). */
  policy?: string | PolicyDocument;
  /** Overrides the policy's mode (CHECKRD_MODE). */
  mode?: 'enforce' | 'dry_run';
  /** What a request gets when the engine fails: 'deny' (default) or 'allow' (CHECKRD_ON_ENGINE_ERROR). */
  onEngineError?: EngineOptions['onEngineError'];
  /** Where spans go; default: the global tracer provider. */
  tracerProvider?: TracerProvider;
}

interface Loaded {
  cjs?: unknown;
  esm?: unknown;
}

const state: {
  loaded: Partial<Record<VendorName, Loaded>>;
  vendors: Partial<Record<VendorName, VendorInstrumentation>>;
  fetch?: FetchInstrumentation;
  http?: HttpInstrumentation;
  tracerProvider?: TracerProvider;
} = { loaded: {}, vendors: {} };

function env(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** The app's copy of a vendor SDK, as CommonJS exports and as an ESM namespace (either may be absent). */
async function loadVendor(name: string): Promise<Loaded> {
  const out: Loaded = {};
  const req = createRequire(join(process.cwd(), 'package.json'));
  try {
    out.cjs = req(name);
  } catch {
    // not installed for the app (or ESM-only)
  }
  try {
    out.esm = await import(name);
  } catch {
    // not resolvable from here
  }
  return out;
}

/** Loads the policy and installs the guard. Calling it again replaces the policy; nothing is doubled. */
export async function init(opts: InitOptions = {}): Promise<Guard> {
  const agentId = opts.agentId ?? env('CHECKRD_AGENT_ID');
  const policy = opts.policy ?? env('CHECKRD_POLICY');
  if (!agentId) throw new TypeError('checkrd.init: agentId is required (or set CHECKRD_AGENT_ID)');
  if (!policy) throw new TypeError('checkrd.init: policy is required: a file path, YAML text or an object (or set CHECKRD_POLICY)');
  const modeEnv = env('CHECKRD_MODE');
  const mode = opts.mode ?? (modeEnv === 'enforce' || modeEnv === 'dry_run' ? modeEnv : undefined);
  const onEngineErrorEnv = env('CHECKRD_ON_ENGINE_ERROR');
  const onEngineError = opts.onEngineError ?? (onEngineErrorEnv === 'allow' ? 'allow' : 'deny');
  const guard = await createGuard({ agentId, policy, onEngineError, ...(mode ? { mode } : {}) });
  setGlobalGuard(guard);
  state.tracerProvider = opts.tracerProvider;
  for (const [name, v] of Object.entries(VENDORS) as [VendorName, (typeof VENDORS)[VendorName]][]) {
    state.loaded[name] ??= await loadVendor(v.module);
  }
  return guard;
}

function requireInit(fn: string): void {
  if (!getGlobalGuard()) throw new TypeError(`checkrd.${fn}: call \`await init({ agentId, policy })\` first`);
}

function withProvider<T extends { setTracerProvider(p: TracerProvider): void }>(inst: T): T {
  inst.setTracerProvider(state.tracerProvider ?? trace.getTracerProvider());
  return inst;
}

/** Guards global fetch and undici. Idempotent. */
export function instrumentFetch(): void {
  requireInit('instrumentFetch');
  state.fetch ??= withProvider(new FetchInstrumentation());
  state.fetch.enable();
}

/** Guards node:http and node:https (axios, got, node-fetch, the AWS SDK). Idempotent. */
export function instrumentHttp(): void {
  requireInit('instrumentHttp');
  state.http ??= withProvider(new HttpInstrumentation());
  state.http.enable();
}

function isLoaded(name: VendorName): boolean {
  const l = state.loaded[name];
  return Boolean(l?.cjs || l?.esm);
}

function instrumentVendor(name: VendorName, fn: string): void {
  requireInit(fn);
  instrumentFetch();
  instrumentHttp();
  const inst = (state.vendors[name] ??= withProvider(VENDORS[name].make()));
  inst.enable();
  const loaded = state.loaded[name];
  for (const mod of [loaded?.cjs, loaded?.esm]) if (mod) inst.patchClient(mod as never);
}

/** Guards the openai SDK (and fetch/http beneath it). Idempotent; works before or after it is imported. */
export const instrumentOpenAI = (): void => instrumentVendor('openai', 'instrumentOpenAI');
/** Guards @anthropic-ai/sdk. */
export const instrumentAnthropic = (): void => instrumentVendor('anthropic', 'instrumentAnthropic');
/** Guards cohere-ai. */
export const instrumentCohere = (): void => instrumentVendor('cohere', 'instrumentCohere');
/** Guards @google/genai. */
export const instrumentGoogleGenAI = (): void => instrumentVendor('google-genai', 'instrumentGoogleGenAI');
/** Guards @mistralai/mistralai. */
export const instrumentMistral = (): void => instrumentVendor('mistral', 'instrumentMistral');
/** Guards groq-sdk. */
export const instrumentGroq = (): void => instrumentVendor('groq', 'instrumentGroq');

/** Every installed vendor SDK, plus fetch/undici and node:http. Returns the paths covered. */
export function instrument(): { covered: string[] } {
  requireInit('instrument');
  instrumentFetch();
  instrumentHttp();
  const covered = ['fetch', 'undici', 'node:http', 'node:https'];
  for (const name of Object.keys(VENDORS) as VendorName[]) {
    if (!isLoaded(name)) continue;
    instrumentVendor(name, 'instrument');
    covered.push(VENDORS[name].module);
  }
  return { covered };
}

/** Unpatches everything, removes the guard and flushes the tracer provider. */
export async function shutdown(): Promise<void> {
  for (const [name, inst] of Object.entries(state.vendors) as [VendorName, VendorInstrumentation][]) {
    const loaded = state.loaded[name];
    for (const mod of [loaded?.cjs, loaded?.esm]) if (mod) inst.unpatchClient(mod as never);
    inst.disable();
  }
  state.vendors = {};
  state.fetch?.disable();
  state.http?.disable();
  state.fetch = undefined;
  state.http = undefined;
  setGlobalGuard(undefined);
  const p = (state.tracerProvider ?? trace.getTracerProvider()) as { forceFlush?: () => Promise<void> };
  await p.forceFlush?.();
}
