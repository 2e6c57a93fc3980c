// Measuring and printing: per-call latency samples, percentiles, the machine, fixed-width tables.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

const gc = globalThis.gc ?? (() => {});

/**
 * Times `n` calls of `fn` one by one (process.hrtime.bigint() around each call) after `warmup` untimed
 * calls, and returns the sorted per-call times in nanoseconds. The timer's own cost is included; see
 * timerOverhead().
 */
export function sample(fn, n, warmup) {
  for (let i = 0; i < warmup; i++) fn();
  gc();
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = process.hrtime.bigint();
    fn();
    t[i] = Number(process.hrtime.bigint() - a);
  }
  return t.sort();
}

/** What two back-to-back hrtime.bigint() reads cost: the floor of every sample. */
export function timerOverhead() {
  return summarize(sample(() => {}, 200_000, 20_000));
}

export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function summarize(sorted) {
  let sum = 0;
  for (const x of sorted) sum += x;
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), p999: percentile(sorted, 99.9), mean: sum / sorted.length, max: sorted[sorted.length - 1] };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** ns → "1.23 µs" / "456 ns" / "12.3 ms". */
export function fmtNs(ns) {
  if (ns < 1_000) return `${ns.toFixed(0)} ns`;
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(ns < 10_000 ? 2 : ns < 100_000 ? 1 : 0)} µs`;
  return `${(ns / 1_000_000).toFixed(2)} ms`;
}

export function fmtMs(ms) {
  return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
}

export function fmtBytes(b) {
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${(b / 1024 / 1024).toFixed(2)} MiB`;
}

export function fmtOps(ops) {
  if (ops >= 1e6) return `${(ops / 1e6).toFixed(2)} M`;
  if (ops >= 1e3) return `${(ops / 1e3).toFixed(1)} k`;
  return ops.toFixed(0);
}

export function fmtRatio(r) {
  return `${r.toFixed(r < 10 ? 2 : 1)}×`;
}

/** Prints rows (arrays of cells) as a table; numeric-looking cells are right-aligned unless `align[c]` is 'l'. */
export function table(header, rows, align = []) {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => String(r[c] ?? '').length)));
  const right = (s) => /^[\d.,<>~≈-]+ ?(ns|µs|ms|M|k|×|%|B|KiB|MiB)?$/.test(s);
  const line = (r) => r.map((cell, c) => (align[c] !== 'l' && right(String(cell)) && c > 0 ? String(cell).padStart(widths[c]) : String(cell).padEnd(widths[c]))).join('  ').trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of rows) out.push(line(r));
  return out.join('\n');
}

/** CPU model, cores, Node, OS and the checkout: what RESULTS.md records with each run. */
export function machine() {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (k) => new RegExp(`^${k}\\s*:\\s*(.+)$`, 'm').exec(info)?.[1]?.trim();
    cpu = field('model name') ?? cpu;
    const detail = [field('cpu family') && `family ${field('cpu family')}`, field('model') && `model ${field('model')}`, field('cpu MHz') && `${Math.round(Number(field('cpu MHz')))} MHz`];
    if (detail.some(Boolean)) cpu += ` (${detail.filter(Boolean).join(', ')})`;
  } catch {
    // not Linux: os.cpus() it is
  }
  let commit = 'unknown';
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'core'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    commit = dirty ? `${head} (core/ modified)` : head;
  } catch {
    // not a git checkout
  }
  return {
    cpu,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    node: process.version,
    v8: process.versions.v8,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit,
  };
}
