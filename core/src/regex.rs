//! A small linear-time regular-expression engine for policy `regex:` conditions.
//!
//! The syntax is that of Rust's `regex` crate (1.7, with its `unicode-perl` and `unicode-case`
//! features); `Regex::is_match` is an unanchored search over a `&str`, character by character.
//! A pattern is parsed into a small syntax tree and compiled to a Thompson NFA that is run as a
//! Pike VM: time O(len(haystack) x program size), memory O(program size), no backtracking, and no
//! recursion whose depth the pattern controls beyond `NEST_LIMIT`. Nothing here panics on any input.
//!
//! Supported: literals; escapes `\\ \. \+ \* \? \( \) \| \[ \] \{ \} \^ \$ \# \& \- \~`, `\a \f \t \n
//! \r \v`, `\xHH \x{H..} \uHHHH \u{H..} \UHHHHHHHH \U{H..}`; `.` (any character except `\n`; any
//! character with `s`); classes `[abc] [a-z] [^…]` with escapes, Perl classes, nested classes
//! `[a[bc]]`, ASCII classes `[[:alpha:]]` / `[[:^alpha:]]`, and the set operations `&&` (and),
//! `--` (minus) and `~~` (symmetric difference); `\d \D \w \W \s \S` (Unicode: decimal digits Nd,
//! word characters, White_Space, from the same Unicode 14 tables as regex 1.7); anchors `^ $`
//! (per line with `m`), `\A \z`, word boundaries `\b \B` (Unicode); groups `(…)`, `(?:…)`,
//! `(?P<name>…)`, `(?<name>…)`; alternation `|`; quantifiers `* + ? {n} {n,} {n,m}` and their lazy
//! forms (the same thing for a yes/no match); flags `i` (Unicode simple case folding), `m`, `s`,
//! `x` (ignore whitespace, `#` comments), `U`, `u` (on by default; `(?-u)` makes `\d \w \s \b` and
//! case folding ASCII-only), set as `(?flags)` until the end of the enclosing group or scoped as
//! `(?flags:…)`, negated with `-`.
//!
//! Rejected with an error that names the problem and its character offset (counted from 0):
//! backreferences `\1` and look-around `(?=…) (?!…) (?<=…) (?<!…)` (not supported: checkrd regexes
//! run in linear time), Unicode property classes `\p{…} \P{…}`, empty classes such as `[^\s\S]`,
//! nesting deeper than 64 groups, classes or stacked repetitions, and programs larger than
//! `MAX_INSTS` instructions (so `a{1000}{1000}` is an error, not a memory blow-up); plus every
//! other syntax error regex 1.7 reports (unknown escapes, unclosed groups, bad counts, ...).
//!
//! Deliberate differences from regex 1.7.1 (the differential test in this file checks the rest):
//! - `\p{…}`/`\P{…}` are rejected (the crate accepts them with its `unicode-gencat`/`-script`/`-bool`
//!   features, which the policy engine never enabled).
//! - `(?<name>…)` is accepted as a named group (regex 1.9+ syntax; 1.7 rejects it).
//! - A backslash before ASCII punctuation other than `<` and `>` is a literal (regex 1.8+ syntax;
//!   1.7 rejects e.g. `\/`, `\'`, `\"`, `\_`).
//! - Size limits differ: the crate limits compiled bytes (10 MiB by default), this engine limits
//!   instructions (`MAX_INSTS`); Unicode classes cost one instruction here, many in the crate.
//! - Nesting: at most 64 levels, counting groups, bracketed classes and stacked repetitions (the
//!   crate's nest limit also counts concatenations and alternations, so it is never more lenient).
//! - Under `(?-u)`, `\W \D \S` match one whole non-ASCII character; in the crate they match a
//!   single byte of it, so e.g. `(?-u)^\W$` matches "é" here and not in the crate.

use std::fmt;

/// Maximum nesting of groups, bracketed classes and stacked repetitions.
pub const NEST_LIMIT: u32 = 64;
/// Maximum size of a compiled program, in instructions.
/// Bounds both memory and the per-character cost of matching (a policy regex runs on every request).
pub const MAX_INSTS: usize = 2_000;

const MAX_CHAR: u32 = 0x10FFFF;

type Ranges = Vec<(u32, u32)>;

/// A compiled regular expression.
#[derive(Clone)]
pub struct Regex {
    pattern: String,
    prog: Box<[Inst]>,
    classes: Box<[Box<[(u32, u32)]>]>,
    /// Every match starts at offset 0.
    anchored: bool,
    /// Every match starts with this string.
    prefix: String,
    /// The pattern is exactly `prefix` (a plain substring search).
    literal: bool,
    /// Every match starts with a character from this set (and the pattern cannot match empty).
    first: Option<FirstSet>,
    /// \w, decoded when the pattern has a Unicode `\b` or `\B`.
    word: Box<[(u32, u32)]>,
}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Regex").field(&self.pattern).finish()
    }
}

impl Regex {
    /// Parses and compiles `pattern`. The error says what is wrong and at which character offset.
    pub fn new(pattern: &str) -> Result<Regex, String> {
        let mut p = Parser {
            c: pattern.chars().collect(),
            pos: 0,
            f: Flags { i: false, m: false, s: false, u: true, x: false },
            depth: 0,
            names: Vec::new(),
            classes: Vec::new(),
            word_boundary: false,
        };
        let (node, _) = p.parse_alt()?;
        if p.peek() == Some(')') {
            return Err(p.err(p.pos, "unopened group: this `)` has no matching `(`"));
        }
        let size = size(&node);
        if size >= MAX_INSTS as u64 {
            return Err(too_large());
        }
        let mut c = Compiler { prog: Vec::new() };
        c.compile(&node)?;
        c.emit(Inst::Match)?;
        let mut prefix = String::new();
        let literal = lit_prefix(&node, &mut prefix);
        let (nullable, first) = first_set(&node, &p.classes);
        let first = match first {
            Some(r) if !nullable => Some(FirstSet::new(&r)),
            _ => None,
        };
        Ok(Regex {
            pattern: pattern.to_string(),
            prog: c.prog.into_boxed_slice(),
            classes: p.classes.into_boxed_slice(),
            anchored: anchored(&node),
            prefix,
            literal,
            first,
            word: if p.word_boundary { decode(WORD).into_boxed_slice() } else { Box::new([]) },
        })
    }

    /// The pattern this regex was compiled from.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether `haystack` contains a match anywhere (an unanchored search).
    pub fn is_match(&self, haystack: &str) -> bool {
        if self.literal && !self.anchored {
            return haystack.contains(self.prefix.as_str());
        }
        let n = self.prog.len();
        let mut clist = Sparse::new(n);
        let mut nlist = Sparse::new(n);
        let mut stack: Vec<u32> = Vec::with_capacity(2 * n + 2);
        let mut pos = 0usize;
        loop {
            if clist.len == 0 {
                if self.anchored && pos > 0 {
                    return false;
                }
                let rest = haystack.get(pos..).unwrap_or("");
                if !self.prefix.is_empty() {
                    match rest.find(self.prefix.as_str()) {
                        Some(i) => pos += i,
                        None => return false,
                    }
                } else if let Some(f) = &self.first {
                    match rest.char_indices().find(|&(_, c)| f.has(c)) {
                        Some((i, _)) => pos += i,
                        None => return false,
                    }
                }
            }
            let rest = haystack.get(pos..).unwrap_or("");
            let mut it = rest.chars();
            let cur = it.next();
            let prev = haystack.get(..pos).and_then(|s| s.chars().next_back());
            if (!self.anchored || pos == 0) && self.add(&mut clist, &mut stack, 0, prev, cur) {
                return true;
            }
            let c = match cur {
                Some(c) => c,
                None => return false,
            };
            let next = it.next();
            for k in 0..clist.len {
                let pc = match clist.dense.get(k) {
                    Some(&pc) => pc,
                    None => break,
                };
                let ok = match self.prog.get(pc as usize) {
                    Some(Inst::Char(x)) => *x == c,
                    Some(Inst::Class(i)) => self.classes.get(*i as usize).map_or(false, |r| has(r, c as u32)),
                    Some(Inst::Any) => true,
                    Some(Inst::AnyNoNl) => c != '\n',
                    _ => false,
                };
                if ok && self.add(&mut nlist, &mut stack, pc + 1, Some(c), next) {
                    return true;
                }
            }
            std::mem::swap(&mut clist, &mut nlist);
            nlist.len = 0;
            pos += c.len_utf8();
        }
    }

    /// Adds the thread at `pc` and everything reachable from it without consuming a character;
    /// true when that reaches `Match`.
    fn add(&self, set: &mut Sparse, stack: &mut Vec<u32>, pc: u32, prev: Option<char>, next: Option<char>) -> bool {
        match self.prog.get(pc as usize) {
            Some(Inst::Char(_)) | Some(Inst::Class(_)) | Some(Inst::Any) | Some(Inst::AnyNoNl) => {
                set.insert(pc);
                return false;
            }
            Some(Inst::Match) => return true,
            _ => {}
        }
        stack.clear();
        stack.push(pc);
        while let Some(pc) = stack.pop() {
            if !set.insert(pc) {
                continue;
            }
            match self.prog.get(pc as usize) {
                Some(Inst::Jmp(t)) => stack.push(*t),
                Some(Inst::Split(a, b)) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Some(Inst::Look(l)) => {
                    if self.look(*l, prev, next) {
                        stack.push(pc + 1);
                    }
                }
                Some(Inst::Match) => return true,
                _ => {}
            }
        }
        false
    }
}

// ---------------------------------------------------------------------------------------------
// Program and VM

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Look {
    StartText,
    EndText,
    StartLine,
    EndLine,
    WordB,
    NotWordB,
    WordBAscii,
}

#[derive(Clone, Copy, Debug)]
enum Inst {
    Char(char),
    Class(u32),
    Any,
    AnyNoNl,
    Look(Look),
    Split(u32, u32),
    Jmp(u32),
    Match,
}

impl Regex {
    fn look(&self, l: Look, prev: Option<char>, next: Option<char>) -> bool {
        let word = |c: Option<char>| match c {
            Some(c) if c.is_ascii() => is_word_ascii(c),
            Some(c) => has(&self.word, c as u32),
            None => false,
        };
        match l {
            Look::StartText => prev.is_none(),
            Look::EndText => next.is_none(),
            Look::StartLine => prev.map_or(true, |c| c == '\n'),
            Look::EndLine => next.map_or(true, |c| c == '\n'),
            Look::WordB => word(prev) != word(next),
            Look::NotWordB => word(prev) == word(next),
            Look::WordBAscii => prev.map_or(false, is_word_ascii) != next.map_or(false, is_word_ascii),
        }
    }
}

fn is_word_ascii(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Reads a LEB128 varint at `*i`.
fn varint(b: &[u8], i: &mut usize) -> Option<u32> {
    let mut v = 0u32;
    let mut shift = 0;
    while let Some(&x) = b.get(*i) {
        *i += 1;
        v |= ((x & 0x7F) as u32) << shift;
        if x < 0x80 {
            return Some(v);
        }
        shift += 7;
        if shift > 28 {
            return None;
        }
    }
    None
}

/// Decodes a range table (see WORD).
fn decode(b: &[u8]) -> Ranges {
    let mut out = Vec::new();
    let mut i = 0;
    let mut next = 0u32;
    while let (Some(gap), Some(len)) = (varint(b, &mut i), varint(b, &mut i)) {
        let a = next.saturating_add(gap);
        out.push((a, a.saturating_add(len)));
        next = a.saturating_add(len).saturating_add(1);
    }
    out
}

/// Whether the sorted, disjoint ranges contain `c`.
fn has(r: &[(u32, u32)], c: u32) -> bool {
    let (mut lo, mut hi) = (0usize, r.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match r.get(mid) {
            Some(&(a, b)) => {
                if c < a {
                    hi = mid;
                } else if c > b {
                    lo = mid + 1;
                } else {
                    return true;
                }
            }
            None => return false,
        }
    }
    false
}

/// A sparse set of program counters (Briggs & Torczon): O(1) insert, membership and clear.
struct Sparse {
    dense: Vec<u32>,
    sparse: Vec<u32>,
    len: usize,
}

impl Sparse {
    fn new(n: usize) -> Sparse {
        Sparse { dense: vec![0; n], sparse: vec![0; n], len: 0 }
    }

    /// Inserts `x`; false when it was already there (or is out of range).
    fn insert(&mut self, x: u32) -> bool {
        let s = match self.sparse.get(x as usize) {
            Some(&s) => s as usize,
            None => return false,
        };
        if s < self.len && self.dense.get(s) == Some(&x) {
            return false;
        }
        match self.dense.get_mut(self.len) {
            Some(d) => *d = x,
            None => return false,
        }
        if let Some(sp) = self.sparse.get_mut(x as usize) {
            *sp = self.len as u32;
        }
        self.len += 1;
        true
    }
}

/// The characters a match can start with: a bitmap for ASCII and ranges for the rest.
#[derive(Clone, Debug)]
struct FirstSet {
    ascii: u128,
    ranges: Box<[(u32, u32)]>,
}

impl FirstSet {
    fn new(r: &[(u32, u32)]) -> FirstSet {
        let mut ascii = 0u128;
        for &(a, b) in r {
            let mut c = a;
            while c <= b && c < 128 {
                ascii |= 1u128 << c;
                c += 1;
            }
        }
        let ranges: Ranges = r.iter().filter(|&&(_, b)| b >= 128).map(|&(a, b)| (a.max(128), b)).collect();
        FirstSet { ascii, ranges: ranges.into_boxed_slice() }
    }

    fn has(&self, c: char) -> bool {
        let c = c as u32;
        if c < 128 {
            self.ascii & (1u128 << c) != 0
        } else {
            has(&self.ranges, c)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Syntax tree, analysis and compilation

#[derive(Clone, Debug)]
enum Node {
    Empty,
    Lit(char),
    /// An index into the parser's class table.
    Class(u32),
    Any,
    AnyNoNl,
    Look(Look),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Rep(Box<Node>, u32, Option<u32>),
}

const TOO_LARGE: &str = "regex too large: it would compile to more than 2000 instructions (counted repetitions such as `{1000}` multiply the size of what they repeat)";

fn too_large() -> String {
    TOO_LARGE.to_string()
}

/// The number of instructions `n` compiles to (saturating).
fn size(n: &Node) -> u64 {
    match n {
        Node::Empty => 0,
        Node::Lit(_) | Node::Class(_) | Node::Any | Node::AnyNoNl | Node::Look(_) => 1,
        Node::Concat(v) => v.iter().fold(0u64, |a, x| a.saturating_add(size(x))),
        Node::Alt(v) => v.iter().fold(0u64, |a, x| a.saturating_add(size(x)).saturating_add(2)),
        Node::Rep(sub, min, max) => {
            let s = size(sub);
            if s == 0 {
                return 0;
            }
            let base = s.saturating_mul(*min as u64);
            match max {
                None => base.saturating_add(s).saturating_add(2),
                Some(m) => base.saturating_add(s.saturating_add(1).saturating_mul(m.saturating_sub(*min) as u64)),
            }
        }
    }
}

struct Compiler {
    prog: Vec<Inst>,
}

impl Compiler {
    fn emit(&mut self, i: Inst) -> Result<u32, String> {
        if self.prog.len() >= MAX_INSTS {
            return Err(too_large());
        }
        self.prog.push(i);
        Ok((self.prog.len() - 1) as u32)
    }

    fn here(&self) -> u32 {
        self.prog.len() as u32
    }

    fn patch(&mut self, at: u32, i: Inst) {
        if let Some(x) = self.prog.get_mut(at as usize) {
            *x = i;
        }
    }

    fn compile(&mut self, n: &Node) -> Result<(), String> {
        match n {
            Node::Empty => {}
            Node::Lit(c) => {
                self.emit(Inst::Char(*c))?;
            }
            Node::Class(i) => {
                self.emit(Inst::Class(*i))?;
            }
            Node::Any => {
                self.emit(Inst::Any)?;
            }
            Node::AnyNoNl => {
                self.emit(Inst::AnyNoNl)?;
            }
            Node::Look(l) => {
                self.emit(Inst::Look(*l))?;
            }
            Node::Concat(v) => {
                for x in v {
                    self.compile(x)?;
                }
            }
            Node::Alt(v) => {
                let mut jumps = Vec::new();
                for (k, x) in v.iter().enumerate() {
                    if k + 1 < v.len() {
                        let split = self.emit(Inst::Split(0, 0))?;
                        self.compile(x)?;
                        jumps.push(self.emit(Inst::Jmp(0))?);
                        let next = self.here();
                        self.patch(split, Inst::Split(split + 1, next));
                    } else {
                        self.compile(x)?;
                    }
                }
                let end = self.here();
                for j in jumps {
                    self.patch(j, Inst::Jmp(end));
                }
            }
            Node::Rep(sub, min, max) => {
                if size(sub) == 0 {
                    return Ok(());
                }
                match max {
                    None if *min == 0 => {
                        // L: split(L+1, end); sub; jmp L
                        let l = self.emit(Inst::Split(0, 0))?;
                        self.compile(sub)?;
                        self.emit(Inst::Jmp(l))?;
                        let end = self.here();
                        self.patch(l, Inst::Split(l + 1, end));
                    }
                    None => {
                        // sub{min-1}; L: sub; split(L, next)
                        for _ in 1..*min {
                            self.compile(sub)?;
                        }
                        let l = self.here();
                        self.compile(sub)?;
                        let s = self.here();
                        self.emit(Inst::Split(l, s + 1))?;
                    }
                    Some(m) => {
                        for _ in 0..*min {
                            self.compile(sub)?;
                        }
                        let mut splits = Vec::new();
                        for _ in *min..*m {
                            splits.push(self.emit(Inst::Split(0, 0))?);
                            self.compile(sub)?;
                        }
                        let end = self.here();
                        for s in splits {
                            self.patch(s, Inst::Split(s + 1, end));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Appends the literal characters every match starts with; true when `n` is entirely that literal.
fn lit_prefix(n: &Node, out: &mut String) -> bool {
    match n {
        Node::Empty => true,
        Node::Lit(c) => {
            out.push(*c);
            true
        }
        Node::Concat(v) => {
            for x in v {
                if !lit_prefix(x, out) {
                    return false;
                }
            }
            true
        }
        _ => false,
    }
}

/// (can match the empty string, the characters a non-empty match can start with; None = any).
fn first_set(n: &Node, classes: &[Box<[(u32, u32)]>]) -> (bool, Option<Ranges>) {
    match n {
        Node::Empty | Node::Look(_) => (true, Some(Vec::new())),
        Node::Lit(c) => (false, Some(vec![(*c as u32, *c as u32)])),
        Node::Class(i) => (false, classes.get(*i as usize).map(|r| r.to_vec())),
        Node::Any | Node::AnyNoNl => (false, None),
        Node::Concat(v) => {
            let mut acc = Some(Vec::new());
            for x in v {
                let (nullable, f) = first_set(x, classes);
                acc = union_opt(acc, f);
                if !nullable {
                    return (false, acc);
                }
            }
            (true, acc)
        }
        Node::Alt(v) => {
            let mut acc = Some(Vec::new());
            let mut nullable = false;
            for x in v {
                let (n, f) = first_set(x, classes);
                nullable |= n;
                acc = union_opt(acc, f);
            }
            (nullable, acc)
        }
        Node::Rep(sub, min, max) => {
            if *max == Some(0) {
                return (true, Some(Vec::new()));
            }
            let (n, f) = first_set(sub, classes);
            (n || *min == 0, f)
        }
    }
}

fn union_opt(a: Option<Ranges>, b: Option<Ranges>) -> Option<Ranges> {
    match (a, b) {
        (Some(mut a), Some(b)) => {
            a.extend(b);
            Some(canon(a))
        }
        _ => None,
    }
}

/// Whether every match must start at offset 0.
fn anchored(n: &Node) -> bool {
    match n {
        Node::Look(Look::StartText) => true,
        Node::Concat(v) => v.iter().find(|x| !matches!(x, Node::Empty)).map_or(false, anchored),
        Node::Alt(v) => !v.is_empty() && v.iter().all(anchored),
        Node::Rep(sub, min, _) => *min >= 1 && anchored(sub),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Character sets: sorted, disjoint, non-adjacent ranges of scalar values without surrogates.

/// Heapsort: small code, O(n log n).
fn sort(v: &mut [(u32, u32)]) {
    fn sift(v: &mut [(u32, u32)], mut root: usize, end: usize) {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                break;
            }
            if child + 1 < end && v[child] < v[child + 1] {
                child += 1;
            }
            if v[root] >= v[child] {
                break;
            }
            v.swap(root, child);
            root = child;
        }
    }
    let n = v.len();
    for start in (0..n / 2).rev() {
        sift(v, start, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift(v, 0, end);
    }
}

fn canon(mut v: Ranges) -> Ranges {
    sort(&mut v);
    let mut out: Ranges = Vec::with_capacity(v.len());
    for (a, b) in v {
        if a > b {
            continue;
        }
        if let Some(last) = out.last_mut() {
            if a <= last.1.saturating_add(1) {
                if b > last.1 {
                    last.1 = b;
                }
                continue;
            }
        }
        out.push((a, b));
    }
    if out.iter().any(|&(a, b)| a <= 0xDFFF && b >= 0xD800) {
        let mut o2 = Vec::with_capacity(out.len() + 1);
        for (a, b) in out {
            if b < 0xD800 || a > 0xDFFF {
                o2.push((a, b));
            } else {
                if a < 0xD800 {
                    o2.push((a, 0xD7FF));
                }
                if b > 0xDFFF {
                    o2.push((0xE000, b));
                }
            }
        }
        out = o2;
    }
    out
}

/// The complement of canonical `v` within [0, max].
fn negate(v: &[(u32, u32)], max: u32) -> Ranges {
    let mut out = Vec::with_capacity(v.len() + 1);
    let mut next = 0u32;
    for &(a, b) in v {
        if a > max {
            break;
        }
        if a > next {
            out.push((next, a - 1));
        }
        next = b.saturating_add(1);
    }
    if next <= max {
        out.push((next, max));
    }
    canon(out)
}

fn intersect(a: &[(u32, u32)], b: &[(u32, u32)]) -> Ranges {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while let (Some(&(a0, a1)), Some(&(b0, b1))) = (a.get(i), b.get(j)) {
        let lo = a0.max(b0);
        let hi = a1.min(b1);
        if lo <= hi {
            out.push((lo, hi));
        }
        if a1 < b1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

fn union(a: &[(u32, u32)], b: &[(u32, u32)]) -> Ranges {
    let mut v = a.to_vec();
    v.extend_from_slice(b);
    canon(v)
}

fn difference(a: &[(u32, u32)], b: &[(u32, u32)]) -> Ranges {
    intersect(a, &negate(b, MAX_CHAR))
}

/// Adds the Unicode simple case folding orbit of every member.
fn fold_unicode(set: Ranges) -> Ranges {
    let mut s = set;
    // Orbits have at most 4 members and FOLD maps each to the next, so 3 rounds reach all.
    for _ in 0..3 {
        let mut add = Vec::new();
        let (mut k, mut start) = (0usize, 0u32);
        while let (Some(ds), Some(cs), Some(dd)) = (varint(FOLD, &mut k), varint(FOLD, &mut k), varint(FOLD, &mut k)) {
            start += ds;
            let count = (cs >> 1) + 1;
            let stride = (cs & 1) + 1;
            let delta = if dd & 1 == 1 { -((dd >> 1) as i64) } else { (dd >> 1) as i64 };
            let end = start + (count - 1) * stride;
            // First range that ends at or after `start`.
            let mut i = s.partition_point(|&(_, b)| b < start);
            while let Some(&(a, b)) = s.get(i) {
                if a > end {
                    break;
                }
                let lo = a.max(start);
                let hi = b.min(end);
                let mut x = lo + (stride - (lo - start) % stride) % stride;
                while x <= hi {
                    let y = (x as i64 + delta) as u32;
                    add.push((y, y));
                    x += stride;
                }
                i += 1;
            }
        }
        if add.is_empty() {
            break;
        }
        let n = union(&s, &add);
        if n == s {
            break;
        }
        s = n;
    }
    s
}

/// Adds the other case of every ASCII letter.
fn fold_ascii(set: Ranges) -> Ranges {
    let mut add = Vec::new();
    for &(lo, hi, d) in &[(0x41u32, 0x5Au32, 32i64), (0x61, 0x7A, -32)] {
        for (a, b) in intersect(&set, &[(lo, hi)]) {
            add.push(((a as i64 + d) as u32, (b as i64 + d) as u32));
        }
    }
    let mut v = set;
    v.extend(add);
    canon(v)
}

fn ascii_class(name: &str) -> Option<&'static [(u32, u32)]> {
    Some(match name {
        "alnum" => &[(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
        "alpha" => &[(0x41, 0x5A), (0x61, 0x7A)],
        "ascii" => &[(0x00, 0x7F)],
        "blank" => &[(0x09, 0x09), (0x20, 0x20)],
        "cntrl" => &[(0x00, 0x1F), (0x7F, 0x7F)],
        "digit" => &[(0x30, 0x39)],
        "graph" => &[(0x21, 0x7E)],
        "lower" => &[(0x61, 0x7A)],
        "print" => &[(0x20, 0x7E)],
        "punct" => &[(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
        "space" => &[(0x09, 0x0D), (0x20, 0x20)],
        "upper" => &[(0x41, 0x5A)],
        "word" => &[(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
        "xdigit" => &[(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Parser (mirrors regex-syntax 0.6's parser and translator)

#[derive(Clone, Copy, Debug)]
struct Flags {
    i: bool,
    m: bool,
    s: bool,
    u: bool,
    x: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Perl {
    Digit,
    Space,
    Word,
}

enum Esc {
    Lit(char),
    Perl(Perl, bool),
    Look(Look),
}

enum Item {
    Lit(char),
    Set(Ranges),
    Look,
}

#[derive(Clone, Copy)]
enum SetOp {
    And,
    Minus,
    Xor,
}

struct Parser {
    c: Vec<char>,
    pos: usize,
    f: Flags,
    depth: u32,
    names: Vec<String>,
    classes: Vec<Box<[(u32, u32)]>>,
    /// A Unicode `\b` or `\B` was used.
    word_boundary: bool,
}

/// Parses ASCII digits in `radix` (10 or 16); None on overflow.
fn number(digits: &str, radix: u32) -> Option<u32> {
    let mut n = 0u32;
    for c in digits.chars() {
        n = n.checked_mul(radix)?.checked_add(c.to_digit(radix)?)?;
    }
    Some(n)
}

fn is_meta(c: char) -> bool {
    matches!(c, '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' | '#' | '&' | '-' | '~')
}

fn is_capture_char(c: char, first: bool) -> bool {
    c == '_' || c.is_ascii_alphabetic() || (!first && (c.is_ascii_digit() || c == '.' || c == '[' || c == ']'))
}

impl Parser {
    fn err(&self, at: usize, msg: &str) -> String {
        format!("{} at character offset {}", msg, at)
    }

    fn err3(&self, at: usize, a: &str, b: &str, c: &str) -> String {
        self.err(at, &[a, b, c].concat())
    }

    fn peek(&self) -> Option<char> {
        self.c.get(self.pos).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.c.get(self.pos.saturating_add(k)).copied()
    }

    fn eof(&self) -> bool {
        self.pos >= self.c.len()
    }

    fn starts_with(&self, s: &str) -> bool {
        let mut k = self.pos;
        for ch in s.chars() {
            if self.c.get(k) != Some(&ch) {
                return false;
            }
            k += 1;
        }
        true
    }

    /// With the `x` flag, skips whitespace and `#` comments.
    fn skip_space(&mut self) {
        if !self.f.x {
            return;
        }
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += 1;
            } else if c == '#' {
                self.pos += 1;
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    if c == '\n' {
                        break;
                    }
                }
            } else {
                break;
            }
        }
    }

    /// Moves past the current character and any ignored whitespace; true when not at the end.
    fn bump_skip(&mut self) -> bool {
        if self.eof() {
            return false;
        }
        self.pos += 1;
        self.skip_space();
        !self.eof()
    }

    /// The next character after the current one, ignoring whitespace with `x` (as regex-syntax does).
    fn peek_space(&self) -> Option<char> {
        if !self.f.x {
            return self.peek_at(1);
        }
        if self.eof() {
            return None;
        }
        let start = self.pos + 1;
        let mut in_comment = false;
        let mut k = start;
        while let Some(&c) = self.c.get(k) {
            if c.is_whitespace() {
                k += 1;
                continue;
            } else if !in_comment && c == '#' {
                in_comment = true;
            } else {
                return Some(c);
            }
            k += 1;
        }
        self.c.get(start).copied()
    }

    fn intern(&mut self, set: Ranges) -> Node {
        if let Some(i) = self.classes.iter().position(|c| **c == set[..]) {
            return Node::Class(i as u32);
        }
        self.classes.push(set.into_boxed_slice());
        Node::Class((self.classes.len() - 1) as u32)
    }

    fn nest(&self, h: u32, at: usize) -> Result<(), String> {
        if h > NEST_LIMIT {
            return Err(self.err(at, "nesting too deep (more than 64 levels of groups, classes and repetitions)"));
        }
        Ok(())
    }

    /// An alternation, up to `)` (not consumed) or the end. Returns the node and its height.
    fn parse_alt(&mut self) -> Result<(Node, u32), String> {
        let mut alts: Vec<Node> = Vec::new();
        let mut alt_h = 0;
        let mut seen_bar = false;
        // (node, height, is a flag directive)
        let mut items: Vec<(Node, u32, bool)> = Vec::new();
        loop {
            self.skip_space();
            let at = self.pos;
            let c = match self.peek() {
                None | Some(')') => break,
                Some(c) => c,
            };
            match c {
                '|' => {
                    self.pos += 1;
                    seen_bar = true;
                    let (n, h) = concat(std::mem::take(&mut items));
                    alts.push(n);
                    alt_h = alt_h.max(h);
                }
                '(' => match self.parse_group()? {
                    Some((n, h)) => items.push((n, h, false)),
                    None => items.push((Node::Empty, 0, true)),
                },
                '[' => {
                    let set = self.parse_class()?;
                    if set.is_empty() {
                        return Err(self.err(at, "empty character class: it can never match"));
                    }
                    let n = self.intern(set);
                    items.push((n, 1, false));
                }
                '?' | '*' | '+' => {
                    let (min, max) = match c {
                        '?' => (0, Some(1)),
                        '*' => (0, None),
                        _ => (1, None),
                    };
                    self.check_repeatable(&items, at)?;
                    self.pos += 1;
                    if self.peek() == Some('?') {
                        self.pos += 1;
                    }
                    self.repeat(&mut items, min, max, at)?;
                }
                '{' => self.parse_counted(&mut items)?,
                _ => {
                    let n = self.parse_primitive()?;
                    items.push((n, 0, false));
                }
            }
        }
        let (n, h) = concat(items);
        if !seen_bar {
            return Ok((n, h));
        }
        alts.push(n);
        Ok((Node::Alt(alts), alt_h.max(h)))
    }

    fn check_repeatable(&self, items: &[(Node, u32, bool)], at: usize) -> Result<(), String> {
        match items.last() {
            Some((_, _, false)) => Ok(()),
            _ => Err(self.err(at, "repetition operator missing expression (nothing to repeat)")),
        }
    }

    fn repeat(&mut self, items: &mut Vec<(Node, u32, bool)>, min: u32, max: Option<u32>, at: usize) -> Result<(), String> {
        let (n, h, _) = match items.pop() {
            Some(x) => x,
            None => return Err(self.err(at, "repetition operator missing expression (nothing to repeat)")),
        };
        self.nest(h + 1, at)?;
        items.push((Node::Rep(Box::new(n), min, max), h + 1, false));
        Ok(())
    }

    fn parse_counted(&mut self, items: &mut Vec<(Node, u32, bool)>) -> Result<(), String> {
        let start = self.pos;
        self.check_repeatable(items, start)?;
        let unclosed = "unclosed counted repetition: expected `{n}`, `{n,}` or `{n,m}`";
        if !self.bump_skip() {
            return Err(self.err(start, unclosed));
        }
        let min = self.parse_decimal()?;
        let mut max = Some(min);
        if self.eof() {
            return Err(self.err(start, unclosed));
        }
        if self.peek() == Some(',') {
            if !self.bump_skip() {
                return Err(self.err(start, unclosed));
            }
            max = if self.peek() != Some('}') { Some(self.parse_decimal()?) } else { None };
        }
        if self.peek() != Some('}') {
            return Err(self.err(start, unclosed));
        }
        if self.bump_skip() && self.peek() == Some('?') {
            self.pos += 1;
        }
        if let Some(m) = max {
            if min > m {
                return Err(self.err(start, "invalid repetition count range: the minimum must be <= the maximum"));
            }
        }
        self.repeat(items, min, max, start)
    }

    fn parse_decimal(&mut self) -> Result<u32, String> {
        while self.peek().map_or(false, char::is_whitespace) {
            self.pos += 1;
        }
        let start = self.pos;
        let mut digits = String::new();
        while let Some(c) = self.peek() {
            if !c.is_ascii_digit() {
                break;
            }
            digits.push(c);
            self.bump_skip();
        }
        while self.peek().map_or(false, char::is_whitespace) {
            self.bump_skip();
        }
        if digits.is_empty() {
            return Err(self.err(start, "repetition quantifier expects a valid decimal number"));
        }
        number(&digits, 10).ok_or_else(|| self.err(start, "repetition count too large (at most 4294967295)"))
    }

    /// A group or a flag directive at `(`; None for a directive such as `(?i)`.
    fn parse_group(&mut self) -> Result<Option<(Node, u32)>, String> {
        let open = self.pos;
        self.pos += 1;
        self.skip_space();
        if self.starts_with("?=") || self.starts_with("?!") || self.starts_with("?<=") || self.starts_with("?<!") {
            return Err(self.err(open, "look-around (look-ahead and look-behind) is not supported: checkrd regexes run in linear time"));
        }
        let mut scoped = None;
        if self.starts_with("?P<") {
            self.pos += 3;
            self.parse_name()?;
        } else if self.starts_with("?<") {
            self.pos += 2;
            self.parse_name()?;
        } else if self.starts_with("?") {
            self.pos += 1;
            if self.eof() {
                return Err(self.err(open, "unclosed group"));
            }
            let flags_at = self.pos;
            let (f, any) = self.parse_flags()?;
            let end = self.peek();
            self.pos += 1;
            if end == Some(')') {
                if !any {
                    return Err(self.err(flags_at, "empty flag group `(?)`"));
                }
                self.f = f;
                return Ok(None);
            }
            scoped = Some(f);
        }
        self.depth += 1;
        self.nest(self.depth, open)?;
        let saved = self.f;
        if let Some(f) = scoped {
            self.f = f;
        }
        let (inner, h) = self.parse_alt()?;
        if self.peek() != Some(')') {
            return Err(self.err(open, "unclosed group: missing `)`"));
        }
        self.pos += 1;
        self.f = saved;
        self.depth -= 1;
        self.nest(h + 1, open)?;
        Ok(Some((inner, h + 1)))
    }

    fn parse_name(&mut self) -> Result<(), String> {
        let start = self.pos;
        loop {
            match self.peek() {
                None => return Err(self.err(self.pos, "unclosed capture group name: expected `>`")),
                Some('>') => break,
                Some(c) => {
                    if !is_capture_char(c, self.pos == start) {
                        return Err(self.err(self.pos, "invalid character in capture group name (names are [A-Za-z_][A-Za-z0-9_.\\[\\]]*)"));
                    }
                    self.pos += 1;
                }
            }
        }
        let name: String = self.c.get(start..self.pos).unwrap_or(&[]).iter().collect();
        self.pos += 1;
        if name.is_empty() {
            return Err(self.err(start, "empty capture group name"));
        }
        if self.names.contains(&name) {
            return Err(self.err3(start, "duplicate capture group name `", &name, "`"));
        }
        self.names.push(name);
        Ok(())
    }

    /// Flags up to `:` or `)` (not consumed); returns the new flags and whether any item was given.
    fn parse_flags(&mut self) -> Result<(Flags, bool), String> {
        let mut f = self.f;
        let mut negate = false;
        let mut seen = [false; 6];
        let mut any = false;
        let mut dangling = None;
        loop {
            let c = match self.peek() {
                None => return Err(self.err(self.pos, "unexpected end of pattern in flags: expected `:` or `)`")),
                Some(c) => c,
            };
            if c == ':' || c == ')' {
                break;
            }
            any = true;
            if c == '-' {
                if negate {
                    return Err(self.err(self.pos, "repeated negation `-` in flags"));
                }
                negate = true;
                dangling = Some(self.pos);
            } else {
                dangling = None;
                let k = match c {
                    'i' => 0,
                    'm' => 1,
                    's' => 2,
                    'U' => 3,
                    'u' => 4,
                    'x' => 5,
                    _ => return Err(self.err3(self.pos, "unrecognized flag `", c.encode_utf8(&mut [0; 4]), "` (flags are i, m, s, U, u, x)")),
                };
                if seen[k] {
                    return Err(self.err3(self.pos, "duplicate flag `", c.encode_utf8(&mut [0; 4]), "`"));
                }
                seen[k] = true;
                let on = !negate;
                match k {
                    0 => f.i = on,
                    1 => f.m = on,
                    2 => f.s = on,
                    4 => f.u = on,
                    5 => f.x = on,
                    _ => {}
                }
            }
            self.pos += 1;
        }
        if let Some(at) = dangling {
            return Err(self.err(at, "dangling flag negation operator `-`"));
        }
        Ok((f, any))
    }

    fn parse_primitive(&mut self) -> Result<Node, String> {
        let at = self.pos;
        let c = match self.peek() {
            Some(c) => c,
            None => return Ok(Node::Empty),
        };
        match c {
            '\\' => match self.parse_escape()? {
                Esc::Lit(ch) => self.literal(ch, at),
                Esc::Perl(k, neg) => {
                    let set = self.perl(k, neg, false);
                    Ok(self.intern(set))
                }
                Esc::Look(l) => Ok(Node::Look(l)),
            },
            '.' => {
                self.pos += 1;
                if !self.f.u {
                    return Err(self.err(at, "`.` is not allowed with (?-u): it could match invalid UTF-8"));
                }
                Ok(if self.f.s { Node::Any } else { Node::AnyNoNl })
            }
            '^' => {
                self.pos += 1;
                Ok(Node::Look(if self.f.m { Look::StartLine } else { Look::StartText }))
            }
            '$' => {
                self.pos += 1;
                Ok(Node::Look(if self.f.m { Look::EndLine } else { Look::EndText }))
            }
            c => {
                self.pos += 1;
                self.literal(c, at)
            }
        }
    }

    fn literal(&mut self, c: char, at: usize) -> Result<Node, String> {
        if !self.f.u {
            if !c.is_ascii() {
                return Err(self.err(at, "non-ASCII characters are not allowed with (?-u)"));
            }
            if self.f.i && c.is_ascii_alphabetic() {
                let set = fold_ascii(vec![(c as u32, c as u32)]);
                return Ok(self.intern(set));
            }
            return Ok(Node::Lit(c));
        }
        if self.f.i {
            let set = fold_unicode(vec![(c as u32, c as u32)]);
            if set.len() > 1 || set.first().map_or(false, |&(a, b)| a != b) {
                return Ok(self.intern(set));
            }
        }
        Ok(Node::Lit(c))
    }

    /// A Perl class. Outside brackets with (?-u), the negations cover all non-ASCII characters.
    fn perl(&self, k: Perl, neg: bool, in_class: bool) -> Ranges {
        let base = if self.f.u {
            decode(match k {
                Perl::Digit => DIGIT,
                Perl::Space => SPACE,
                Perl::Word => WORD,
            })
        } else {
            let b: &[(u32, u32)] = match k {
                Perl::Digit => &[(0x30, 0x39)],
                Perl::Space => &[(0x09, 0x0D), (0x20, 0x20)],
                Perl::Word => &[(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
            };
            b.to_vec()
        };
        if !neg {
            return base;
        }
        negate(&base, if self.f.u || !in_class { MAX_CHAR } else { 0xFF })
    }

    fn parse_escape(&mut self) -> Result<Esc, String> {
        let start = self.pos;
        self.pos += 1;
        let c = match self.peek() {
            None => return Err(self.err(start, "incomplete escape sequence: the pattern ends with `\\`")),
            Some(c) => c,
        };
        match c {
            '0'..='9' => return Err(self.err(start, "backreferences (and octal escapes) are not supported: checkrd regexes run in linear time")),
            'x' | 'u' | 'U' => return self.parse_hex(c).map(Esc::Lit),
            'p' | 'P' => {
                return Err(self.err(start, "Unicode property classes (\\p{..}, \\P{..}) are not supported; use a character class such as [a-z] or \\w"))
            }
            'd' | 's' | 'w' | 'D' | 'S' | 'W' => {
                self.pos += 1;
                let k = match c.to_ascii_lowercase() {
                    'd' => Perl::Digit,
                    's' => Perl::Space,
                    _ => Perl::Word,
                };
                return Ok(Esc::Perl(k, c.is_ascii_uppercase()));
            }
            _ => {}
        }
        self.pos += 1;
        if is_meta(c) {
            return Ok(Esc::Lit(c));
        }
        Ok(match c {
            'a' => Esc::Lit('\x07'),
            'f' => Esc::Lit('\x0C'),
            't' => Esc::Lit('\t'),
            'n' => Esc::Lit('\n'),
            'r' => Esc::Lit('\r'),
            'v' => Esc::Lit('\x0B'),
            ' ' if self.f.x => Esc::Lit(' '),
            'A' => Esc::Look(Look::StartText),
            'z' => Esc::Look(Look::EndText),
            'b' => {
                self.word_boundary |= self.f.u;
                Esc::Look(if self.f.u { Look::WordB } else { Look::WordBAscii })
            }
            'B' => {
                if !self.f.u {
                    return Err(self.err(start, "`\\B` is not allowed with (?-u): it could match inside a UTF-8 sequence"));
                }
                self.word_boundary = true;
                Esc::Look(Look::NotWordB)
            }
            c if c.is_ascii_punctuation() && c != '<' && c != '>' => Esc::Lit(c),
            _ => return Err(self.err3(start, "unrecognized escape sequence `\\", c.encode_utf8(&mut [0; 4]), "`")),
        })
    }

    /// `\x..`, `\u..` or `\U..`, positioned at the letter.
    fn parse_hex(&mut self, kind: char) -> Result<char, String> {
        let start = self.pos.saturating_sub(1);
        let digits = match kind {
            'x' => 2,
            'u' => 4,
            _ => 8,
        };
        let incomplete = "incomplete escape sequence at the end of the pattern";
        if !self.bump_skip() {
            return Err(self.err(self.pos, incomplete));
        }
        let mut hex = String::new();
        if self.peek() == Some('{') {
            let brace = self.pos;
            while self.bump_skip() {
                match self.peek() {
                    Some('}') => break,
                    Some(c) if c.is_ascii_hexdigit() => hex.push(c),
                    _ => return Err(self.err(self.pos, "invalid hexadecimal digit in escape")),
                }
            }
            if self.eof() {
                return Err(self.err(brace, "unclosed hexadecimal escape: missing `}`"));
            }
            self.bump_skip();
            if hex.is_empty() {
                return Err(self.err(brace, "empty hexadecimal literal `{}`"));
            }
        } else {
            for i in 0..digits {
                if i > 0 && !self.bump_skip() {
                    return Err(self.err(self.pos, incomplete));
                }
                match self.peek() {
                    Some(c) if c.is_ascii_hexdigit() => hex.push(c),
                    _ => return Err(self.err(self.pos, "invalid hexadecimal digit (`\\x` takes 2 hex digits, `\\u` 4, `\\U` 8, or any number in `{...}`)")),
                }
            }
            self.bump_skip();
        }
        number(&hex, 16).and_then(char::from_u32).ok_or_else(|| self.err3(start, "hexadecimal escape `", &hex, "` is not a Unicode scalar value"))
    }

    /// A bracketed class at `[` (also nested ones): its set after case folding and negation.
    fn parse_class(&mut self) -> Result<Ranges, String> {
        let open = self.pos;
        self.depth += 1;
        self.nest(self.depth, open)?;
        let unclosed = "unclosed character class: missing `]`";
        if !self.bump_skip() {
            return Err(self.err(open, unclosed));
        }
        let mut negated = false;
        if self.peek() == Some('^') {
            negated = true;
            if !self.bump_skip() {
                return Err(self.err(open, unclosed));
            }
        }
        let mut union: Ranges = Vec::new();
        let mut leading = false;
        while self.peek() == Some('-') {
            union.push((0x2D, 0x2D));
            leading = true;
            if !self.bump_skip() {
                return Err(self.err(open, unclosed));
            }
        }
        if !leading && self.peek() == Some(']') {
            union.push((0x5D, 0x5D));
            if !self.bump_skip() {
                return Err(self.err(open, unclosed));
            }
        }
        let mut pending: Option<(Ranges, SetOp)> = None;
        loop {
            self.skip_space();
            let c = match self.peek() {
                None => return Err(self.err(open, unclosed)),
                Some(c) => c,
            };
            let op = match c {
                '[' => {
                    match self.ascii_class()? {
                        Some(set) => union.extend(set),
                        None => {
                            let set = self.parse_class()?;
                            union.extend(set);
                        }
                    }
                    continue;
                }
                ']' => {
                    self.pos += 1;
                    let set = self.set_op(pending.take(), canon(std::mem::take(&mut union)));
                    let set = self.fold_negate(set, negated, open)?;
                    self.depth -= 1;
                    return Ok(set);
                }
                '&' if self.peek_at(1) == Some('&') => SetOp::And,
                '-' if self.peek_at(1) == Some('-') => SetOp::Minus,
                '~' if self.peek_at(1) == Some('~') => SetOp::Xor,
                _ => {
                    let set = self.parse_class_range(open)?;
                    union.extend(set);
                    continue;
                }
            };
            self.pos += 2;
            let lhs = self.set_op(pending.take(), canon(std::mem::take(&mut union)));
            pending = Some((lhs, op));
        }
    }

    fn fold(&self, set: Ranges) -> Ranges {
        if self.f.u {
            fold_unicode(set)
        } else {
            fold_ascii(set)
        }
    }

    fn set_op(&self, pending: Option<(Ranges, SetOp)>, rhs: Ranges) -> Ranges {
        let (lhs, op) = match pending {
            None => return rhs,
            Some(x) => x,
        };
        let (l, r) = if self.f.i { (self.fold(lhs), self.fold(rhs)) } else { (lhs, rhs) };
        match op {
            SetOp::And => intersect(&l, &r),
            SetOp::Minus => difference(&l, &r),
            SetOp::Xor => difference(&union(&l, &r), &intersect(&l, &r)),
        }
    }

    fn fold_negate(&self, set: Ranges, negated: bool, at: usize) -> Result<Ranges, String> {
        let mut set = if self.f.i { self.fold(set) } else { set };
        if negated {
            set = negate(&set, if self.f.u { MAX_CHAR } else { 0xFF });
        }
        if !self.f.u && set.last().map_or(false, |&(_, b)| b > 0x7F) {
            return Err(self.err(at, "this class is not allowed with (?-u): it could match invalid UTF-8"));
        }
        Ok(set)
    }

    /// `[:name:]` or `[:^name:]` at `[` inside a class; None (nothing consumed) when it is not one.
    fn ascii_class(&mut self) -> Result<Option<Ranges>, String> {
        let open = self.pos;
        if self.peek_at(1) != Some(':') {
            return Ok(None);
        }
        let mut k = self.pos + 2;
        let mut negated = false;
        if self.c.get(k) == Some(&'^') {
            negated = true;
            k += 1;
        }
        let name_start = k;
        while let Some(&c) = self.c.get(k) {
            if c == ':' {
                break;
            }
            k += 1;
        }
        if self.c.get(k) != Some(&':') || self.c.get(k + 1) != Some(&']') {
            return Ok(None);
        }
        let name: String = self.c.get(name_start..k).unwrap_or(&[]).iter().collect();
        let base = match ascii_class(&name) {
            Some(b) => b,
            None => return Ok(None),
        };
        self.pos = k + 2;
        self.fold_negate(base.to_vec(), negated, open).map(Some)
    }

    /// A class item or a range `a-z`.
    fn parse_class_range(&mut self, open: usize) -> Result<Ranges, String> {
        let at1 = self.pos;
        let first = self.class_item()?;
        self.skip_space();
        if self.eof() {
            return Err(self.err(open, "unclosed character class: missing `]`"));
        }
        if self.peek() != Some('-') || self.peek_space() == Some(']') || self.peek_space() == Some('-') {
            return match first {
                Item::Lit(c) => Ok(vec![(c as u32, c as u32)]),
                Item::Set(s) => Ok(s),
                Item::Look => Err(self.err(at1, "this escape is an assertion and not valid in a character class")),
            };
        }
        if !self.bump_skip() {
            return Err(self.err(open, "unclosed character class: missing `]`"));
        }
        let at2 = self.pos;
        let second = self.class_item()?;
        let a = match first {
            Item::Lit(c) => c,
            _ => return Err(self.err(at1, "invalid range boundary: it must be a single character")),
        };
        let b = match second {
            Item::Lit(c) => c,
            _ => return Err(self.err(at2, "invalid range boundary: it must be a single character")),
        };
        if a > b {
            return Err(self.err(at1, "invalid character class range: the start must be <= the end"));
        }
        Ok(vec![(a as u32, b as u32)])
    }

    fn class_item(&mut self) -> Result<Item, String> {
        let at = self.pos;
        let it = if self.peek() == Some('\\') {
            match self.parse_escape()? {
                Esc::Lit(c) => Item::Lit(c),
                Esc::Perl(k, neg) => Item::Set(self.perl(k, neg, true)),
                Esc::Look(_) => Item::Look,
            }
        } else {
            match self.peek() {
                Some(c) => {
                    self.pos += 1;
                    Item::Lit(c)
                }
                None => return Err(self.err(at, "unclosed character class: missing `]`")),
            }
        };
        if let Item::Lit(c) = it {
            if !self.f.u && !c.is_ascii() {
                return Err(self.err(at, "non-ASCII characters are not allowed with (?-u)"));
            }
        }
        Ok(it)
    }
}

fn concat(items: Vec<(Node, u32, bool)>) -> (Node, u32) {
    let h = items.iter().map(|x| x.1).max().unwrap_or(0);
    let mut v: Vec<Node> = items.into_iter().map(|x| x.0).filter(|n| !matches!(n, Node::Empty)).collect();
    match v.len() {
        0 => (Node::Empty, h),
        1 => (v.pop().unwrap_or(Node::Empty), h),
        _ => (Node::Concat(v), h),
    }
}

// ---------------------------------------------------------------------------------------------
// Unicode 14 data, generated from regex-syntax 0.6.27's tables (the exhaustive tests below compare
// them with regex-syntax), compressed as LEB128 varints.

/// \w (regex-syntax perl_word): varint pairs (gap from the previous range end + 1, length - 1).
const WORD: &[u8] = &[
    48, 9, 7, 25, 4, 0, 1, 25, 47, 0, 10, 0, 4, 0, 5, 22, 1, 30, 1, 201, 3, 4, 11, 14, 4, 7, 0, 1, 0, 17, 116,
    1, 1, 2, 3, 1, 0, 6, 0, 1, 2, 1, 0, 1, 19, 1, 82, 1, 138, 1, 1, 172, 1, 1, 37, 2, 0, 6, 40, 8, 44, 1, 0,
    1, 1, 1, 1, 1, 0, 8, 26, 4, 3, 29, 10, 5, 73, 4, 101, 1, 7, 2, 9, 1, 18, 2, 0, 16, 58, 2, 100, 14, 53, 4,
    0, 2, 0, 2, 45, 18, 27, 4, 10, 5, 23, 1, 5, 9, 73, 1, 128, 1, 2, 9, 1, 18, 1, 7, 2, 1, 2, 21, 1, 6, 1, 0,
    3, 3, 2, 8, 2, 1, 2, 3, 8, 0, 4, 1, 1, 4, 2, 11, 10, 0, 1, 0, 2, 2, 1, 5, 4, 1, 2, 21, 1, 6, 1, 1, 1, 1,
    1, 1, 2, 0, 1, 4, 4, 1, 2, 2, 3, 0, 7, 3, 1, 0, 7, 15, 11, 2, 1, 8, 1, 2, 1, 21, 1, 6, 1, 1, 1, 4, 2, 9,
    1, 2, 1, 2, 2, 0, 15, 3, 2, 9, 9, 6, 1, 2, 1, 7, 2, 1, 2, 21, 1, 6, 1, 1, 1, 4, 2, 8, 2, 1, 2, 2, 7, 2, 4,
    1, 1, 4, 2, 9, 1, 0, 16, 1, 1, 5, 3, 2, 1, 3, 3, 1, 1, 0, 1, 1, 3, 1, 3, 2, 3, 11, 4, 4, 3, 2, 1, 3, 2, 0,
    6, 0, 14, 9, 16, 12, 1, 2, 1, 22, 1, 15, 2, 8, 1, 2, 1, 3, 7, 1, 1, 2, 2, 0, 2, 3, 2, 9, 16, 3, 1, 7, 1,
    2, 1, 22, 1, 9, 1, 4, 2, 8, 1, 2, 1, 3, 7, 1, 6, 1, 1, 3, 2, 9, 1, 1, 13, 12, 1, 2, 1, 50, 1, 2, 1, 4, 5,
    3, 7, 4, 2, 9, 10, 5, 1, 2, 1, 17, 3, 23, 1, 8, 1, 0, 2, 6, 3, 0, 4, 5, 1, 0, 1, 7, 6, 9, 2, 1, 13, 57, 5,
    14, 1, 9, 39, 1, 1, 0, 1, 4, 1, 23, 1, 0, 1, 22, 2, 4, 1, 0, 1, 5, 2, 9, 2, 3, 32, 0, 23, 1, 6, 9, 11, 0,
    1, 0, 1, 0, 4, 9, 1, 35, 4, 19, 1, 17, 1, 35, 9, 0, 57, 73, 6, 77, 2, 37, 1, 0, 5, 0, 2, 42, 1, 204, 2, 1,
    3, 2, 6, 1, 0, 1, 3, 2, 40, 1, 3, 2, 32, 1, 3, 2, 6, 1, 0, 1, 3, 2, 14, 1, 56, 1, 3, 2, 66, 2, 2, 32, 15,
    16, 85, 2, 5, 3, 235, 4, 2, 16, 1, 25, 5, 74, 3, 10, 7, 21, 9, 21, 11, 19, 12, 12, 1, 2, 1, 1, 12, 83, 3,
    0, 4, 1, 2, 9, 33, 2, 1, 10, 6, 88, 7, 42, 5, 69, 10, 30, 1, 11, 4, 11, 10, 39, 2, 4, 11, 43, 4, 25, 6, 9,
    38, 27, 4, 62, 1, 28, 2, 10, 6, 9, 13, 0, 8, 30, 49, 76, 3, 9, 17, 8, 12, 115, 12, 55, 8, 9, 3, 48, 2, 8,
    7, 42, 2, 2, 16, 2, 1, 38, 5, 149, 4, 2, 5, 2, 37, 2, 5, 2, 7, 1, 0, 1, 0, 1, 0, 1, 30, 2, 52, 1, 6, 1, 0,
    3, 2, 1, 6, 3, 3, 2, 5, 4, 12, 5, 2, 1, 6, 15, 1, 49, 1, 19, 0, 28, 0, 13, 0, 16, 12, 51, 32, 17, 0, 4, 0,
    2, 9, 1, 0, 3, 4, 6, 0, 1, 0, 1, 0, 1, 3, 1, 10, 2, 3, 5, 4, 4, 0, 17, 40, 173, 6, 51, 150, 14, 228, 1, 6,
    8, 12, 37, 1, 0, 5, 0, 2, 55, 7, 0, 15, 23, 9, 6, 1, 6, 1, 6, 1, 6, 1, 6, 1, 6, 1, 6, 1, 6, 1, 31, 47, 0,
    213, 3, 2, 25, 14, 1, 4, 2, 4, 4, 85, 2, 1, 2, 2, 1, 89, 1, 3, 5, 42, 1, 93, 17, 31, 48, 15, 128, 4, 191,
    51, 64, 140, 173, 1, 67, 45, 2, 140, 2, 3, 27, 20, 50, 1, 9, 1, 114, 37, 8, 2, 102, 2, 63, 5, 1, 1, 0, 1,
    4, 24, 53, 4, 0, 19, 51, 12, 69, 10, 9, 6, 23, 3, 0, 1, 48, 2, 35, 12, 28, 3, 64, 14, 10, 6, 30, 1, 54, 9,
    13, 2, 9, 6, 22, 3, 72, 24, 2, 2, 15, 2, 4, 10, 5, 2, 5, 2, 5, 9, 6, 1, 6, 1, 42, 1, 13, 6, 122, 1, 1, 2,
    9, 6, 163, 87, 12, 22, 4, 48, 132, 66, 237, 2, 2, 105, 38, 6, 12, 4, 5, 11, 1, 12, 1, 4, 1, 0, 1, 1, 1, 1,
    1, 107, 33, 234, 2, 18, 63, 2, 53, 40, 11, 4, 15, 16, 15, 3, 1, 24, 2, 32, 4, 1, 134, 1, 19, 9, 7, 25, 4,
    0, 1, 25, 11, 88, 3, 5, 2, 5, 2, 5, 2, 2, 35, 11, 1, 25, 1, 18, 1, 1, 1, 14, 2, 13, 34, 122, 69, 52, 136,
    1, 0, 130, 1, 28, 3, 48, 15, 0, 31, 31, 13, 29, 5, 42, 5, 29, 2, 35, 4, 7, 1, 4, 42, 157, 1, 2, 9, 6, 35,
    4, 35, 4, 39, 8, 51, 12, 10, 1, 14, 1, 6, 1, 1, 1, 10, 1, 14, 1, 6, 1, 1, 67, 182, 2, 9, 21, 10, 7, 24, 5,
    1, 41, 1, 8, 69, 5, 2, 0, 1, 43, 1, 1, 3, 0, 2, 22, 10, 22, 9, 30, 65, 18, 1, 1, 10, 21, 10, 25, 70, 55,
    6, 1, 64, 3, 1, 1, 5, 7, 1, 2, 1, 28, 2, 2, 4, 0, 32, 28, 3, 28, 35, 7, 1, 29, 25, 53, 10, 21, 10, 18, 13,
    17, 110, 72, 55, 50, 13, 50, 13, 39, 8, 9, 198, 2, 41, 1, 1, 3, 1, 78, 28, 10, 0, 8, 32, 31, 21, 42, 20,
    27, 22, 9, 70, 31, 15, 9, 59, 7, 0, 13, 24, 7, 9, 6, 52, 1, 9, 4, 3, 8, 35, 2, 0, 9, 68, 4, 3, 1, 12, 1,
    0, 35, 17, 1, 36, 6, 0, 65, 6, 1, 0, 1, 3, 1, 14, 1, 9, 7, 58, 5, 9, 6, 3, 1, 7, 2, 1, 2, 21, 1, 6, 1, 1,
    1, 4, 1, 9, 2, 1, 2, 2, 2, 0, 6, 0, 5, 6, 2, 6, 3, 4, 139, 1, 74, 5, 9, 4, 3, 30, 69, 1, 0, 8, 9, 166, 1,
    53, 2, 8, 23, 5, 34, 64, 3, 0, 11, 9, 38, 56, 7, 9, 54, 26, 2, 14, 4, 9, 6, 6, 185, 1, 58, 101, 73, 21, 7,
    2, 0, 2, 7, 1, 1, 1, 29, 1, 1, 2, 8, 12, 9, 70, 7, 2, 45, 2, 7, 1, 1, 27, 62, 8, 0, 8, 73, 3, 0, 18, 72,
    135, 2, 8, 1, 44, 1, 8, 15, 9, 24, 29, 2, 21, 1, 13, 73, 6, 1, 1, 1, 43, 3, 0, 1, 1, 1, 8, 8, 9, 6, 5, 1,
    1, 1, 36, 1, 1, 1, 5, 7, 9, 182, 2, 22, 185, 1, 0, 79, 153, 7, 102, 110, 17, 195, 1, 204, 20, 96, 15, 174,
    8, 209, 31, 198, 4, 185, 67, 184, 4, 7, 30, 1, 9, 6, 78, 1, 9, 6, 29, 2, 4, 11, 54, 9, 3, 12, 9, 9, 20, 5,
    18, 176, 5, 63, 128, 1, 74, 4, 56, 7, 16, 64, 1, 1, 1, 11, 1, 14, 247, 47, 8, 213, 9, 42, 8, 231, 69, 3,
    1, 6, 1, 1, 1, 162, 2, 45, 2, 17, 3, 8, 139, 3, 132, 18, 106, 5, 12, 3, 8, 7, 9, 3, 1, 225, 36, 45, 2, 22,
    158, 4, 4, 3, 5, 8, 7, 2, 6, 30, 3, 148, 1, 2, 187, 3, 84, 1, 70, 1, 1, 2, 0, 2, 1, 2, 3, 1, 11, 1, 0, 1,
    6, 1, 64, 1, 3, 2, 7, 1, 6, 1, 27, 1, 3, 1, 4, 1, 0, 3, 6, 1, 211, 2, 2, 24, 1, 24, 1, 30, 1, 24, 1, 30,
    1, 24, 1, 30, 1, 24, 1, 30, 1, 24, 1, 7, 2, 49, 128, 4, 54, 4, 49, 8, 0, 14, 0, 22, 4, 1, 14, 208, 8, 30,
    225, 1, 6, 1, 16, 2, 6, 1, 1, 1, 4, 213, 1, 44, 3, 13, 2, 9, 4, 0, 193, 2, 30, 17, 57, 230, 9, 6, 1, 3, 1,
    1, 1, 14, 1, 196, 1, 11, 6, 41, 75, 4, 9, 166, 9, 3, 1, 26, 1, 1, 1, 0, 2, 0, 1, 9, 1, 3, 1, 0, 1, 0, 6,
    0, 4, 0, 1, 0, 1, 0, 1, 2, 1, 1, 1, 0, 2, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 2, 3, 1, 6, 1, 3, 1, 3,
    1, 0, 1, 9, 1, 16, 5, 2, 1, 4, 1, 16, 244, 4, 25, 6, 25, 6, 25, 230, 20, 9, 134, 8, 223, 205, 2, 32, 184,
    32, 7, 221, 1, 2, 129, 45, 14, 176, 58, 159, 24, 157, 4, 226, 11, 202, 38, 181, 219, 43, 239, 1,
];
/// \d (Nd), encoded like WORD.
const DIGIT: &[u8] = &[
    48, 9, 166, 12, 9, 134, 1, 9, 198, 1, 9, 156, 3, 9, 118, 9, 118, 9, 118, 9, 118, 9, 118, 9, 118, 9, 118,
    9, 118, 9, 118, 9, 96, 9, 118, 9, 70, 9, 150, 2, 9, 70, 9, 198, 14, 9, 38, 9, 172, 2, 9, 128, 1, 9, 166,
    1, 9, 6, 9, 182, 1, 9, 86, 9, 134, 1, 9, 6, 9, 198, 147, 2, 9, 166, 5, 9, 38, 9, 198, 1, 9, 22, 9, 86, 9,
    150, 3, 9, 150, 166, 1, 9, 134, 11, 9, 134, 17, 9, 172, 6, 9, 128, 1, 9, 60, 9, 144, 1, 9, 150, 2, 9, 214,
    2, 9, 118, 9, 246, 2, 9, 102, 9, 102, 9, 166, 3, 9, 102, 9, 246, 5, 9, 246, 1, 9, 70, 9, 182, 153, 1, 9,
    86, 9, 134, 1, 9, 244, 216, 1, 49, 192, 18, 9, 166, 3, 9, 214, 12, 9, 150, 37, 9,
];
/// \s (White_Space), encoded like WORD.
const SPACE: &[u8] = &[
    9, 4, 18, 0, 100, 0, 26, 0, 223, 43, 0, 255, 18, 10, 29, 1, 5, 0, 47, 0, 160, 31, 0,
];
/// Simple case folding: runs of characters each mapped to the next member of its orbit (orbits
/// sorted and cyclic, at most 4 members). Varint triples: start - previous start, (count - 1) * 2 +
/// (stride - 1), |delta| * 2 + (delta < 0).
const FOLD: &[u8] = &[
    65, 50, 64, 32, 18, 65, 10, 0, 254, 130, 1, 1, 12, 65, 7, 0, 152, 4, 1, 12, 65, 65, 0, 206, 11, 11, 44,
    64, 24, 12, 64, 7, 0, 254, 118, 1, 8, 65, 5, 0, 140, 129, 1, 1, 32, 65, 18, 12, 65, 7, 0, 242, 1, 1, 47,
    2, 1, 47, 3, 49, 5, 2, 1, 5, 3, 6, 15, 2, 1, 15, 3, 16, 45, 2, 1, 45, 3, 45, 0, 243, 1, 1, 5, 2, 1, 5, 3,
    5, 0, 217, 4, 1, 0, 134, 3, 1, 0, 164, 3, 1, 3, 2, 1, 3, 3, 3, 0, 156, 3, 1, 0, 2, 1, 0, 3, 1, 2, 154, 3,
    2, 0, 2, 1, 0, 3, 2, 0, 158, 1, 1, 0, 148, 3, 1, 0, 150, 3, 1, 0, 2, 1, 0, 3, 1, 0, 154, 3, 1, 0, 158, 3,
    1, 0, 194, 1, 1, 0, 166, 3, 1, 0, 162, 3, 1, 0, 2, 1, 0, 3, 1, 0, 198, 2, 2, 0, 166, 3, 1, 0, 170, 3, 1,
    0, 132, 2, 1, 0, 172, 3, 1, 5, 2, 1, 5, 3, 5, 0, 180, 3, 1, 0, 2, 1, 0, 3, 1, 0, 180, 3, 3, 0, 2, 1, 0, 3,
    1, 0, 180, 3, 1, 0, 2, 1, 0, 3, 1, 2, 178, 3, 2, 3, 2, 1, 3, 3, 3, 0, 182, 3, 1, 0, 2, 1, 0, 3, 3, 0, 2,
    1, 0, 3, 2, 0, 112, 5, 2, 2, 2, 0, 5, 1, 2, 2, 2, 0, 5, 1, 2, 2, 2, 0, 5, 1, 15, 2, 1, 15, 3, 15, 0, 159,
    1, 1, 17, 2, 1, 17, 3, 18, 2, 2, 2, 0, 5, 1, 0, 2, 1, 0, 3, 1, 0, 195, 1, 1, 0, 113, 1, 39, 2, 1, 39, 3,
    39, 0, 133, 2, 2, 17, 2, 1, 17, 3, 23, 0, 214, 168, 1, 1, 0, 2, 1, 0, 3, 1, 0, 199, 2, 1, 0, 208, 168, 1,
    1, 2, 254, 168, 1, 2, 0, 2, 1, 0, 3, 1, 0, 135, 3, 1, 0, 138, 1, 1, 0, 142, 1, 1, 9, 2, 1, 9, 3, 9, 0,
    190, 168, 1, 1, 0, 184, 168, 1, 1, 0, 188, 168, 1, 1, 0, 165, 3, 1, 0, 157, 3, 2, 2, 155, 3, 3, 0, 149, 3,
    2, 0, 151, 3, 1, 0, 158, 149, 5, 4, 0, 155, 3, 1, 0, 150, 149, 5, 2, 0, 159, 3, 2, 0, 208, 148, 5, 1, 0,
    136, 149, 5, 2, 0, 163, 3, 1, 0, 167, 3, 1, 0, 136, 149, 5, 1, 0, 238, 167, 1, 1, 0, 130, 149, 5, 3, 0,
    167, 3, 2, 0, 250, 167, 1, 1, 0, 171, 3, 3, 0, 173, 3, 8, 0, 206, 167, 1, 3, 0, 181, 3, 2, 0, 134, 149, 5,
    1, 0, 181, 3, 4, 0, 212, 148, 5, 1, 0, 181, 3, 1, 0, 139, 1, 1, 2, 179, 3, 2, 0, 143, 1, 6, 0, 183, 3, 11,
    0, 170, 148, 5, 1, 0, 164, 148, 5, 167, 1, 0, 168, 1, 43, 3, 2, 1, 3, 3, 5, 0, 2, 1, 0, 3, 4, 4, 132, 2,
    4, 0, 232, 1, 7, 0, 76, 2, 4, 74, 4, 0, 128, 1, 2, 2, 126, 3, 32, 64, 18, 0, 62, 1, 14, 64, 8, 0, 77, 1,
    4, 75, 4, 3, 65, 1, 0, 60, 2, 3, 65, 1, 0, 128, 1, 2, 0, 65, 1, 0, 50, 1, 0, 138, 112, 1, 0, 108, 1, 5,
    65, 1, 0, 143, 12, 2, 0, 65, 2, 0, 44, 1, 0, 96, 1, 0, 2, 1, 4, 65, 3, 0, 30, 1, 2, 65, 2, 0, 186, 117, 1,
    2, 65, 2, 0, 129, 1, 1, 2, 127, 2, 0, 16, 1, 0, 125, 1, 0, 70, 4, 0, 95, 1, 0, 109, 1, 0, 17, 1, 23, 2, 1,
    23, 3, 23, 0, 173, 1, 1, 0, 161, 1, 1, 0, 14, 1, 0, 233, 1, 1, 0, 185, 1, 1, 0, 193, 1, 2, 0, 2, 1, 0, 3,
    1, 0, 15, 1, 0, 2, 1, 0, 3, 2, 4, 133, 2, 3, 30, 160, 1, 16, 62, 64, 32, 2, 65, 2, 0, 156, 97, 1, 13, 65,
    1, 0, 154, 97, 2, 7, 65, 8, 0, 136, 97, 2, 0, 65, 1, 2, 132, 97, 2, 12, 65, 7, 0, 248, 96, 1, 8, 65, 5,
    30, 161, 1, 16, 33, 2, 1, 0, 3, 2, 0, 200, 96, 2, 29, 3, 37, 53, 2, 1, 53, 3, 53, 0, 30, 1, 13, 2, 1, 13,
    3, 13, 0, 31, 1, 95, 2, 1, 95, 3, 96, 74, 96, 48, 74, 97, 191, 22, 74, 192, 113, 39, 0, 192, 113, 6, 0,
    192, 113, 3, 84, 128, 47, 45, 4, 128, 47, 163, 5, 158, 1, 160, 223, 4, 80, 10, 16, 8, 10, 17, 136, 17, 0,
    221, 97, 1, 0, 219, 97, 1, 0, 201, 97, 1, 0, 197, 97, 1, 0, 2, 1, 0, 199, 97, 1, 0, 185, 97, 1, 0, 203,
    96, 1, 0, 132, 167, 4, 8, 84, 129, 47, 45, 4, 129, 47, 188, 1, 0, 136, 168, 4, 4, 0, 204, 59, 17, 0, 240,
    168, 4, 114, 149, 1, 2, 1, 95, 3, 96, 0, 116, 2, 51, 3, 56, 0, 119, 3, 0, 255, 118, 2, 95, 2, 1, 95, 3,
    95, 14, 16, 8, 14, 17, 8, 10, 16, 8, 10, 17, 8, 14, 16, 8, 14, 17, 8, 14, 16, 8, 14, 17, 8, 10, 16, 8, 10,
    17, 9, 7, 16, 8, 7, 17, 7, 14, 16, 8, 14, 17, 8, 2, 148, 1, 2, 6, 172, 1, 4, 2, 200, 1, 2, 2, 128, 2, 2,
    2, 224, 1, 2, 2, 252, 1, 4, 14, 16, 8, 14, 17, 8, 14, 16, 8, 14, 17, 8, 14, 16, 8, 14, 17, 8, 2, 16, 3, 0,
    18, 5, 2, 17, 2, 2, 149, 1, 2, 0, 19, 2, 0, 243, 113, 5, 0, 18, 5, 6, 173, 1, 4, 0, 19, 4, 2, 16, 8, 2,
    17, 2, 2, 201, 1, 6, 2, 16, 5, 0, 14, 3, 2, 17, 2, 2, 225, 1, 2, 0, 15, 7, 0, 18, 5, 2, 129, 2, 2, 2, 253,
    1, 2, 0, 19, 170, 2, 0, 251, 117, 4, 0, 191, 131, 1, 1, 0, 205, 129, 1, 7, 0, 56, 28, 0, 57, 18, 30, 32,
    16, 30, 33, 19, 0, 2, 1, 0, 3, 178, 6, 50, 52, 26, 50, 53, 176, 14, 94, 96, 48, 94, 97, 48, 0, 2, 1, 0, 3,
    1, 0, 239, 167, 1, 1, 0, 205, 59, 1, 0, 207, 167, 1, 1, 0, 215, 168, 1, 1, 0, 209, 168, 1, 1, 5, 2, 1, 5,
    3, 5, 0, 185, 168, 1, 1, 0, 251, 167, 1, 1, 0, 191, 168, 1, 1, 0, 189, 168, 1, 2, 0, 2, 1, 0, 3, 2, 0, 2,
    1, 0, 3, 8, 2, 255, 168, 1, 2, 99, 2, 1, 99, 3, 106, 3, 2, 1, 3, 3, 6, 0, 2, 1, 0, 3, 13, 74, 193, 113,
    39, 0, 193, 113, 6, 0, 193, 113, 147, 242, 1, 45, 2, 1, 9, 3, 10, 0, 135, 167, 4, 2, 33, 3, 51, 27, 2, 1,
    27, 3, 161, 1, 13, 2, 1, 13, 3, 15, 61, 2, 1, 61, 3, 70, 3, 2, 1, 3, 3, 3, 0, 137, 168, 4, 1, 9, 2, 1, 9,
    3, 12, 0, 2, 1, 0, 3, 1, 0, 209, 148, 5, 3, 3, 2, 1, 3, 3, 3, 0, 96, 2, 19, 2, 1, 19, 3, 19, 0, 137, 149,
    5, 1, 0, 159, 149, 5, 1, 0, 151, 149, 5, 1, 0, 131, 149, 5, 1, 0, 137, 149, 5, 2, 0, 165, 148, 5, 1, 0,
    213, 148, 5, 1, 0, 171, 148, 5, 1, 0, 192, 14, 1, 15, 2, 1, 15, 3, 15, 0, 97, 1, 0, 135, 149, 5, 1, 0,
    241, 168, 4, 1, 3, 2, 1, 3, 3, 8, 0, 2, 1, 0, 3, 5, 3, 2, 1, 3, 3, 30, 0, 2, 1, 0, 3, 221, 6, 0, 193, 14,
    29, 158, 1, 161, 223, 4, 177, 167, 1, 50, 64, 32, 50, 65, 191, 9, 78, 80, 40, 78, 81, 136, 1, 70, 80, 40,
    70, 81, 152, 1, 20, 78, 12, 28, 78, 16, 12, 78, 8, 2, 78, 3, 20, 79, 12, 28, 79, 16, 12, 79, 8, 2, 79,
    197, 13, 100, 128, 1, 64, 100, 129, 1, 224, 23, 62, 64, 32, 62, 65, 128, 171, 1, 62, 64, 32, 62, 65, 160,
    245, 1, 66, 68, 34, 66, 69,
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn m(p: &str, h: &str) -> bool {
        Regex::new(p).unwrap_or_else(|e| panic!("{:?}: {}", p, e)).is_match(h)
    }

    fn e(p: &str) -> String {
        match Regex::new(p) {
            Ok(_) => panic!("{:?} should be rejected", p),
            Err(e) => e,
        }
    }

    /// The error for `p` mentions `what` and the character offset `at`.
    fn rejects(p: &str, what: &str, at: usize) {
        let msg = e(p);
        assert!(msg.contains(what), "{:?}: {:?} does not mention {:?}", p, msg, what);
        assert!(msg.ends_with(&format!("at character offset {}", at)), "{:?}: {:?} is not at offset {}", p, msg, at);
    }

    #[test]
    fn regex_literals_and_escapes() {
        assert!(m("abc", "xxabcxx"));
        assert!(!m("abc", "ab c"));
        assert!(m("", ""));
        assert!(m("", "abc"));
        assert!(m("gpt-4", "model gpt-4o"));
        assert!(m(r"a\.b", "a.b"));
        assert!(!m(r"a\.b", "axb"));
        assert!(m(r"\\", r"a\b"));
        assert!(m(r"\n\t\r", "x\n\t\ry"));
        assert!(m(r"\a\f\v", "\x07\x0C\x0B"));
        assert!(m(r"\x41", "A"));
        assert!(m(r"\x{1F600}", "smile 😀"));
        assert!(m(r"\u{e9}", "café"));
        assert!(m(r"\u00e9", "café"));
        assert!(m(r"\U0001F600", "😀"));
        assert!(m(r"\+\*\?\(\)\|\[\]\{\}\^\$\#\&\-\~", "+*?()|[]{}^$#&-~"));
        assert!(m("é+", "caféé"));
        assert!(m("😀{2}", "😀😀"));
        assert!(!m("😀{2}", "😀 😀"));
        // regex 1.8+ extension: escaped ASCII punctuation is literal.
        assert!(m(r#"a\/b\'\"\_\!\@\%\,\:\;\="#, "a/b'\"_!@%,:;="));
        assert!(m("}", "}"));
        assert!(m("]", "]"));
    }

    #[test]
    fn regex_dot_classes_and_perl() {
        assert!(m("a.c", "abc"));
        assert!(m("a.c", "aéc"));
        assert!(!m("a.c", "a\nc"));
        assert!(m("(?s)a.c", "a\nc"));
        assert!(m("(?s:a.c)", "a\nc"));
        assert!(m("^[abc]+$", "abcba"));
        assert!(!m("^[abc]+$", "abcd"));
        assert!(m("^[a-z0-9_]+$", "user_42"));
        assert!(m("^[^a-z]+$", "ABC123"));
        assert!(!m("^[^a-z]+$", "ABcD"));
        assert!(m(r"[\]\[\\\-]", "-"));
        assert!(m("[]a]", "]"));
        assert!(m("[^]a]", "b"));
        assert!(!m("[^]a]", "]"));
        assert!(m("[a-]", "-"));
        assert!(m("[-a]", "-"));
        assert!(m("[a-c-e]", "-"));
        assert!(m(r"[\d\s]", " "));
        assert!(m(r"[\x41-\x43]", "B"));
        assert!(m("[[:alpha:]]", "q"));
        assert!(!m("^[[:alpha:]]$", "1"));
        assert!(m("^[[:^alpha:]]$", "1"));
        assert!(m("^[[:word:][:punct:]]+$", "a_b!"));
        assert!(m("^[:alpha:]+$", ":ahlp"));
        assert!(m("^[[:alpha:]-z]+$", "a-z"));
        assert!(m("^[a[bc]]+$", "abc"));
        assert!(m("^[a-z&&[^aeiou]]+$", "xyz"));
        assert!(!m("^[a-z&&[^aeiou]]+$", "xaz"));
        assert!(m("^[a-z--[aeiou]]+$", "bcd"));
        assert!(!m("^[a-z--[aeiou]]+$", "bad"));
        assert!(m("^[a-c~~b-d]+$", "ad"));
        assert!(!m("^[a-c~~b-d]+$", "b"));
        assert!(m(r"^\d+$", "0123456789"));
        assert!(m(r"^\d+$", "٣٤٥")); // Arabic-Indic digits are Nd
        assert!(!m(r"^\d$", "²")); // superscript two is No, not Nd
        assert!(!m(r"^\d$", "Ⅳ")); // Roman numeral is Nl
        assert!(m(r"^\D$", "x"));
        assert!(m(r"^\w+$", "héllo_wörld42"));
        assert!(m(r"^\w+$", "e\u{301}")); // combining mark
        assert!(m(r"^\w+$", "日本語"));
        assert!(!m(r"\w", " -!"));
        assert!(m(r"^\W+$", " -!"));
        assert!(m(r"^\s+$", " \t\n\r\x0B\x0C\u{85}\u{A0}\u{2028}\u{3000}"));
        assert!(!m(r"\s", "\u{200B}")); // zero-width space is not White_Space
        assert!(m(r"^\S+$", "abc"));
        assert!(m(r"(?-u)^\d+$", "123"));
        assert!(!m(r"(?-u)\d", "٣"));
        assert!(!m(r"(?-u)\w", "é"));
        assert!(m(r"(?-u)\W", "é"));
        assert!(m(r"(?-u)^[[:alpha:]]+$", "abc"));
    }

    #[test]
    fn regex_anchors_and_boundaries() {
        assert!(m("^abc", "abcd"));
        assert!(!m("^abc", "xabc"));
        assert!(m("abc$", "xabc"));
        assert!(!m("abc$", "abc\n"));
        assert!(!m("^b", "a\nb"));
        assert!(m("(?m)^b", "a\nb"));
        assert!(m("(?m)a$", "a\nb"));
        assert!(!m("(?m)a$", "a\rb"));
        assert!(m(r"\Aabc\z", "abc"));
        assert!(!m(r"(?m)\Ab", "a\nb"));
        assert!(!m(r"(?m)a\z", "a\nb"));
        assert!(m(r"\bcat\b", "a cat!"));
        assert!(!m(r"\bcat\b", "concat"));
        assert!(m(r"\Bcat", "concat"));
        assert!(!m(r"\bé", "café"));
        assert!(m(r"\bé", "é"));
        assert!(m(r"é\b", "café!"));
        assert!(m(r"(?-u)\bcat\b", "a cat"));
        assert!(m(r"(?-u)a\b", "aé")); // é is not an ASCII word character
        assert!(!m(r"a\b", "aé"));
        assert!(m("^$", ""));
        assert!(!m("^$", "a"));
        assert!(m("(?m)^$", "a\n\nb"));
        assert!(m("$^", ""));
        assert!(m(r"^*a", "a")); // repeated assertions are allowed
    }

    #[test]
    fn regex_groups_alternation_repetition() {
        assert!(m("^gpt-4o(-mini)?$", "gpt-4o-mini"));
        assert!(m("^gpt-4o(-mini)?$", "gpt-4o"));
        assert!(!m("^gpt-4o(-mini)?$", "gpt-4o-max"));
        assert!(m("^(?:ab)+$", "ababab"));
        assert!(!m("^(?:ab)+$", "ababa"));
        assert!(m("^(?P<x>a|b)c$", "bc"));
        assert!(m("^(?<x>a|b)c$", "ac"));
        assert!(m("cat|dog", "hotdog"));
        assert!(m("^(cat|dog)$", "dog"));
        assert!(!m("^cat|dog$", "the cats dogs"));
        assert!(m("^cat|dog$", "cats"));
        assert!(m("a|", "zzz"));
        assert!(m("|", ""));
        assert!(m("()", "x"));
        assert!(m("^(|a)b$", "b"));
        assert!(m("^a*$", ""));
        assert!(m("^a+$", "aaa"));
        assert!(!m("^a+$", ""));
        assert!(m("^a?b$", "b"));
        assert!(m("^a{3}$", "aaa"));
        assert!(!m("^a{3}$", "aa"));
        assert!(!m("^a{3}$", "aaaa"));
        assert!(m("^a{2,}$", "aaaaa"));
        assert!(!m("^a{2,}$", "a"));
        assert!(m("^a{1,3}$", "aa"));
        assert!(!m("^a{1,3}$", "aaaa"));
        assert!(m("^a{0}$", ""));
        assert!(m("^a{ 2 , 3 }$", "aa"));
        assert!(m("^a*?b+?c??d{1,2}?$", "bd"));
        assert!(m("^(?U)a*b$", "aab"));
        assert!(m("^a**$", "aaa"));
        assert!(m("^(a*)*$", "aaa"));
        assert!(m("^(a*)+b$", "b"));
        assert!(m("^(?:){4294967295}a$", "a"));
        assert!(m(r"[0-9]{3}-[0-9]{2}-[0-9]{4}", "ssn 123-45-6789 here"));
        assert!(m("^[a-f0-9]{8}$", "deadbeef"));
        assert!(m(r"\b\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}\b", "card 4111 1111 1111 1111."));
        assert!(!m(r"\b\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}\b", "card 41111 1111 1111 1111"));
        assert!(m("(ghp|gho|ghs)_[A-Za-z0-9]{36}", "token ghp_abcdefghijklmnopqrstuvwxyz0123456789"));
    }

    #[test]
    fn regex_flags() {
        assert!(m("(?i)ignore\\s+(all|any|previous)\\s+instructions", "Please IGNORE all Instructions"));
        assert!(m("(?i)abc", "ABC"));
        assert!(m("(?i)k", "\u{212A}")); // Kelvin sign
        assert!(m("(?i)\u{212A}", "k"));
        assert!(m("(?i)s", "\u{17F}")); // long s
        assert!(m("(?i)σ", "ς"));
        assert!(m("(?i)Σ", "ς"));
        assert!(m("(?i)é", "É"));
        assert!(m("(?i)ǅ", "ǆ"));
        assert!(m("(?i)ß", "ẞ"));
        assert!(!m("(?i)ß", "ss")); // simple folding only
        assert!(!m("(?i)i", "ı")); // dotless i has no simple folding to i
        assert!(m("(?i)[a-z]+", "HELLO"));
        assert!(m("(?i)[k]", "\u{212A}"));
        assert!(!m("(?i)^[^k]$", "K"));
        assert!(!m("(?i)^[^k]$", "\u{212A}"));
        assert!(m("(?i)^[^k]$", "j"));
        assert!(m("(?i)[[:upper:]]", "\u{17F}"));
        assert!(m("a(?i)b", "aB"));
        assert!(!m("a(?i)b", "AB"));
        assert!(m("(?i)a(?-i)b", "Ab"));
        assert!(!m("(?i)a(?-i)b", "AB"));
        assert!(m("(?i:a)b", "Ab"));
        assert!(!m("(?i:a)b", "AB"));
        assert!(m("(a(?i)b)c", "aBc"));
        assert!(!m("(a(?i)b)c", "aBC"));
        assert!(m("(?i)a|b", "B")); // a directive lasts to the end of the group, across `|`
        assert!(m("(?i-u)k", "K"));
        assert!(!m("(?i-u)k", "\u{212A}"));
        assert!(m("(?ims)^A.B$", "x\na\nb"));
        assert!(m("(?x) a b  c # comment\n d", "abcd"));
        assert!(m(r"(?x) a\ b", "a b"));
        assert!(m("(?x)[ a ]", "a"));
        assert!(!m("(?x)[ a ]", " "));
        assert!(m("(?x)a{ 2 }", "aa"));
        assert!(m("(?x: a b )c d", "abc d"));
        assert!(m("(?u)\\w", "é"));
    }

    #[test]
    fn regex_errors() {
        rejects("(a", "unclosed group", 0);
        rejects("a)", "unopened group", 1);
        rejects("[a", "unclosed character class", 0);
        rejects("[a[b]", "unclosed character class", 0);
        rejects("[]", "unclosed character class", 0);
        rejects("[^\\s\\S]", "empty character class", 0);
        rejects("x[a&&b]", "empty character class", 1);
        rejects("(?i)[a--A]", "empty character class", 4);
        rejects("*", "nothing to repeat", 0);
        rejects("a|*", "nothing to repeat", 2);
        rejects("(?i)*", "nothing to repeat", 4);
        rejects("{2}", "nothing to repeat", 0);
        rejects("a{2", "unclosed counted repetition", 1);
        rejects("a{", "unclosed counted repetition", 1);
        rejects("a{,5}", "valid decimal", 2);
        rejects("a{x}", "valid decimal", 2);
        rejects("a{3,2}", "minimum must be <= the maximum", 1);
        rejects("a{4294967296}", "too large", 2);
        rejects(r"([a-z]+) \1", "backreferences", 9);
        rejects(r"\0", "backreferences", 0);
        rejects("a(?=b)", "look-around", 1);
        rejects("a(?!b)", "not supported: checkrd regexes run in linear time", 1);
        rejects("(?<=a)b", "look-around", 0);
        rejects("(?<!a)b", "look-around", 0);
        rejects(r"\p{L}", "Unicode property classes", 0);
        rejects(r"x\PL", "Unicode property classes", 1);
        rejects(r"[\pL]", "Unicode property classes", 1);
        rejects(r"\q", "unrecognized escape sequence `\\q`", 0);
        rejects(r"\<", "unrecognized escape", 0);
        rejects(r"\Z", "unrecognized escape", 0);
        rejects(r"ab\", "incomplete escape", 2);
        rejects(r"\x4", "incomplete escape", 3);
        rejects(r"\xZZ", "invalid hexadecimal digit", 2);
        rejects(r"\x{}", "empty hexadecimal", 2);
        rejects(r"\x{12", "missing `}`", 2);
        rejects(r"\x{110000}", "not a Unicode scalar value", 0);
        rejects(r"\x{D800}", "not a Unicode scalar value", 0);
        rejects(r"\x{FFFFFFFFFF}", "not a Unicode scalar value", 0);
        rejects("(?z)", "unrecognized flag `z`", 2);
        rejects("(?ii)", "duplicate flag `i`", 3);
        rejects("(?i-i)", "duplicate flag `i`", 4);
        rejects("(?--i)", "repeated negation", 3);
        rejects("(?i-)", "dangling flag negation", 3);
        rejects("(?-)", "dangling flag negation", 2);
        rejects("(?)", "empty flag group", 2);
        rejects("(?i", "unexpected end of pattern in flags", 3);
        rejects("(?", "unclosed group", 0);
        rejects("(?P<>a)", "empty capture group name", 4);
        rejects("(?P<1a>a)", "invalid character in capture group name", 4);
        rejects("(?P<a", "unclosed capture group name", 5);
        rejects("(?P<a>x)(?<a>y)", "duplicate capture group name `a`", 11);
        rejects("(?P=a)", "unrecognized flag `P`", 2);
        rejects("[b-a]", "start must be <= the end", 1);
        rejects(r"[a-\d]", "range boundary", 3);
        rejects(r"[\b]", "not valid in a character class", 1);
        rejects("(?-u).", "`.` is not allowed with (?-u)", 5);
        rejects("(?-u)é", "non-ASCII", 5);
        rejects("(?-u)[é]", "non-ASCII", 6);
        rejects(r"(?-u)\xFF", "non-ASCII", 5);
        rejects("(?-u)[^a]", "invalid UTF-8", 5);
        rejects(r"(?-u)[\W]", "invalid UTF-8", 5);
        rejects("(?-u)[[:^alpha:]]", "invalid UTF-8", 6);
        rejects(r"(?-u)\B", "`\\B` is not allowed", 5);
        assert!(e("a{1000}{1000}").contains("too large"));
        assert!(e("a{10000}").contains("more than 2000 instructions"));
        assert!(e("(?:a{100}){100}").contains("too large"));
        assert!(e("(a|b){0,5000}").contains("too large"));
        assert!(Regex::new("a{1998}").is_ok());
        assert!(e("a{2000}").contains("too large"));
        assert!(Regex::new("[a-z]{900}\\w{900}").is_ok());
        // Nesting: 64 levels are fine, 65 are not.
        let deep = |n: usize| format!("{}a{}", "(".repeat(n), ")".repeat(n));
        assert!(Regex::new(&deep(NEST_LIMIT as usize)).is_ok());
        assert!(e(&deep(NEST_LIMIT as usize + 1)).contains("nesting too deep (more than 64 levels"));
        assert!(e(&"(".repeat(100_000)).contains("nesting too deep"));
        assert!(e(&format!("a{}", "*".repeat(65))).contains("nesting too deep"));
        assert!(Regex::new(&format!("a{}", "*".repeat(63))).is_ok());
        assert!(e(&format!("{}a{}", "[".repeat(65), "]".repeat(65))).contains("nesting too deep"));
        assert!(Regex::new(&format!("{}a{}", "[".repeat(10), "]".repeat(10))).is_ok());
        assert!(e(&"[[:".repeat(5000)).contains("nesting too deep"));
    }

    /// Inputs that crash naive parsers: none of them may panic.
    #[test]
    fn regex_no_panics_on_odd_input() {
        let odd = [
            "\\", "(", ")", "[", "]", "{", "}", "[^", "[^]", "[-", "[--", "[&&", "[a&&", "[a--]", "[~~]", "(?", "(?P", "(?P<",
            "(?<", "(?x", "(?x)#", "(?x)[#]", "(?x)\\x{ 4 1 }", "(?x)\\x 4 1", "a{1,", "a{1,2", "a{ ", "\\x{", "\\u", "\\U0010FFFF",
            "\\U00110000", "[[:", "[[:alpha", "[[:alpha:", "[[:alpha:]", "[[:^", "[\\", "[a-", "[a-\\", "(?i)[\\x{10FFFF}-\\x{10FFFF}]",
            "[\\x{D7FF}-\\x{E000}--\\x{D7FF}--\\x{E000}]", "(?i)[^\\x00-\\x{10FFFF}]", "(?i)[\\x00-\\x{10FFFF}]", "\u{0}", "(?i)\u{10FFFF}",
        ];
        for p in odd.iter() {
            if let Ok(r) = Regex::new(p) {
                r.is_match("");
                r.is_match("abc\n\u{10FFFF}é");
            }
        }
        assert!(m("(?x)\\x{ 4 1 }", "A"));
        assert!(m("(?x)\\x 4 1", "A"));
        assert!(m("\\U0010FFFF", "\u{10FFFF}"));
        assert!(m("(?i)[\\x00-\\x{10FFFF}]", "x"));
    }

    #[test]
    fn regex_fast_paths() {
        // The literal, prefix, first-character and anchored skips must not change answers.
        let long = "x".repeat(10_000) + "needle" + &"y".repeat(10_000);
        assert!(m("needle", &long));
        assert!(m("need(le|y)", &long));
        assert!(m("n[e]edle", &long));
        assert!(m("(?i)NEEDLE", &long));
        assert!(m(r"\bneedle", "x needle"));
        assert!(!m(r"\bneedle", "xneedle"));
        assert!(m(r"e\b", &long) == false);
        assert!(m("^x+needle", &long));
        assert!(!m("^needle", &long));
        assert!(m("[n]eedle|^q", &long));
        assert!(m("y$", &long));
        assert!(!m("x$", &long));
        assert!(m("a*needle", &long));
        assert!(m("é", "caf\u{e9}"));
        let r = Regex::new("needle").unwrap();
        assert!(r.literal && r.prefix == "needle");
        let r = Regex::new(r"\bneedle\d").unwrap();
        assert!(r.prefix.is_empty() && r.first.is_some());
        let r = Regex::new("^a").unwrap();
        assert!(r.anchored);
        let r = Regex::new("^a|b").unwrap();
        assert!(!r.anchored);
        assert_eq!(format!("{:?}", Regex::new("a+b").unwrap()), "Regex(\"a+b\")");
    }

    /// The compressed \w, \d and \s tables equal regex-syntax's (Unicode 14).
    #[test]
    fn regex_unicode_tables_match_regex_syntax() {
        use ::regex_syntax::hir::{Class, HirKind};
        let ranges = |p: &str| -> Ranges {
            let hir = ::regex_syntax::ParserBuilder::new().build().parse(p).unwrap();
            match hir.kind() {
                HirKind::Class(Class::Unicode(c)) => c.iter().map(|r| (r.start() as u32, r.end() as u32)).collect(),
                k => panic!("{:?}", k),
            }
        };
        assert_eq!(decode(WORD), ranges(r"\w"));
        assert_eq!(decode(DIGIT), ranges(r"\d"));
        assert_eq!(decode(SPACE), ranges(r"\s"));
        assert_eq!(negate(&decode(WORD), MAX_CHAR), canon(ranges(r"\W")));
        for name in ["alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space", "upper", "word", "xdigit"] {
            assert_eq!(ascii_class(name).unwrap().to_vec(), ranges(&format!("[[:{}:]]", name)), "{}", name);
            assert_eq!(fold_unicode(ascii_class(name).unwrap().to_vec()), ranges(&format!("(?i)[[:{}:]]", name)), "{}", name);
        }
    }

    /// Case folding equals regex-syntax's simple case folding, for every character and for random classes.
    #[test]
    fn regex_case_folding_matches_regex_syntax() {
        use ::regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};
        let theirs = |r: &[(u32, u32)]| -> Ranges {
            let mut c = ClassUnicode::new(r.iter().map(|&(a, b)| ClassUnicodeRange::new(char::from_u32(a).unwrap(), char::from_u32(b).unwrap())));
            c.case_fold_simple();
            c.iter().map(|r| (r.start() as u32, r.end() as u32)).collect()
        };
        // The decoded table, as a map from each character to the next member of its orbit.
        let mut next = std::collections::HashMap::new();
        let (mut k, mut start) = (0usize, 0u32);
        while let (Some(ds), Some(cs), Some(dd)) = (varint(FOLD, &mut k), varint(FOLD, &mut k), varint(FOLD, &mut k)) {
            start += ds;
            let (count, stride) = ((cs >> 1) + 1, (cs & 1) + 1);
            let delta = if dd & 1 == 1 { -((dd >> 1) as i64) } else { (dd >> 1) as i64 };
            for j in 0..count {
                let c = start + j * stride;
                assert!(next.insert(c, (c as i64 + delta) as u32).is_none(), "{:X} twice", c);
            }
        }
        let mut cased = 0;
        for c in (0..=MAX_CHAR).filter(|&c| char::from_u32(c).is_some()) {
            let want = theirs(&[(c, c)]);
            let mut orbit = vec![(c, c)];
            let mut x = c;
            while let Some(&y) = next.get(&x) {
                if y == c {
                    break;
                }
                orbit.push((y, y));
                x = y;
                assert!(orbit.len() <= 4);
            }
            let orbit = canon(orbit);
            assert_eq!(orbit, want, "orbit of U+{:04X}", c);
            if want.len() > 1 || want[0].0 != want[0].1 {
                cased += 1;
                assert_eq!(fold_unicode(vec![(c, c)]), want, "fold of U+{:04X}", c);
            }
        }
        assert_eq!(cased, next.len());
        // Random classes, including large ranges.
        let mut r = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..3000 {
            let mut v = Vec::new();
            for _ in 0..1 + r.below(4) {
                let a = if r.one_in(2) { r.below(0x600) as u32 } else { r.below(0x20000) as u32 };
                let len = if r.one_in(4) { r.below(0x3000) as u32 } else { r.below(40) as u32 };
                let b = (a + len).min(MAX_CHAR);
                let (a, b) = if (0xD800..=0xDFFF).contains(&a) || (0xD800..=0xDFFF).contains(&b) { (0x41, 0x5A) } else { (a, b) };
                v.push((a, b));
            }
            let v = canon(v);
            assert_eq!(fold_unicode(v.clone()), theirs(&v), "{:X?}", v);
        }
        assert_eq!(fold_unicode(vec![(0, MAX_CHAR)]), canon(vec![(0, MAX_CHAR)]));
    }

    // -----------------------------------------------------------------------------------------
    // Differential test against the regex crate

    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            // xorshift64*
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() >> 33) as usize % n.max(1)
        }
        fn one_in(&mut self, n: usize) -> bool {
            self.below(n) == 0
        }
        fn pick<T: Copy>(&mut self, v: &[T]) -> T {
            v[self.below(v.len())]
        }
    }

    /// Characters for patterns: ASCII, case-folding specials (Kelvin sign, long s, sigmas, titlecase),
    /// a non-ASCII digit, a combining mark, and Unicode spaces.
    const LITS: &[char] = &[
        'a', 'b', 'c', 'x', 'A', 'B', 'k', 'K', '\u{212A}', 's', 'S', '\u{17F}', 'é', 'É', '1', '9', '٣', ' ', '_', '-', 'σ', 'ς', 'Σ', '\u{3000}',
        'ǅ', 'ǆ', '\u{301}', ',', '!',
    ];
    const HAY: &[char] = &[
        'a', 'b', 'c', 'x', 'A', 'B', 'k', 'K', '\u{212A}', 's', 'S', '\u{17F}', 'é', 'É', '1', '9', '٣', ' ', '\n', '_', '-', 'σ', 'ς', 'Σ',
        '\u{3000}', 'ǅ', 'ǆ', 'Ǆ', '\u{301}', '.', '\t', '!', '\r', ',', '😀', '\u{85}',
    ];

    struct Gen {
        r: Rng,
        names: u32,
    }

    impl Gen {
        fn lit(&mut self, out: &mut String, in_class: bool) {
            let c = self.r.pick(LITS);
            match self.r.below(12) {
                0 => out.push_str(&format!("\\x{{{:x}}}", c as u32)),
                1 if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02X}", c as u32)),
                2 if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
                _ if c == '-' && in_class => out.push_str("\\-"),
                _ => out.push(c),
            }
        }

        fn class(&mut self, out: &mut String, depth: u32) {
            out.push('[');
            if self.r.one_in(3) {
                out.push('^');
            }
            let n = 1 + self.r.below(3);
            for i in 0..n {
                if i > 0 && self.r.one_in(8) {
                    out.push_str(self.r.pick(&["&&", "--", "~~"]));
                }
                match self.r.below(11) {
                    0..=3 => self.lit(out, true),
                    4 | 5 => {
                        let (mut a, mut b) = (self.r.pick(LITS), self.r.pick(LITS));
                        if a > b {
                            std::mem::swap(&mut a, &mut b);
                        }
                        for c in [a, b] {
                            if c == '-' {
                                out.push_str("\\-");
                            } else {
                                out.push(c);
                            }
                            if c == a {
                                out.push('-');
                            }
                        }
                        // (when a == b the loop above writes `a-a-`; fix it to a single range)
                        if a == b {
                            let cut = out.rfind('-').unwrap();
                            out.truncate(cut);
                            if a == '-' {
                                out.push('-');
                            }
                        }
                    }
                    6 => out.push_str(self.r.pick(&["\\d", "\\w", "\\s", "\\D", "\\W", "\\S"])),
                    7 => out.push_str(self.r.pick(&["[:alpha:]", "[:^alpha:]", "[:digit:]", "[:word:]", "[:upper:]", "[:lower:]", "[:space:]", "[:punct:]"])),
                    8 if depth < 2 => self.class(out, depth + 1),
                    9 => out.push_str(self.r.pick(&["\\n", "\\t", "\\]", "\\[", "\\^", "\\&", "\\~", "\\\\", "\\x{e9}"])),
                    _ => self.lit(out, true),
                }
            }
            out.push(']');
        }

        fn atom(&mut self, out: &mut String, depth: u32) {
            match self.r.below(100) {
                0..=33 => self.lit(out, false),
                34..=40 => out.push_str(self.r.pick(&["\\d", "\\w", "\\s", "\\D", "\\W", "\\S"])),
                41..=46 => out.push('.'),
                47..=60 => self.class(out, 0),
                61..=68 => out.push_str(self.r.pick(&["^", "$", "\\A", "\\z", "\\b", "\\B", "^", "$"])),
                69..=82 if depth < 3 => {
                    let open = match self.r.below(12) {
                        0..=3 => "(".to_string(),
                        4..=5 => "(?:".to_string(),
                        6 => {
                            self.names += 1;
                            format!("(?P<g{}>", self.names)
                        }
                        7 => "(?i:".to_string(),
                        8 => "(?-i:".to_string(),
                        9 => "(?s:".to_string(),
                        10 => "(?m:".to_string(),
                        _ => "(?is-m:".to_string(),
                    };
                    out.push_str(&open);
                    self.alt(out, depth + 1);
                    out.push(')');
                }
                83..=90 => {
                    let f = ["(?i)", "(?-i)", "(?m)", "(?s)", "(?is)", "(?i-s)", "(?U)", "(?m-i)", "(?i)", "(?x)", "(?-u)", "(?u)", "(?i-u)", "(?-x)"];
                    out.push_str(self.r.pick(&f));
                }
                91..=95 => out.push_str(self.r.pick(&["\\n", "\\t", "\\.", "\\-", "\\x61", "\\u{e9}", "\\#", "\\ "])),
                96 => {
                    self.names += 1;
                    out.push_str(&format!("(?<n{}>a)", self.names));
                }
                _ => out.push_str(self.r.pick(&["()", "(?:)", "(|a)", "(a|)"])),
            }
        }

        fn quant(&mut self, out: &mut String) {
            if self.r.below(10) < 3 {
                let q = ["?", "*", "+", "{0}", "{1}", "{2}", "{3}", "{0,}", "{1,}", "{2,}", "{0,1}", "{0,2}", "{1,3}", "{2,2}", "{ 2 }", "*", "+", "?"];
                out.push_str(self.r.pick(&q));
                if self.r.one_in(6) {
                    out.push('?');
                }
            }
        }

        fn concat(&mut self, out: &mut String, depth: u32) {
            for _ in 0..self.r.below(5) {
                self.atom(out, depth);
                self.quant(out);
            }
        }

        fn alt(&mut self, out: &mut String, depth: u32) {
            let n = if self.r.one_in(3) { 2 + self.r.below(2) } else { 1 };
            for i in 0..n {
                if i > 0 {
                    out.push('|');
                }
                self.concat(out, depth);
            }
        }

        fn pattern(&mut self) -> String {
            let mut s = String::new();
            self.alt(&mut s, 0);
            s
        }

        fn haystack(&mut self, pattern: &str, len: usize) -> String {
            let from_pattern: Vec<char> = pattern.chars().filter(|c| HAY.contains(c)).collect();
            let mut h = String::new();
            for _ in 0..len {
                if !from_pattern.is_empty() && self.r.one_in(2) {
                    h.push(self.r.pick(&from_pattern));
                } else {
                    h.push(self.r.pick(HAY));
                }
            }
            h
        }
    }

    /// Why a disagreement is a documented, deliberate difference (see the module docs), or None.
    fn known_difference(p: &str, ours: &Result<Regex, String>, theirs: &Result<::regex::Regex, ::regex::Error>, h: Option<&str>) -> Option<&'static str> {
        match (ours, theirs) {
            (Err(e), Ok(_)) if e.contains("too large") || e.contains("nesting too deep") => Some("size and nesting limits"),
            (Ok(_), Ok(_)) if p.contains("-u") && ["\\W", "\\D", "\\S"].iter().any(|c| p.contains(c)) && h.map_or(false, |h| !h.is_ascii()) => {
                Some("(?-u) \\W \\D \\S match a whole character, not one byte")
            }
            _ => None,
        }
    }

    #[test]
    fn regex_differential_against_regex_crate() {
        let (mut patterns, mut both_ok, mut both_err, mut haystacks, mut agree, mut matched) = (0usize, 0usize, 0usize, 0usize, 0usize, 0usize);
        let mut known: Vec<(&'static str, usize, String)> = Vec::new();
        let mut failures: Vec<String> = Vec::new();
        let started = Instant::now();
        for seed in 1..=6u64 {
            let mut g = Gen { r: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1), names: 0 };
            for _ in 0..4000 {
                let p = g.pattern();
                patterns += 1;
                let mut theirs = ::regex::Regex::new(&p);
                if p.contains("(?<n") && theirs.as_ref().err().map_or(false, |e| e.to_string().contains("unrecognized flag")) {
                    // regex 1.7 lacks the `(?<name>` spelling (a documented extension): compare with `(?P<name>`.
                    note(&mut known, "(?<name>...) groups (regex 1.9 syntax), compared as (?P<name>...)", p.clone());
                    theirs = ::regex::Regex::new(&p.replace("(?<n", "(?P<n"));
                }
                let ours = Regex::new(&p);
                match (&ours, &theirs) {
                    (Ok(o), Ok(t)) => {
                        both_ok += 1;
                        let mut hs: Vec<String> = vec![String::new()];
                        for k in 0..15 {
                            let len = if k < 12 { g.r.below(9) } else { 20 + g.r.below(60) };
                            hs.push(g.haystack(&p, len));
                        }
                        for h in &hs {
                            haystacks += 1;
                            let (a, b) = (o.is_match(h), t.is_match(h));
                            matched += b as usize;
                            if a == b {
                                agree += 1;
                            } else if let Some(why) = known_difference(&p, &ours, &theirs, Some(h)) {
                                note(&mut known, why, format!("{:?} on {:?}: ours {}, regex {}", p, h, a, b));
                            } else {
                                failures.push(format!("{:?} on {:?}: ours {}, regex {}", p, h, a, b));
                            }
                        }
                    }
                    (Err(_), Err(_)) => both_err += 1,
                    (o, t) => match known_difference(&p, &ours, &theirs, None) {
                        Some(why) => note(&mut known, why, format!("{:?}: ours {:?}, regex {:?}", p, o.as_ref().err(), t.as_ref().err().map(|e| e.to_string()))),
                        None => failures.push(format!(
                            "{:?}: ours {}, regex {}",
                            p,
                            o.as_ref().err().map_or("accepts".to_string(), |e| format!("rejects ({})", e)),
                            t.as_ref().err().map_or("accepts".to_string(), |e| format!("rejects ({})", e.to_string().replace('\n', " ")))
                        )),
                    },
                }
            }
        }
        println!(
            "regex differential: {} patterns ({} accepted by both, {} rejected by both), {} haystacks compared ({} matches), {} agreements, {:.1}s",
            patterns,
            both_ok,
            both_err,
            haystacks,
            matched,
            agree,
            started.elapsed().as_secs_f64()
        );
        for (why, n, example) in &known {
            println!("  known difference x{}: {} (e.g. {})", n, why, example);
        }
        if !failures.is_empty() {
            panic!("{} disagreements with the regex crate, e.g.:\n{}", failures.len(), failures.iter().take(25).cloned().collect::<Vec<_>>().join("\n"));
        }
        assert!(patterns >= 20_000 && both_ok >= 10_000);
    }

    fn note(known: &mut Vec<(&'static str, usize, String)>, why: &'static str, example: String) {
        match known.iter_mut().find(|k| k.0 == why) {
            Some(k) => k.1 += 1,
            None => known.push((why, 1, example)),
        }
    }

    /// Hand-picked patterns (the policy corpus and classic troublemakers) on long random haystacks,
    /// which exercise the prefix and first-character skips.
    #[test]
    fn regex_differential_long_haystacks() {
        let patterns = [
            "sk-[A-Za-z0-9]{20,}",
            "[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{4}",
            r"\b\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}\b",
            "(?i)ignore\\s+(all|any|previous)\\s+instructions",
            "[Ii]gnore (all|any|previous) instructions",
            "^TCK-[0-9]{6}$",
            r"^v[0-9]+\.[0-9]+$",
            "(ghp|gho|ghs)_[A-Za-z0-9]{36}",
            r"^\w+$",
            r"(?m)^\s*$",
            r"(?i)\bk\w*\b",
            r"\B\w{3}\b",
            "a.c|é",
            "(?s)a.{3}c",
            "[^a-z]{5}",
            "(?i)σ+ς",
            "x*",
            "$",
            "(a|b)*abb",
        ];
        let alphabet: Vec<char> = "abcikIKgnore sk-0123456789TCvyz_é\nσςΣ.\u{212A}".chars().collect();
        let mut r = Rng(42);
        let mut compared = 0;
        for p in patterns.iter() {
            let ours = Regex::new(p).unwrap();
            let theirs = ::regex::Regex::new(p).unwrap();
            for _ in 0..300 {
                let len = r.below(300);
                let mut h: String = (0..len).map(|_| r.pick(&alphabet)).collect();
                if r.one_in(3) {
                    let at = h.char_indices().map(|(i, _)| i).nth(r.below(len + 1)).unwrap_or(h.len());
                    h.insert_str(at, r.pick(&["sk-abcdefghij0123456789", "4111 1111 1111 1111", "ignore  all instructions", "TCK-123456", "ghp_"]));
                }
                assert_eq!(ours.is_match(&h), theirs.is_match(&h), "{:?} on {:?}", p, h);
                compared += 1;
            }
        }
        println!("regex long haystacks: {} patterns x 300 haystacks = {} comparisons, all agree", patterns.len(), compared);
    }

    #[test]
    fn regex_pathological_inputs_are_linear() {
        let a100k = "a".repeat(100_000);
        let x100k = "x".repeat(100_000);
        let mixed: String = "ab".repeat(50_000);
        let cases: Vec<(&str, &str, bool)> = vec![
            ("(a*)*b", &a100k, false),
            ("(a|a)*b", &a100k, false),
            ("(a|aa)*b", &a100k, false),
            ("(a+)+b", &a100k, false),
            ("(a?){30}a{30}b", &a100k, false),
            ("(x+x+)+y", &x100k, false),
            ("(.*)*b", &a100k, false),
            ("(?s)(.*a){20}b", &a100k, false),
            (r"(\w+\s?)*$", &a100k, true),
            ("(a|b|ab)*c", &mixed, false),
            (r"^(\w|\d)*$", &mixed, true),
            ("(?i)(a*)*(A*)*b", &a100k, false),
            (r"[a-q][^u-z]{13}x", &a100k, false),
            ("a{1000}b", &a100k, false),
        ];
        for (p, h, want) in cases {
            let r = Regex::new(p).unwrap();
            let t = Instant::now();
            assert_eq!(r.is_match(h), want, "{}", p);
            println!("regex pathological: {:<22} on {} KB: {:>7.2} ms", p, h.len() / 1000, t.elapsed().as_secs_f64() * 1000.0);
        }
        // Deny rules from the policy corpus scanning a 64 KB chat message that does not match.
        let words = ["the", "model", "should", "answer", "1234", "questions", "about", "Ignore", "instructions", "sk-", "é", "ghp", "2024-01-05", "K"];
        let mut r = Rng(7);
        let mut text = String::new();
        while text.len() < 65_536 {
            text.push_str(r.pick(&words));
            text.push(if r.one_in(9) { '\n' } else { ' ' });
        }
        for p in [
            "sk-[A-Za-z0-9]{20,}",
            r"\b\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}\b",
            "(?i)ignore\\s+(all|any|previous)\\s+instructions",
            "(ghp|gho|ghs)_[A-Za-z0-9]{36}",
            "[0-9]{3}-[0-9]{2}-[0-9]{4}",
            r"(?i)\b(password|secret|token)\s*[:=]",
            r"\w+@\w+\.com",
        ] {
            let ours = Regex::new(p).unwrap();
            let theirs = ::regex::Regex::new(p).unwrap();
            let t = Instant::now();
            let a = ours.is_match(&text);
            let ours_ms = t.elapsed().as_secs_f64() * 1000.0;
            let t = Instant::now();
            let b = theirs.is_match(&text);
            let theirs_ms = t.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(a, b, "{}", p);
            println!("regex 64 KB message: {:<50} {:>7.3} ms (regex crate {:.3} ms)", p, ours_ms, theirs_ms);
        }
    }
}
