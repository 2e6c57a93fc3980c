/**
 * The one typed description of the core's WebAssembly ABI (version 1). See core/src/abi.rs.
 * Data moves through the module's own buffers: pointer + length both ways, no NUL terminators.
 */
export const ABI_VERSION = 1;

/** Result bit of checkrd_evaluate/checkrd_explain: the request could not be evaluated. */
export const EVAL_ERROR = 0x8000_0000;
/** body_len sentinels in a request frame. */
export const BODY_ABSENT = 0xffff_ffff;
export const BODY_TOO_LARGE = 0xffff_fffe;
/** Size of the fixed frame header: f64 now | u32 method_len | u32 url_len | u32 header_count | u32 body_len. */
export const FRAME_HEADER = 24;

export interface CoreExports {
  readonly memory: WebAssembly.Memory;
  checkrd_abi_version(): number;
  /** Pointer to an input buffer of at least `len` bytes (reused, grows); 0 if `len` is too large. */
  checkrd_input(len: number): number;
  checkrd_output_ptr(): number;
  checkrd_output_len(): number;
  /** Input: JSON {agent, org, options}. flags bit 0: validate only. 0 valid, 1 invalid, 2 malformed. */
  checkrd_load(len: number, flags: number): number;
  checkrd_set_kill_switch(on: number): void;
  /** Packed decision, or EVAL_ERROR with a JSON error in the output. */
  checkrd_evaluate(len: number): number;
  /** As checkrd_evaluate, with the explanation JSON in the output. */
  checkrd_explain(len: number): number;
  /** Writes {limit_keys, limit_heap_bytes, memory_bytes} JSON to the output. */
  checkrd_stats(): void;
  _initialize?(): void;
}

const REQUIRED: ReadonlyArray<keyof CoreExports> = [
  'memory',
  'checkrd_abi_version',
  'checkrd_input',
  'checkrd_output_ptr',
  'checkrd_output_len',
  'checkrd_load',
  'checkrd_set_kill_switch',
  'checkrd_evaluate',
  'checkrd_explain',
  'checkrd_stats',
];

export function missingExports(exports: WebAssembly.Exports): string[] {
  return REQUIRED.filter((name) => !(name in exports));
}
