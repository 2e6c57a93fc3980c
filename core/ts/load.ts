/** Loading the core: read the bundled module, check its SHA-256, compile once, instantiate per engine. */
import { ABI_VERSION, missingExports, type CoreExports } from './abi.js';
import { WasmLoadError } from './errors.js';
import { createWasiShim, type WasiShim } from './wasi.js';
import { WASM_SHA256 } from './wasm-digest.js';

let bundled: Promise<WebAssembly.Module> | undefined;

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Checks the bytes against the digest the build recorded, then compiles them. */
export async function compileVerified(bytes: Uint8Array, expected = WASM_SHA256): Promise<WebAssembly.Module> {
  const actual = await sha256Hex(bytes);
  if (actual !== expected) {
    throw new WasmLoadError(`the checkrd core module failed its integrity check: sha256 ${actual}, expected ${expected}`);
  }
  try {
    return await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (cause) {
    throw new WasmLoadError('the checkrd core module could not be compiled', { cause });
  }
}

async function readBundled(): Promise<Uint8Array> {
  const url = new URL('../wasm/checkrd_core.wasm', import.meta.url);
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return new Uint8Array(await readFile(url));
  }
  const res = await fetch(url);
  if (!res.ok) throw new WasmLoadError(`could not fetch ${url.href}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** The bundled module, read, verified and compiled once per process. */
export function bundledModule(): Promise<WebAssembly.Module> {
  bundled ??= readBundled()
    .then((b) => compileVerified(b))
    .catch((e: unknown) => {
      bundled = undefined;
      throw e instanceof WasmLoadError ? e : new WasmLoadError('could not load the checkrd core module', { cause: e });
    });
  return bundled;
}

export interface Instance {
  exports: CoreExports;
  wasi: WasiShim;
}

export function instantiate(module: WebAssembly.Module): Instance {
  const wasi = createWasiShim();
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(module, wasi.imports);
  } catch (cause) {
    throw new WasmLoadError('the checkrd core module could not be instantiated', { cause });
  }
  const missing = missingExports(instance.exports);
  if (missing.length) throw new WasmLoadError(`the checkrd core module lacks exports: ${missing.join(', ')}`);
  const exports = instance.exports as unknown as CoreExports;
  wasi.bind(exports.memory);
  exports._initialize?.();
  const abi = exports.checkrd_abi_version();
  if (abi !== ABI_VERSION) {
    throw new WasmLoadError(`the checkrd core module speaks ABI ${abi}; this host speaks ABI ${ABI_VERSION}`);
  }
  return { exports, wasi };
}
