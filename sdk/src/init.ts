/**
 * `init` and `instrument*`: the three-line setup of the seed's quickstart.
 *
 *   await init({ agentId: 'checkout-agent', policy: 'policy.yaml' });
 *   instrumentOpenAI();
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
import { OpenAIInstrumentation } from '@checkrd/instrumentation-openai';
import type { EngineOptions, PolicyDocument } from '@checkrd/core';

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

type Vendor = 'openai';
interface Loaded {
  cjs?: unknown;
  esm?: unknown;
}

const state: {
  loaded: Partial<Record<Vendor, Loaded>>;
  fetch?: FetchInstrumentation;
  openai?: OpenAIInstrumentation;
  tracerProvider?: TracerProvider;
} = { loaded: {} };

function env(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

async function loadVendor(name: Vendor): Promise<Loaded> {
  const out: Loaded = {};
  const req = createRequire(join(process.cwd(), 'package.json'));
  try {
    out.cjs = req(name);
  } catch {
    // not installed for the app
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
  state.loaded.openai ??= await loadVendor('openai');
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

/** Guards the openai SDK (and fetch beneath it). Idempotent; works before or after openai is imported. */
export function instrumentOpenAI(): void {
  requireInit('instrumentOpenAI');
  instrumentFetch();
  state.openai ??= withProvider(new OpenAIInstrumentation());
  state.openai.enable();
  const loaded = state.loaded.openai;
  for (const mod of [loaded?.cjs, loaded?.esm]) if (mod) state.openai.patchClient(mod as never);
}

/** Every installed vendor SDK, plus fetch/undici. Returns what is covered. */
export function instrument(): { covered: string[] } {
  requireInit('instrument');
  const covered = ['fetch', 'undici'];
  instrumentFetch();
  if (state.loaded.openai?.cjs || state.loaded.openai?.esm) {
    instrumentOpenAI();
    covered.push('openai');
  }
  return { covered };
}

/** Unpatches everything and removes the guard. */
export async function shutdown(): Promise<void> {
  const loaded = state.loaded.openai;
  for (const mod of [loaded?.cjs, loaded?.esm]) if (mod && state.openai) state.openai.unpatchClient(mod as never);
  state.openai?.disable();
  state.fetch?.disable();
  state.openai = undefined;
  state.fetch = undefined;
  setGlobalGuard(undefined);
  const p = state.tracerProvider as { forceFlush?: () => Promise<void> } | undefined;
  await p?.forceFlush?.();
}
