//! The JSONPath subset of policy-language.md (RFC 9535): `$`, `.name`, `['name']`, `[n]`, `[-n]`,
//! `[*]`, `.*`, `..name` (also written `..['name']`). Paths are evaluated on a body's tape, so only
//! the selected values are ever decoded.

use crate::json::{Kind, Tape};

pub const MAX_LEN: usize = 256;

#[derive(Clone, Debug, PartialEq)]
pub enum Seg {
    Name(String),
    Index(i64),
    Wild,
    Descendant(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    pub segs: Vec<Seg>,
}

impl Path {
    pub fn parse(text: &str) -> Result<Path, String> {
        if text.len() > MAX_LEN {
            return Err(format!("a jsonpath may be at most {} characters; this one has {}", MAX_LEN, text.len()));
        }
        let b = text.as_bytes();
        if b.first() != Some(&b'$') {
            return Err("a jsonpath starts with `$` (the body's root), e.g. `$.model`".into());
        }
        let mut i = 1;
        let mut segs = Vec::new();
        while i < b.len() {
            match b[i] {
                b'.' if b.get(i + 1) == Some(&b'.') => {
                    i += 2;
                    let name = if b.get(i) == Some(&b'[') {
                        let (seg, next) = bracket(text, i)?;
                        i = next;
                        match seg {
                            Seg::Name(n) => n,
                            _ => return Err(unsupported(text, i, "`..` must be followed by a member name")),
                        }
                    } else {
                        let (n, next) = shorthand(text, i)?;
                        i = next;
                        n
                    };
                    segs.push(Seg::Descendant(name));
                }
                b'.' => {
                    i += 1;
                    if b.get(i) == Some(&b'*') {
                        segs.push(Seg::Wild);
                        i += 1;
                    } else {
                        let (n, next) = shorthand(text, i)?;
                        segs.push(Seg::Name(n));
                        i = next;
                    }
                }
                b'[' => {
                    let (seg, next) = bracket(text, i)?;
                    segs.push(seg);
                    i = next;
                }
                _ => return Err(unsupported(text, i, "expected `.name`, `[...]` or `..name`")),
            }
        }
        Ok(Path { segs })
    }

    /// Selects the nodes this path designates in `tape`, into `out` (cleared first).
    pub fn select(&self, tape: &Tape, src: &[u8], out: &mut Vec<u32>, tmp: &mut Vec<u32>, scratch: &mut String) {
        out.clear();
        if tape.nodes.is_empty() {
            return;
        }
        out.push(0);
        for seg in &self.segs {
            tmp.clear();
            for &n in out.iter() {
                match seg {
                    Seg::Name(name) => tape.members(n, |k, v| {
                        if key_is(tape, src, k, name, scratch) {
                            tmp.push(v)
                        }
                    }),
                    Seg::Wild => match tape.node(n).map(|x| x.kind) {
                        Some(Kind::Object) => tape.members(n, |_, v| tmp.push(v)),
                        Some(Kind::Array) => tape.elements(n, |e| tmp.push(e)),
                        _ => {}
                    },
                    Seg::Index(idx) => {
                        if let Some(e) = tape.element_at(n, *idx) {
                            tmp.push(e)
                        }
                    }
                    Seg::Descendant(name) => {
                        // Every descendant of n lies in the tape range n..next(n).
                        let end = tape.next(n);
                        let mut j = n;
                        while j < end {
                            if let Some(node) = tape.node(j) {
                                if node.kind == Kind::Object {
                                    tape.members(j, |k, v| {
                                        if key_is(tape, src, k, name, scratch) {
                                            tmp.push(v)
                                        }
                                    });
                                }
                            }
                            j += 1;
                        }
                    }
                }
            }
            std::mem::swap(out, tmp);
            if out.is_empty() {
                return;
            }
        }
    }
}

fn key_is(tape: &Tape, src: &[u8], k: u32, name: &str, scratch: &mut String) -> bool {
    match tape.node(k) {
        Some(n) if !n.escaped => src.get(n.a as usize..n.b as usize) == Some(name.as_bytes()),
        Some(n) => crate::json::string_value(src, n, scratch) == name,
        None => false,
    }
}

fn unsupported(text: &str, at: usize, what: &str) -> String {
    format!(
        "jsonpath `{}` is outside the supported subset at character {}: {}; supported: `$`, `.name`, `['name']`, `[n]`, `[-n]`, `[*]`, `.*`, `..name`",
        text,
        at + 1,
        what
    )
}

fn shorthand(text: &str, start: usize) -> Result<(String, usize), String> {
    let mut end = start;
    for (off, c) in text[start..].char_indices() {
        let ok = if off == 0 { c.is_ascii_alphabetic() || c == '_' || !c.is_ascii() } else { c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii() };
        if !ok {
            break;
        }
        end = start + off + c.len_utf8();
    }
    if end == start {
        return Err(unsupported(text, start, "expected a member name (letters, digits, `_`; use `['…']` for others)"));
    }
    Ok((text[start..end].to_string(), end))
}

fn skip_blank(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// Parses `[...]` at `start` (which is `[`); returns the segment and the index after `]`.
fn bracket(text: &str, start: usize) -> Result<(Seg, usize), String> {
    let b = text.as_bytes();
    let mut i = skip_blank(b, start + 1);
    let seg = match b.get(i) {
        Some(b'*') => {
            i += 1;
            Seg::Wild
        }
        Some(&q) if q == b'\'' || q == b'"' => {
            let (s, next) = quoted(text, i, q)?;
            i = next;
            Seg::Name(s)
        }
        Some(c) if *c == b'-' || c.is_ascii_digit() => {
            let s = i;
            if b.get(i) == Some(&b'-') {
                i += 1;
            }
            let d = i;
            while matches!(b.get(i), Some(c) if c.is_ascii_digit()) {
                i += 1;
            }
            let digits = &text[d..i];
            if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) || &text[s..i] == "-0" {
                return Err(unsupported(text, s, "an index is an integer without leading zeros"));
            }
            let n: i64 = text[s..i].parse().map_err(|_| unsupported(text, s, "index out of range"))?;
            if n.abs() > (1i64 << 53) {
                return Err(unsupported(text, s, "index out of range"));
            }
            Seg::Index(n)
        }
        Some(b'?') => return Err(unsupported(text, i, "filter expressions are not supported")),
        _ => return Err(unsupported(text, i, "expected `*`, a quoted name or an index inside `[...]`")),
    };
    i = skip_blank(b, i);
    match b.get(i) {
        Some(b']') => Ok((seg, i + 1)),
        Some(b':') => Err(unsupported(text, i, "array slices are not supported")),
        Some(b',') => Err(unsupported(text, i, "unions of selectors are not supported")),
        _ => Err(unsupported(text, i, "expected `]`")),
    }
}

/// Parses an RFC 9535 string literal starting at the quote `q` at `start`.
fn quoted(text: &str, start: usize, q: u8) -> Result<(String, usize), String> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut i = start + 1;
    loop {
        match b.get(i) {
            None => return Err(unsupported(text, start, "unterminated quoted name")),
            Some(&c) if c == q => return Ok((out, i + 1)),
            Some(b'\\') => {
                let e = b.get(i + 1).copied();
                i += 2;
                match e {
                    Some(b'b') => out.push('\u{8}'),
                    Some(b'f') => out.push('\u{c}'),
                    Some(b'n') => out.push('\n'),
                    Some(b'r') => out.push('\r'),
                    Some(b't') => out.push('\t'),
                    Some(b'/') => out.push('/'),
                    Some(b'\\') => out.push('\\'),
                    Some(c) if c == q => out.push(q as char),
                    Some(b'u') => {
                        let hex = text.get(i..i + 4).ok_or_else(|| unsupported(text, i, "bad \\u escape"))?;
                        let cp = u32::from_str_radix(hex, 16).map_err(|_| unsupported(text, i, "bad \\u escape"))?;
                        i += 4;
                        let ch = if (0xD800..0xDC00).contains(&cp) {
                            let lo = text.get(i + 2..i + 6).and_then(|h| u32::from_str_radix(h, 16).ok());
                            match (text.get(i..i + 2), lo) {
                                (Some("\\u"), Some(lo)) if (0xDC00..0xE000).contains(&lo) => {
                                    i += 6;
                                    char::from_u32(0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00))
                                }
                                _ => None,
                            }
                        } else {
                            char::from_u32(cp)
                        };
                        out.push(ch.ok_or_else(|| unsupported(text, i, "bad \\u escape"))?);
                    }
                    _ => return Err(unsupported(text, i - 2, "bad escape in quoted name")),
                }
            }
            Some(_) => {
                // Copy one UTF-8 character.
                let ch = text[i..].chars().next().unwrap_or('\u{FFFD}');
                if (ch as u32) < 0x20 {
                    return Err(unsupported(text, i, "control character in quoted name"));
                }
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{build, Value};

    fn sel(path: &str, doc: &str) -> Vec<Value> {
        let p = Path::parse(path).unwrap();
        let mut t = Tape::new();
        t.parse(doc.as_bytes()).unwrap();
        let (mut out, mut tmp, mut s) = (vec![], vec![], String::new());
        p.select(&t, doc.as_bytes(), &mut out, &mut tmp, &mut s);
        out.iter().map(|&i| build(&t, doc.as_bytes(), i, &mut s)).collect()
    }

    #[test]
    fn parse_subset() {
        assert_eq!(Path::parse("$").unwrap().segs, vec![]);
        assert_eq!(
            Path::parse("$.a['b c'][0][-1][*].*..d..['e']").unwrap().segs,
            vec![
                Seg::Name("a".into()),
                Seg::Name("b c".into()),
                Seg::Index(0),
                Seg::Index(-1),
                Seg::Wild,
                Seg::Wild,
                Seg::Descendant("d".into()),
                Seg::Descendant("e".into())
            ]
        );
        assert_eq!(Path::parse("$[ \"q\\\"x\" ]").unwrap().segs, vec![Seg::Name("q\"x".into())]);
        for bad in ["", "model", "$.", "$[?(@.a)]", "$[0:2]", "$[0,1]", "$..*", "$[01]", "$[-0]", "$['a]", "$.1a", "$ .a", "$..[0]"] {
            assert!(Path::parse(bad).is_err(), "accepted {:?}", bad);
        }
        assert!(Path::parse(&format!("$.{}", "a".repeat(300))).unwrap_err().contains("at most 256"));
    }

    #[test]
    fn select_values() {
        let doc = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"},{"role":"system","content":"x","n":{"role":"deep"}}],"a b":1,"esc\u0061ped":2}"#;
        assert_eq!(sel("$.model", doc), vec![Value::Str("gpt-4o".into())]);
        assert_eq!(sel("$.messages[-1].role", doc), vec![Value::Str("system".into())]);
        assert_eq!(sel("$.messages[5].role", doc), vec![]);
        assert_eq!(sel("$.messages[*].role", doc).len(), 2);
        assert_eq!(sel("$..role", doc).len(), 3);
        assert_eq!(sel("$['a b']", doc), vec![Value::Num(1.0)]);
        assert_eq!(sel("$.escaped", doc), vec![Value::Num(2.0)]);
        assert_eq!(sel("$.*", doc).len(), 4);
        assert_eq!(sel("$.model.x", doc), vec![]);
        assert_eq!(sel("$", "3"), vec![Value::Num(3.0)]);
        // Duplicate keys: every value under the name is selected.
        assert_eq!(sel("$.m", r#"{"m":1,"m":2}"#).len(), 2);
    }
}
