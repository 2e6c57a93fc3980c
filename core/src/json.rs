//! JSON for the engine: a validating tape parser for request bodies and a small value type for policies.
//!
//! Bodies are parsed into a flat tape of nodes that point back into the body bytes: no string is
//! decoded and no number is converted until a JSONPath selects it, and containers carry the index of
//! the node after them so whole subtrees are skipped in O(1). The tape is reused across requests.

use std::fmt::Write as _;

/// Maximum nesting depth accepted in a body (policy-language.md: deeper bodies fail closed).
pub const MAX_DEPTH: usize = 128;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Object,
    Array,
    String,
    Number,
    True,
    False,
    Null,
}

/// One node of the tape. For containers `a` is the index just past the container's last node and
/// `b` the member count; for strings and numbers `a..b` is the byte range in the source (without the
/// quotes). An object's members are stored as a key node (a String) followed by the value's nodes.
#[derive(Clone, Copy, Debug)]
pub struct Node {
    pub kind: Kind,
    /// For strings: whether the raw text contains an escape (and so must be decoded).
    pub escaped: bool,
    pub a: u32,
    pub b: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    Syntax(usize),
    TooDeep,
    TooLarge,
    NotUtf8,
}

impl ParseError {
    pub fn describe(&self) -> String {
        match self {
            ParseError::Syntax(at) => format!("invalid JSON at byte {}", at),
            ParseError::TooDeep => format!("JSON nested deeper than {} levels", MAX_DEPTH),
            ParseError::TooLarge => "JSON larger than the limit".to_string(),
            ParseError::NotUtf8 => "JSON is not valid UTF-8".to_string(),
        }
    }
}

#[derive(Default)]
pub struct Tape {
    pub nodes: Vec<Node>,
    stack: Vec<u32>,
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// True if any byte of the word is '"', '\\' or a control character (< 0x20).
#[inline(always)]
fn word_has_special(w: u64) -> bool {
    let q = w ^ (LO * b'"' as u64);
    let s = w ^ (LO * b'\\' as u64);
    let zq = q.wrapping_sub(LO) & !q;
    let zs = s.wrapping_sub(LO) & !s;
    let ctl = w.wrapping_sub(LO * 0x20) & !w;
    (zq | zs | ctl) & HI != 0
}

impl Tape {
    pub fn new() -> Tape {
        Tape { nodes: Vec::new(), stack: Vec::new() }
    }

    /// Parses `src` as one JSON document. On success the root is node 0.
    pub fn parse(&mut self, src: &[u8]) -> Result<(), ParseError> {
        self.nodes.clear();
        self.stack.clear();
        if std::str::from_utf8(src).is_err() {
            return Err(ParseError::NotUtf8);
        }
        if src.len() >= u32::MAX as usize {
            return Err(ParseError::TooLarge);
        }
        let mut p = Parser { src, pos: 0 };
        p.ws();
        self.value(&mut p)?;
        p.ws();
        if p.pos != src.len() {
            return Err(ParseError::Syntax(p.pos));
        }
        Ok(())
    }

    fn value(&mut self, p: &mut Parser) -> Result<(), ParseError> {
        // Iterative descent: `stack` holds the tape index of each open container.
        loop {
            // Parse one value start.
            match p.peek() {
                Some(open @ (b'{' | b'[')) => {
                    let (kind, close) = if open == b'{' { (Kind::Object, b'}') } else { (Kind::Array, b']') };
                    p.pos += 1;
                    if self.stack.len() >= MAX_DEPTH {
                        return Err(ParseError::TooDeep);
                    }
                    self.stack.push(self.nodes.len() as u32);
                    self.nodes.push(Node { kind, escaped: false, a: 0, b: 0 });
                    p.ws();
                    if p.peek() == Some(close) {
                        p.pos += 1;
                        self.close();
                    } else {
                        if kind == Kind::Object {
                            self.key(p)?;
                        } else {
                            self.count_member();
                        }
                        continue;
                    }
                }
                Some(b'"') => {
                    let (s, e, esc) = p.string()?;
                    self.nodes.push(Node { kind: Kind::String, escaped: esc, a: s, b: e });
                }
                Some(b't') => {
                    p.literal(b"true")?;
                    self.nodes.push(Node { kind: Kind::True, escaped: false, a: 0, b: 0 });
                }
                Some(b'f') => {
                    p.literal(b"false")?;
                    self.nodes.push(Node { kind: Kind::False, escaped: false, a: 0, b: 0 });
                }
                Some(b'n') => {
                    p.literal(b"null")?;
                    self.nodes.push(Node { kind: Kind::Null, escaped: false, a: 0, b: 0 });
                }
                Some(c) if c == b'-' || c.is_ascii_digit() => {
                    let (s, e) = p.number()?;
                    self.nodes.push(Node { kind: Kind::Number, escaped: false, a: s, b: e });
                }
                _ => return Err(ParseError::Syntax(p.pos)),
            }
            // After a complete value: continue the enclosing containers.
            loop {
                let top = match self.stack.last() {
                    None => return Ok(()),
                    Some(&t) => t as usize,
                };
                p.ws();
                let is_obj = matches!(self.nodes.get(top).map(|n| n.kind), Some(Kind::Object));
                match p.peek() {
                    Some(b',') => {
                        p.pos += 1;
                        p.ws();
                        if is_obj {
                            self.key(p)?;
                        } else {
                            self.count_member();
                        }
                        break;
                    }
                    Some(b'}') if is_obj => {
                        p.pos += 1;
                        self.close();
                    }
                    Some(b']') if !is_obj => {
                        p.pos += 1;
                        self.close();
                    }
                    _ => return Err(ParseError::Syntax(p.pos)),
                }
            }
        }
    }

    fn count_member(&mut self) {
        if let Some(&t) = self.stack.last() {
            if let Some(n) = self.nodes.get_mut(t as usize) {
                n.b += 1;
            }
        }
    }

    fn key(&mut self, p: &mut Parser) -> Result<(), ParseError> {
        if p.peek() != Some(b'"') {
            return Err(ParseError::Syntax(p.pos));
        }
        let (s, e, esc) = p.string()?;
        self.nodes.push(Node { kind: Kind::String, escaped: esc, a: s, b: e });
        self.count_member();
        p.ws();
        if p.peek() != Some(b':') {
            return Err(ParseError::Syntax(p.pos));
        }
        p.pos += 1;
        p.ws();
        Ok(())
    }

    fn close(&mut self) {
        if let Some(t) = self.stack.pop() {
            let end = self.nodes.len() as u32;
            if let Some(n) = self.nodes.get_mut(t as usize) {
                n.a = end;
            }
        }
    }

    #[inline]
    pub fn node(&self, i: u32) -> Option<&Node> {
        self.nodes.get(i as usize)
    }

    /// Index of the node after the value starting at `i`.
    #[inline]
    pub fn next(&self, i: u32) -> u32 {
        match self.nodes.get(i as usize) {
            Some(n) if matches!(n.kind, Kind::Object | Kind::Array) => n.a,
            _ => i + 1,
        }
    }

    /// Calls `f(key_index, value_index)` for each member of the object at `i`.
    pub fn members<F: FnMut(u32, u32)>(&self, i: u32, mut f: F) {
        let (end, count) = match self.nodes.get(i as usize) {
            Some(n) if n.kind == Kind::Object => (n.a, n.b),
            _ => return,
        };
        let mut k = i + 1;
        let mut seen = 0;
        while k < end && seen < count {
            let v = k + 1;
            f(k, v);
            k = self.next(v);
            seen += 1;
        }
    }

    /// Calls `f(element_index)` for each element of the array at `i`.
    pub fn elements<F: FnMut(u32)>(&self, i: u32, mut f: F) {
        let (end, count) = match self.nodes.get(i as usize) {
            Some(n) if n.kind == Kind::Array => (n.a, n.b),
            _ => return,
        };
        let mut k = i + 1;
        let mut seen = 0;
        while k < end && seen < count {
            f(k);
            k = self.next(k);
            seen += 1;
        }
    }

    /// The `idx`-th element (negative counts from the end) of the array at `i`.
    pub fn element_at(&self, i: u32, idx: i64) -> Option<u32> {
        let count = match self.nodes.get(i as usize) {
            Some(n) if n.kind == Kind::Array => n.b as i64,
            _ => return None,
        };
        let want = if idx < 0 { count.checked_add(idx)? } else { idx };
        if want < 0 || want >= count {
            return None;
        }
        let mut found = None;
        let mut n = 0i64;
        self.elements(i, |e| {
            if n == want {
                found = Some(e);
            }
            n += 1;
        });
        found
    }
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    #[inline(always)]
    fn ws(&mut self) {
        while let Some(c) = self.src.get(self.pos) {
            match c {
                b' ' | b'\n' | b'\r' | b'\t' => self.pos += 1,
                _ => break,
            }
        }
    }

    fn literal(&mut self, lit: &[u8]) -> Result<(), ParseError> {
        let end = self.pos + lit.len();
        if self.src.get(self.pos..end) == Some(lit) {
            self.pos = end;
            Ok(())
        } else {
            Err(ParseError::Syntax(self.pos))
        }
    }

    /// Scans a string starting at the opening quote; returns the content range and whether it has escapes.
    fn string(&mut self) -> Result<(u32, u32, bool), ParseError> {
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        let src = self.src;
        loop {
            // Skip eight plain bytes at a time.
            while let Some(chunk) = src.get(self.pos..self.pos + 8) {
                let mut w = [0u8; 8];
                w.copy_from_slice(chunk);
                if word_has_special(u64::from_le_bytes(w)) {
                    break;
                }
                self.pos += 8;
            }
            match src.get(self.pos) {
                None => return Err(ParseError::Syntax(self.pos)),
                Some(b'"') => {
                    let end = self.pos;
                    self.pos += 1;
                    return Ok((start as u32, end as u32, escaped));
                }
                Some(b'\\') => {
                    escaped = true;
                    match src.get(self.pos + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.pos += 2,
                        Some(b'u') => {
                            let hex = src.get(self.pos + 2..self.pos + 6).ok_or(ParseError::Syntax(self.pos))?;
                            if !hex.iter().all(|c| c.is_ascii_hexdigit()) {
                                return Err(ParseError::Syntax(self.pos));
                            }
                            self.pos += 6;
                        }
                        _ => return Err(ParseError::Syntax(self.pos)),
                    }
                }
                Some(&c) if c < 0x20 => return Err(ParseError::Syntax(self.pos)),
                Some(_) => self.pos += 1,
            }
        }
    }

    fn number(&mut self) -> Result<(u32, u32), ParseError> {
        let start = self.pos;
        let src = self.src;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(c) if c.is_ascii_digit() => {
                while matches!(src.get(self.pos), Some(c) if c.is_ascii_digit()) {
                    self.pos += 1;
                }
            }
            _ => return Err(ParseError::Syntax(self.pos)),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            let d = self.pos;
            while matches!(src.get(self.pos), Some(c) if c.is_ascii_digit()) {
                self.pos += 1;
            }
            if self.pos == d {
                return Err(ParseError::Syntax(self.pos));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            let d = self.pos;
            while matches!(src.get(self.pos), Some(c) if c.is_ascii_digit()) {
                self.pos += 1;
            }
            if self.pos == d {
                return Err(ParseError::Syntax(self.pos));
            }
        }
        Ok((start as u32, self.pos as u32))
    }
}

/// Decodes the JSON string content `raw` (without quotes, already validated) into `out`.
pub fn unescape_into(raw: &[u8], out: &mut String) {
    out.clear();
    let mut i = 0;
    let mut plain_start = 0;
    while i < raw.len() {
        if raw.get(i) != Some(&b'\\') {
            i += 1;
            continue;
        }
        out.push_str(std::str::from_utf8(raw.get(plain_start..i).unwrap_or(&[])).unwrap_or(""));
        let c = raw.get(i + 1).copied().unwrap_or(b'\\');
        i += 2;
        match c {
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let hi = hex4(raw.get(i..i + 4));
                i += 4;
                let mut cp = hi;
                if (0xD800..0xDC00).contains(&hi) && raw.get(i) == Some(&b'\\') && raw.get(i + 1) == Some(&b'u') {
                    let lo = hex4(raw.get(i + 2..i + 6));
                    if (0xDC00..0xE000).contains(&lo) {
                        cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                        i += 6;
                    }
                }
                out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
            }
            other => out.push(other as char),
        }
        plain_start = i;
    }
    out.push_str(std::str::from_utf8(raw.get(plain_start..).unwrap_or(&[])).unwrap_or(""));
}

fn hex4(s: Option<&[u8]>) -> u32 {
    let mut v = 0u32;
    for &c in s.unwrap_or(&[]) {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => 0,
        };
        v = v * 16 + d as u32;
    }
    v
}

/// A JSON value, for policy documents and the constants they contain.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Value>),
    /// Members in document order.
    Obj(Vec<(String, Value)>),
}

impl Value {
    pub fn parse(src: &[u8]) -> Result<Value, ParseError> {
        let mut tape = Tape::new();
        tape.parse(src)?;
        let mut s = String::new();
        Ok(build(&tape, src, 0, &mut s))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Num(_) => "a number",
            Value::Str(_) => "a string",
            Value::Arr(_) => "a list",
            Value::Obj(_) => "a mapping",
        }
    }

    /// Canonical JSON text: object keys sorted, numbers in shortest form. Used for rate-limit keys.
    pub fn write_canonical(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Num(n) => write_num(*n, out),
            Value::Str(s) => write_str(s, out),
            Value::Arr(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_canonical(out);
                }
                out.push(']');
            }
            Value::Obj(m) => {
                let mut sorted: Vec<&(String, Value)> = m.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(&b.0));
                out.push('{');
                for (i, (k, v)) in sorted.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(k, out);
                    out.push(':');
                    v.write_canonical(out);
                }
                out.push('}');
            }
        }
    }
}

pub fn write_num(n: f64, out: &mut String) {
    if n.is_finite() && n == n.trunc() && n.abs() < 1e15 {
        let _ = write!(out, "{}", n as i64);
    } else if n.is_finite() {
        let _ = write!(out, "{}", n);
    } else {
        out.push_str("null");
    }
}

pub fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Builds a Value from the subtree of the tape at `i`.
pub fn build(tape: &Tape, src: &[u8], i: u32, scratch: &mut String) -> Value {
    let n = match tape.node(i) {
        Some(n) => *n,
        None => return Value::Null,
    };
    match n.kind {
        Kind::Null => Value::Null,
        Kind::True => Value::Bool(true),
        Kind::False => Value::Bool(false),
        Kind::Number => Value::Num(number_value(src, &n).unwrap_or(f64::NAN)),
        Kind::String => Value::Str(string_value(src, &n, scratch).to_string()),
        Kind::Array => {
            let mut v = Vec::with_capacity(n.b as usize);
            tape.elements(i, |e| v.push(build(tape, src, e, scratch)));
            Value::Arr(v)
        }
        Kind::Object => {
            let mut m = Vec::with_capacity(n.b as usize);
            tape.members(i, |k, v| {
                let key = match tape.node(k) {
                    Some(kn) => string_value(src, kn, scratch).to_string(),
                    None => String::new(),
                };
                m.push((key, build(tape, src, v, scratch)));
            });
            Value::Obj(m)
        }
    }
}

/// The text of a string node, decoded into `scratch` only when it has escapes.
///
/// `src` must be the exact bytes `Tape::parse` accepted (which checks the whole document is UTF-8),
/// and `n` one of its string nodes: string contents start and end at ASCII quotes, so the slice is
/// UTF-8 too and is not checked again.
pub fn string_value<'a>(src: &'a [u8], n: &Node, scratch: &'a mut String) -> &'a str {
    let raw = src.get(n.a as usize..n.b as usize).unwrap_or(&[]);
    if n.escaped {
        unescape_into(raw, scratch);
        scratch.as_str()
    } else {
        debug_assert!(std::str::from_utf8(raw).is_ok());
        // SAFETY: see above; the whole source was validated as UTF-8 and `raw` lies between two
        // ASCII quote bytes, which are always character boundaries.
        unsafe { std::str::from_utf8_unchecked(raw) }
    }
}

pub fn number_value(src: &[u8], n: &Node) -> Option<f64> {
    let raw = src.get(n.a as usize..n.b as usize)?;
    std::str::from_utf8(raw).ok()?.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Value {
        Value::parse(s.as_bytes()).unwrap_or_else(|e| panic!("{}: {:?}", s, e))
    }

    #[test]
    fn parses_values() {
        assert_eq!(ok(" null "), Value::Null);
        assert_eq!(ok("[1, -2.5e3, true]"), Value::Arr(vec![Value::Num(1.0), Value::Num(-2500.0), Value::Bool(true)]));
        assert_eq!(ok(r#"{"a":{"b":[]},"c":"x\"y\u00e9\ud83d\ude00"}"#).get("c"), Some(&Value::Str("x\"yé😀".into())));
        assert_eq!(ok(r#"{"a":{"b":[]},"c":{}}"#).get("a").and_then(|a| a.get("b")), Some(&Value::Arr(vec![])));
    }

    #[test]
    fn rejects_invalid() {
        for bad in ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "\"\u{1}\"", "tru", "{\"a\" 1}", "[1 2]", "\"\\x\"", "1 2", "{1:2}", "\"abc"] {
            assert!(Value::parse(bad.as_bytes()).is_err(), "accepted {:?}", bad);
        }
        assert_eq!(Value::parse(&[b'"', 0xff, b'"']), Err(ParseError::NotUtf8));
    }

    #[test]
    fn depth_limit() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(Value::parse(deep(MAX_DEPTH).as_bytes()).is_ok());
        assert_eq!(Value::parse(deep(MAX_DEPTH + 1).as_bytes()), Err(ParseError::TooDeep));
        assert_eq!(Value::parse(deep(100_000).as_bytes()), Err(ParseError::TooDeep));
    }

    #[test]
    fn long_strings_use_the_word_scan_correctly() {
        for pad in 0..20 {
            let s = format!("\"{}\\n{}\"", "a".repeat(pad), "b".repeat(pad));
            assert_eq!(ok(&s), Value::Str(format!("{}\n{}", "a".repeat(pad), "b".repeat(pad))));
            let ctl = format!("\"{}\u{1f}\"", "a".repeat(pad));
            assert!(Value::parse(ctl.as_bytes()).is_err());
        }
    }

    #[test]
    fn tape_navigation() {
        let src = br#"{"a":[1,{"x":2},[3]],"b":true}"#;
        let mut t = Tape::new();
        t.parse(src).unwrap();
        let mut keys = vec![];
        let mut s = String::new();
        t.members(0, |k, _| keys.push(string_value(src, t.node(k).unwrap(), &mut s).to_string()));
        assert_eq!(keys, vec!["a", "b"]);
        let a = 2;
        assert_eq!(t.node(a).unwrap().kind, Kind::Array);
        assert_eq!(t.element_at(a, -1).map(|i| t.node(i).unwrap().kind), Some(Kind::Array));
        assert_eq!(t.element_at(a, 3), None);
        assert_eq!(t.element_at(a, -4), None);
    }

    #[test]
    fn canonical() {
        let mut out = String::new();
        ok(r#"{"b":1.0,"a":["x",null]}"#).write_canonical(&mut out);
        assert_eq!(out, r#"{"a":["x",null],"b":1}"#);
    }
}
