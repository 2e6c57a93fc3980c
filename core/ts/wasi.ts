/**
 * A minimal in-process WASI preview1 shim: the core does no I/O, but Rust's standard library for
 * wasm32-wasip1 links a few imports. Nothing here touches the file system, the clock or the
 * network; no ExperimentalWarning (node:wasi is not used), and it runs on any WebAssembly runtime.
 */
const ERRNO_SUCCESS = 0;
const ERRNO_BADF = 8;
const ERRNO_NOSYS = 52;

export class WasiExit extends Error {
  constructor(readonly exitCode: number) {
    super(`the engine called proc_exit(${exitCode})`);
  }
}

export interface WasiShim {
  imports: WebAssembly.Imports;
  bind(memory: WebAssembly.Memory): void;
  /** What the module wrote to stderr (a Rust panic message before an abort), bounded. */
  readonly stderr: string;
}

export function createWasiShim(): WasiShim {
  let memory: WebAssembly.Memory | undefined;
  let stderr = '';
  const view = () => new DataView(memory!.buffer);
  const decoder = new TextDecoder();
  const fns: Record<string, (...args: number[]) => number | void> = {
    fd_write(fd: number, iovs: number, iovsLen: number, nwritten: number) {
      if (!memory) return ERRNO_BADF;
      const dv = view();
      let total = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = dv.getUint32(iovs + i * 8, true);
        const len = dv.getUint32(iovs + i * 8 + 4, true);
        if (fd === 2 && stderr.length < 4096) stderr += decoder.decode(new Uint8Array(memory.buffer, ptr, len));
        total += len;
      }
      dv.setUint32(nwritten, total, true);
      return fd === 1 || fd === 2 ? ERRNO_SUCCESS : ERRNO_BADF;
    },
    random_get(buf: number, len: number) {
      // Used by the standard library's HashMap seeds inside the regex crate; decisions never depend on it.
      if (!memory) return ERRNO_BADF;
      const bytes = new Uint8Array(memory.buffer, buf, len);
      for (let off = 0; off < len; off += 65536) globalThis.crypto.getRandomValues(bytes.subarray(off, Math.min(len, off + 65536)));
      return ERRNO_SUCCESS;
    },
    environ_sizes_get(countPtr: number, sizePtr: number) {
      const dv = view();
      dv.setUint32(countPtr, 0, true);
      dv.setUint32(sizePtr, 0, true);
      return ERRNO_SUCCESS;
    },
    environ_get() {
      return ERRNO_SUCCESS;
    },
    proc_exit(code: number) {
      throw new WasiExit(code);
    },
  };
  const wasi = new Proxy(fns, {
    get(target, name: string) {
      return target[name] ?? (() => ERRNO_NOSYS);
    },
  });
  return {
    imports: { wasi_snapshot_preview1: wasi },
    bind(m) {
      memory = m;
    },
    get stderr() {
      return stderr;
    },
  };
}
