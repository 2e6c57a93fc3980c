#!/usr/bin/env node
// Generates core/src/tz_data.rs (the time zone table used by core/src/tz.rs)
// and, with --samples, core/tests/fixtures/tz-samples.txt.
//
// Usage (from the repository root; plain Node >= 18, no dependencies):
//   node core/tools/gen-tz.mjs             # writes core/src/tz_data.rs
//   node core/tools/gen-tz.mjs --samples   # also writes core/tests/fixtures/tz-samples.txt
//   node core/tools/gen-tz.mjs --check     # verify only, write nothing (exit 1 if files are stale)
//
// Source: the TZif files in /usr/share/zoneinfo (or $ZONEINFO). For every zone
// name (every TZif file outside posix/ and right/, which includes the backward-
// compatible link names such as US/Eastern or Asia/Calcutta; this is a superset
// of Intl.supportedValuesOf('timeZone')) we take the POSIX TZ string from the
// TZif v2+ footer. That string describes the rules from the last transition in
// the file onwards. Some zones (Morocco, Palestine, zones whose rules changed
// recently) have explicit transitions in the TZif data that the footer does not
// reproduce; for those we also store the explicit transitions from HIST_FROM
// until the point from which the footer rule is exact. Before HIST_FROM the
// footer rule is used as an approximation (historical time is out of scope).
//
// The output is deterministic: it depends only on the zoneinfo files (and, for
// --samples, on Node's ICU time zone data, which is only used as an independent
// oracle for the fixture).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CORE = path.resolve(HERE, '..');
const ZONEINFO = process.env.ZONEINFO || '/usr/share/zoneinfo';
const OUT_RS = path.join(CORE, 'src', 'tz_data.rs');
const OUT_SAMPLES = path.join(CORE, 'tests', 'fixtures', 'tz-samples.txt');

// Explicit transitions are kept from this instant on (2024-01-01T00:00:00Z).
const HIST_FROM = Date.UTC(2024, 0, 1) / 1000;
// Names in the zoneinfo directory that are not zones (or not meaningful ones).
const SKIP_DIRS = new Set(['posix', 'right']);
const SKIP_FILES = new Set([
  'localtime', // symlink to the build machine's /etc/localtime
  'posixrules', // tzcode default-rules file, not a zone
  'Factory', // "-00": local time deliberately unspecified
]);

const args = new Set(process.argv.slice(2));
const WRITE_SAMPLES = args.has('--samples');
const CHECK_ONLY = args.has('--check');

function die(msg) {
  console.error(`gen-tz: ${msg}`);
  process.exit(1);
}

// ---------------------------------------------------------------- zone list

function listZoneFiles() {
  const out = [];
  const walk = (rel) => {
    const entries = fs.readdirSync(path.join(ZONEINFO, rel), { withFileTypes: true });
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && (SKIP_DIRS.has(e.name) || SKIP_FILES.has(e.name))) continue;
      const full = path.join(ZONEINFO, r);
      const st = fs.statSync(full);
      if (st.isDirectory()) {
        walk(r);
        continue;
      }
      const fd = fs.openSync(full, 'r');
      const magic = Buffer.alloc(4);
      fs.readSync(fd, magic, 0, 4, 0);
      fs.closeSync(fd);
      if (magic.toString('latin1') !== 'TZif') continue; // zone.tab, tzdata.zi, leapseconds, ...
      out.push(r);
    }
  };
  walk('');
  return out.sort(byteCmp);
}

function byteCmp(a, b) {
  // All names are ASCII, so UTF-16 order equals Rust's byte order for &str.
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------- TZif

function readTZif(file) {
  const b = fs.readFileSync(path.join(ZONEINFO, file));
  const hdr = (off) => {
    if (b.toString('latin1', off, off + 4) !== 'TZif') die(`${file}: bad magic at ${off}`);
    return {
      version: b[off + 4],
      isutcnt: b.readUInt32BE(off + 20),
      isstdcnt: b.readUInt32BE(off + 24),
      leapcnt: b.readUInt32BE(off + 28),
      timecnt: b.readUInt32BE(off + 32),
      typecnt: b.readUInt32BE(off + 36),
      charcnt: b.readUInt32BE(off + 40),
    };
  };
  const h1 = hdr(0);
  if (h1.version < 0x32) die(`${file}: TZif version 1 has no footer`);
  const v1len =
    h1.timecnt * 5 + h1.typecnt * 6 + h1.charcnt + h1.leapcnt * 8 + h1.isstdcnt + h1.isutcnt;
  let p = 44 + v1len;
  const h = hdr(p);
  p += 44;
  const times = [];
  for (let i = 0; i < h.timecnt; i++) times.push(Number(b.readBigInt64BE(p + i * 8)));
  p += h.timecnt * 8;
  const idx = [];
  for (let i = 0; i < h.timecnt; i++) idx.push(b[p + i]);
  p += h.timecnt;
  const types = [];
  for (let i = 0; i < h.typecnt; i++) {
    types.push({ utoff: b.readInt32BE(p + i * 6), isdst: b[p + i * 6 + 4] });
  }
  p += h.typecnt * 6 + h.charcnt + h.leapcnt * 12 + h.isstdcnt + h.isutcnt;
  if (h.leapcnt) die(`${file}: leap seconds present (a right/ file?)`);
  if (b[p] !== 0x0a || b[b.length - 1] !== 0x0a) die(`${file}: malformed footer`);
  const footer = b.toString('latin1', p + 1, b.length - 1);
  if (footer.includes('\n')) die(`${file}: malformed footer`);
  // Offset function as a list of change points: before trans[0].t the offset
  // is type 0 (RFC 8536 3.2); entries whose offset does not change are merged.
  const trans = [];
  let cur = types[0].utoff;
  for (let i = 0; i < times.length; i++) {
    const off = types[idx[i]].utoff;
    if (off !== cur) trans.push({ t: times[i], off });
    cur = off;
  }
  return { initial: types[0].utoff, trans, lastTime: times.length ? times[times.length - 1] : null, footer };
}

// Offset in effect at UTC second t according to the TZif data (footer beyond the table).
function tzifOffset(z, rule, t) {
  if (z.lastTime !== null && t >= z.lastTime) return ruleOffset(rule, t);
  let lo = 0;
  let hi = z.trans.length; // first index with trans.t > t
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (z.trans[mid].t <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? z.initial : z.trans[lo - 1].off;
}

// ---------------------------------------------------------------- POSIX TZ rules
// Same algorithm as core/src/tz.rs (kept in sync by the fixture test).

function parsePosix(s) {
  let i = 0;
  const name = () => {
    if (s[i] === '<') {
      const j = s.indexOf('>', i);
      if (j < 0 || !/^[A-Za-z0-9+-]{3,}$/.test(s.slice(i + 1, j))) return false;
      i = j + 1;
      return true;
    }
    const m = /^[A-Za-z]{3,}/.exec(s.slice(i));
    if (!m) return false;
    i += m[0].length;
    return true;
  };
  const hms = (maxH) => {
    let sign = 1;
    if (s[i] === '+' || s[i] === '-') {
      if (s[i] === '-') sign = -1;
      i++;
    }
    const m = /^(\d{1,3})(?::(\d{2})(?::(\d{2}))?)?/.exec(s.slice(i));
    if (!m) return null;
    const hh = +m[1];
    const mm = m[2] === undefined ? 0 : +m[2];
    const ss = m[3] === undefined ? 0 : +m[3];
    if (hh > maxH || mm > 59 || ss > 59) return null;
    i += m[0].length;
    return sign * (hh * 3600 + mm * 60 + ss);
  };
  const date = () => {
    let m;
    const rest = s.slice(i);
    let d;
    if ((m = /^M(\d{1,2})\.(\d)\.(\d)/.exec(rest))) {
      d = { kind: 'M', m: +m[1], w: +m[2], d: +m[3] };
      if (d.m < 1 || d.m > 12 || d.w < 1 || d.w > 5 || d.d > 6) return null;
    } else if ((m = /^J(\d{1,3})/.exec(rest))) {
      d = { kind: 'J', n: +m[1] };
      if (d.n < 1 || d.n > 365) return null;
    } else if ((m = /^(\d{1,3})/.exec(rest))) {
      d = { kind: 'N', n: +m[1] };
      if (d.n > 365) return null;
    } else return null;
    i += m[0].length;
    let time = 7200;
    if (s[i] === '/') {
      i++;
      time = hms(167);
      if (time === null) return null;
    }
    return { ...d, time };
  };
  if (!name()) return null;
  const stdPosix = hms(24);
  if (stdPosix === null) return null;
  const std = -stdPosix;
  if (i === s.length) return { std, dst: null };
  if (!name()) return null;
  let dst = std + 3600;
  if (s[i] !== ',') {
    const d = hms(24);
    if (d === null) return null;
    dst = -d;
  }
  if (s[i] !== ',') return null;
  i++;
  const start = date();
  if (!start || s[i] !== ',') return null;
  i++;
  const end = date();
  if (!end || i !== s.length) return null;
  return { std, dst, start, end };
}

const isLeap = (y) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysFromCivil = (y, m, d) => Date.UTC(y, m - 1, d) / 86400000;
const monthLen = (y, m) => [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];

function ruleDay(r, y) {
  const jan1 = daysFromCivil(y, 1, 1);
  if (r.kind === 'J') return jan1 + r.n - 1 + (isLeap(y) && r.n >= 60 ? 1 : 0);
  if (r.kind === 'N') return jan1 + r.n;
  const first = daysFromCivil(y, r.m, 1);
  const wdFirst = (((first + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
  let day = first + ((((r.d - wdFirst) % 7) + 7) % 7) + 7 * (r.w - 1);
  if (day >= first + monthLen(y, r.m)) day -= 7;
  return day;
}

// Transitions of year y as [utcSecond, kind] with kind 0 = to std, 1 = to dst.
function ruleEvents(rule, y) {
  return [
    [ruleDay(rule.end, y) * 86400 + rule.end.time - rule.dst, 0],
    [ruleDay(rule.start, y) * 86400 + rule.start.time - rule.std, 1],
  ];
}

function ruleOffset(rule, t) {
  if (rule.dst === null) return rule.std;
  const y = new Date(t * 1000).getUTCFullYear();
  let best = null;
  let first = null;
  for (let yy = y - 1; yy <= y + 1; yy++) {
    for (const e of ruleEvents(rule, yy)) {
      const gt = (a, b) => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
      if (e[0] <= t && (best === null || gt(e, best))) best = e;
      if (first === null || gt(first, e)) first = e;
    }
  }
  const kind = best !== null ? best[1] : 1 - first[1];
  return kind === 1 ? rule.dst : rule.std;
}

// Change points of the rule's offset function in [from, to).
function ruleChanges(rule, from, to) {
  if (rule.start === undefined) return [];
  const y0 = new Date(from * 1000).getUTCFullYear() - 1;
  const y1 = new Date(to * 1000).getUTCFullYear() + 1;
  const ts = [];
  for (let y = y0; y <= y1; y++) for (const e of ruleEvents(rule, y)) if (e[0] >= from && e[0] < to) ts.push(e[0]);
  return ts;
}

// ---------------------------------------------------------------- build table

function build() {
  const names = listZoneFiles();
  const intlNames = Intl.supportedValuesOf('timeZone');
  const nameSet = new Set(names);
  for (const n of intlNames) {
    if (!nameSet.has(n)) console.error(`gen-tz: note: Intl zone ${n} has no TZif file; not in table`);
  }
  const tzdataVersion = (() => {
    const first = fs.readFileSync(path.join(ZONEINFO, 'tzdata.zi'), 'latin1').split('\n', 1)[0];
    const m = /^# version (\S+)$/.exec(first);
    if (!m) die('cannot read version from tzdata.zi');
    return m[1];
  })();

  const zones = new Map(); // name -> { footer, rule, tzif, hist, from }
  for (const name of names) {
    if (!/^[A-Za-z0-9_+\-/]+$/.test(name)) die(`unexpected zone name ${JSON.stringify(name)}`);
    const tzif = readTZif(name);
    if (tzif.footer === '') die(`${name}: empty TZif footer`);
    const rule = parsePosix(tzif.footer);
    if (!rule) die(`${name}: cannot parse footer ${JSON.stringify(tzif.footer)}`);
    for (const off of [rule.std, rule.dst]) {
      if (off !== null && off % 60 !== 0) die(`${name}: offset ${off}s not whole minutes`);
    }
    // Find the earliest instant >= HIST_FROM from which the rule alone agrees
    // with the TZif data: compare both offset functions on every interval
    // between consecutive change points, walking back from the end of the table.
    let from = HIST_FROM;
    const end = tzif.lastTime === null ? HIST_FROM : Math.max(HIST_FROM, tzif.lastTime);
    const pts = new Set([HIST_FROM]);
    for (const tr of tzif.trans) if (tr.t >= HIST_FROM && tr.t < end) pts.add(tr.t);
    for (const t of ruleChanges(rule, HIST_FROM, end)) pts.add(t);
    const sorted = [...pts].sort((a, b) => a - b);
    for (let k = sorted.length - 1; k >= 0; k--) {
      const t = sorted[k];
      if (tzifOffset(tzif, rule, t) !== ruleOffset(rule, t)) {
        from = k + 1 < sorted.length ? sorted[k + 1] : end;
        break;
      }
    }
    let hist = [];
    if (from > HIST_FROM) {
      hist.push([HIST_FROM, tzifOffset(tzif, rule, HIST_FROM)]);
      for (const tr of tzif.trans) if (tr.t > HIST_FROM && tr.t < from) hist.push([tr.t, tr.off]);
      for (const [t, off] of hist) {
        if (t % 60 !== 0 || off % 60 !== 0) die(`${name}: transition ${t}/${off} not whole minutes`);
      }
      hist = hist.map(([t, off]) => [t / 60, off]);
    }
    zones.set(name, { footer: tzif.footer, rule, tzif, hist, from: from > HIST_FROM ? from / 60 : 0 });
  }

  // Distinct (footer, history) pairs, sorted for determinism.
  const keyOf = (z) => JSON.stringify([z.footer, z.from, z.hist]);
  const ruleKeys = [...new Set([...zones.values()].map(keyOf))].sort(byteCmp);
  const ruleIndex = new Map(ruleKeys.map((k, i) => [k, i]));
  if (ruleKeys.length > 65535) die('too many rules');

  // Self-check: the rule (+ history) must reproduce the TZif data at every
  // transition (±1 s) and at hourly-ish points from HIST_FROM to 2040.
  const END_CHECK = Date.UTC(2040, 0, 1) / 1000;
  for (const [name, z] of zones) {
    const pts = [];
    for (const tr of z.tzif.trans) if (tr.t >= HIST_FROM && tr.t < END_CHECK) pts.push(tr.t - 1, tr.t, tr.t + 1);
    for (const t of ruleChanges(z.rule, HIST_FROM, END_CHECK)) pts.push(t - 1, t, t + 1);
    for (let t = HIST_FROM; t < END_CHECK; t += 86400 * 3 + 3607) pts.push(t);
    for (const t of pts) {
      const want = tzifOffset(z.tzif, z.rule, t);
      const got = tableOffset(z, t);
      if (want !== got) die(`${name}: self-check failed at ${t}: table ${got}, TZif ${want}`);
    }
  }

  return { names, zones, ruleKeys, ruleIndex, keyOf, tzdataVersion, intlNames };
}

// Mirrors Tz::offset_seconds for a zone from the generated table.
function tableOffset(z, t) {
  if (z.hist.length && t >= z.hist[0][0] * 60 && t < z.from * 60) {
    let off = z.hist[0][1];
    for (const [tm, o] of z.hist) if (tm * 60 <= t) off = o;
    return off;
  }
  return ruleOffset(z.rule, t);
}

function emitRust(b) {
  const L = [];
  L.push(`// @generated by core/tools/gen-tz.mjs from tzdata ${b.tzdataVersion} (${ZONEINFO}). DO NOT EDIT.`);
  L.push('// Regenerate with `node core/tools/gen-tz.mjs` (and `--samples` for the test fixture).');
  L.push('// Layout chosen for size in wasm; see core/src/tz.rs for how it is read.');
  L.push('');
  L.push(`pub(crate) const TZDATA_VERSION: &str = ${JSON.stringify(b.tzdataVersion)};`);
  L.push('');
  L.push('/// Rules: POSIX TZ strings from the TZif footers, indexed by ZONES.');
  L.push('#[rustfmt::skip]');
  L.push('pub(crate) static RULES: &[&str] = &[');
  b.ruleKeys.forEach((k, i) => L.push(`    ${JSON.stringify(JSON.parse(k)[0])}, // ${i}`));
  L.push('];');
  L.push('');
  L.push('/// Rules whose TZ string does not reproduce the tzdata transitions since');
  L.push('/// 2024-01-01: (rule index, unix minute from which the TZ string is exact,');
  L.push('/// explicit history as (unix minute, UTC offset in seconds) from 2024-01-01T00:00Z).');
  L.push('#[rustfmt::skip]');
  L.push('#[allow(clippy::type_complexity)]');
  L.push('pub(crate) static HISTORY: &[(u16, i32, &[(i32, i32)])] = &[');
  b.ruleKeys.forEach((k, i) => {
    const [, from, hist] = JSON.parse(k);
    if (!hist.length) return;
    L.push(`    (${i}, ${from}, &[`);
    for (let j = 0; j < hist.length; j += 4) {
      L.push('        ' + hist.slice(j, j + 4).map(([t, o]) => `(${t}, ${o}),`).join(' '));
    }
    L.push('    ]),');
  });
  L.push('];');
  L.push('');
  L.push('/// One "<IANA name> <rule index>" line per zone, sorted by bytes.');
  L.push('pub(crate) static ZONES: &str = "\\');
  for (const name of b.names) L.push(`${name} ${b.ruleIndex.get(b.keyOf(b.zones.get(name)))}`);
  L.push('";');
  L.push('');
  return L.join('\n');
}

// ---------------------------------------------------------------- samples

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function intlSample(fmtCache, zone, ms) {
  let f = fmtCache.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    fmtCache.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const localMs = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  const offset = Math.round((localMs - Math.floor(ms / 1000) * 1000) / 1000);
  return { minute: +p.hour * 60 + +p.minute, offset };
}

function emitSamples(b) {
  const rand = mulberry32(20260101);
  const FROM = Date.UTC(2026, 0, 1);
  const TO = Date.UTC(2036, 0, 1);
  const fmtCache = new Map();
  const excluded = new Map(); // zone -> reason
  const lines = [];
  const cand = [];
  // Random zones at random instants.
  for (let i = 0; i < 3000; i++) {
    const zone = b.names[Math.floor(rand() * b.names.length)];
    cand.push([zone, FROM + Math.floor(rand() * (TO - FROM))]);
  }
  // Every zone at a few random instants, and around every transition in 2027
  // and 2031 (1 ms before, at, 1 ms / 59.999 s after).
  for (const zone of b.names) {
    for (let i = 0; i < 2; i++) cand.push([zone, FROM + Math.floor(rand() * (TO - FROM))]);
    const z = b.zones.get(zone);
    for (const [y0, y1] of [[2027, 2028], [2031, 2032]]) {
      const a = Date.UTC(y0, 0, 1) / 1000;
      const e = Date.UTC(y1, 0, 1) / 1000;
      const ts = new Set(ruleChanges(z.rule, a, e));
      for (const tr of z.tzif.trans) if (tr.t >= a && tr.t < e) ts.add(tr.t);
      for (const t of [...ts].sort((x, y) => x - y)) for (const d of [-1, 0, 1, 59999]) cand.push([zone, t * 1000 + d]);
    }
  }
  // Screen every zone against the oracle on the 1st and 15th of every month
  // and at the sample instants, so that the exclusion list is complete.
  const screen = new Map(b.names.map((z) => [z, []]));
  for (let y = 2026; y < 2036; y++) {
    for (let m = 0; m < 12; m++) for (const d of [1, 15]) for (const z of b.names) screen.get(z).push(Date.UTC(y, m, d, 12));
  }
  for (const [zone, ms] of cand) screen.get(zone).push(ms);
  for (const [zone, instants] of screen) {
    for (const ms of instants) if (checkSample(zone, ms) === null) break;
  }
  function checkSample(zone, ms) {
    if (excluded.has(zone)) return null;
    const z = b.zones.get(zone);
    const t = Math.floor(ms / 1000);
    const off = tzifOffset(z.tzif, z.rule, t);
    const minute = ((Math.floor((t + off) / 60) % 1440) + 1440) % 1440;
    let intl;
    try {
      intl = intlSample(fmtCache, zone, ms);
    } catch (err) {
      excluded.set(zone, `unknown to Node's ICU (tz ${process.versions.tz})`);
      return null;
    }
    if (intl.minute !== minute || intl.offset !== off) {
      excluded.set(
        zone,
        `ICU tz ${process.versions.tz} disagrees with tzdata ${b.tzdataVersion} at ${new Date(ms).toISOString()}: ` +
          `ICU ${intl.offset}s, TZif ${off}s`,
      );
      return null;
    }
    return `${zone} ${ms} ${minute} ${off}`;
  }
  for (const [zone, ms] of cand) {
    const line = checkSample(zone, ms);
    if (line !== null) lines.push(line);
  }
  const kept = lines;
  const out = [];
  out.push(`# @generated by core/tools/gen-tz.mjs --samples. DO NOT EDIT.`);
  out.push(`# Oracle: Node ${process.versions.node} Intl.DateTimeFormat (ICU ${process.versions.icu}, tz ${process.versions.tz}),`);
  out.push(`# cross-checked against the TZif files of tzdata ${b.tzdataVersion}. Zones for which the two disagree`);
  out.push('# anywhere (sample instants, and the 1st and 15th of every month 2026-2035 at 12:00Z) are left out.');
  out.push('# Format: <zone> <unix_ms> <local minute of day> <UTC offset seconds>');
  out.push('# Excluded zones (Node\'s ICU ships a different tzdata release than the system):');
  for (const [zone, why] of [...excluded].sort((a, c) => byteCmp(a[0], c[0]))) out.push(`#   exclude ${zone}: ${why}`);
  out.push(...kept);
  out.push('');
  return { text: out.join('\n'), count: kept.length, excluded };
}

// ---------------------------------------------------------------- main

const b = build();
const rs = emitRust(b);
const outputs = [[OUT_RS, rs]];
if (WRITE_SAMPLES) {
  const s = emitSamples(b);
  outputs.push([OUT_SAMPLES, s.text]);
  console.error(`gen-tz: ${s.count} samples, ${s.excluded.size} zones excluded`);
  for (const [z, why] of s.excluded) console.error(`gen-tz:   excluded ${z}: ${why}`);
}
let stale = false;
for (const [file, text] of outputs) {
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
  if (old === text) continue;
  stale = true;
  if (!CHECK_ONLY) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
}
const nHist = b.ruleKeys.filter((k) => JSON.parse(k)[2].length).length;
console.error(
  `gen-tz: tzdata ${b.tzdataVersion}: ${b.names.length} zones, ${b.ruleKeys.length} rules ` +
    `(${new Set([...b.zones.values()].map((z) => z.footer)).size} distinct TZ strings, ${nHist} with history); ` +
    `${Buffer.byteLength(rs)} bytes of Rust` + (CHECK_ONLY ? (stale ? ' [STALE]' : ' [up to date]') : ''),
);
if (CHECK_ONLY && stale) process.exit(1);
