//! Request URLs as the HTTP client really sends them, and the `url` globs of policies.
//!
//! The subject a glob matches is `host[:port]/seg/seg…` (see docs/policy-language.md): host
//! lower-cased without a trailing dot, default port removed, query and fragment dropped, percent-encoded
//! unreserved characters decoded, dot segments resolved, empty segments dropped, `%2F` kept encoded.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

#[derive(Debug, PartialEq, Eq)]
pub enum UrlError {
    Scheme,
    Userinfo,
    Host,
    Port,
}

impl UrlError {
    pub fn describe(&self) -> &'static str {
        match self {
            UrlError::Scheme => "the URL's scheme is not http or https",
            UrlError::Userinfo => "the URL carries userinfo (user@host)",
            UrlError::Host => "the URL's host is not a valid hostname or IP address",
            UrlError::Port => "the URL's port is not a number from 0 to 65535",
        }
    }
}

/// A normalized request URL. `subject` holds `host[:port]/path`; `host_end` is where the authority ends.
#[derive(Debug, Default)]
pub struct Subject {
    pub scheme: Option<Scheme>,
    pub subject: String,
    pub host_end: usize,
}

impl Subject {
    pub fn authority(&self) -> &str {
        self.subject.get(..self.host_end).unwrap_or("")
    }
    pub fn path(&self) -> &str {
        self.subject.get(self.host_end..).unwrap_or("")
    }
}

fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Normalizes one path segment's escapes into `out`: unreserved escapes decoded, others upper-cased,
/// bytes outside the URL path set (WHATWG path percent-encode set) encoded.
pub fn push_segment(seg: &[u8], out: &mut String) {
    let mut i = 0;
    while i < seg.len() {
        let c = seg[i];
        if c == b'%' {
            if let (Some(h), Some(l)) = (seg.get(i + 1).and_then(|&x| hex_val(x)), seg.get(i + 2).and_then(|&x| hex_val(x))) {
                let v = h * 16 + l;
                if is_unreserved(v) {
                    out.push(v as char);
                } else {
                    out.push('%');
                    out.push(HEX[h as usize] as char);
                    out.push(HEX[l as usize] as char);
                }
                i += 3;
                continue;
            }
            out.push('%');
        } else if c <= 0x20 || c >= 0x7f || matches!(c, b'"' | b'<' | b'>' | b'`' | b'{' | b'}') {
            out.push('%');
            out.push(HEX[(c >> 4) as usize] as char);
            out.push(HEX[(c & 15) as usize] as char);
        } else {
            out.push(c as char);
        }
        i += 1;
    }
}

/// Appends the normalized path of `path` (which starts after the authority; may be empty) to `out`,
/// each kept segment preceded by `/`.
pub fn push_path(path: &[u8], out: &mut String, seg_starts: &mut Vec<usize>) {
    seg_starts.clear();
    let mut first = true;
    for raw in path.split(|&c| c == b'/' || c == b'\\') {
        // The text before the first slash is not a segment.
        if std::mem::replace(&mut first, false) && raw.is_empty() {
            continue;
        }
        if raw.is_empty() {
            // An empty segment counts for `..` (as WHATWG resolves it) but is never written.
            seg_starts.push(out.len());
            continue;
        }
        let start = out.len();
        out.push('/');
        push_segment(raw, out);
        let seg = &out[start + 1..];
        if seg == "." {
            out.truncate(start);
        } else if seg == ".." {
            out.truncate(start);
            if let Some(prev) = seg_starts.pop() {
                out.truncate(prev);
            }
        } else {
            seg_starts.push(start);
        }
    }
}

/// Parses and normalizes an absolute http(s) URL into `out`.
pub fn normalize(url: &str, out: &mut Subject, seg_starts: &mut Vec<usize>) -> Result<(), UrlError> {
    out.subject.clear();
    out.scheme = None;
    out.host_end = 0;
    let b = url.trim_matches(|c: char| c <= ' ').as_bytes();
    let colon = b.iter().position(|&c| c == b':').ok_or(UrlError::Scheme)?;
    let scheme = &b[..colon];
    let s = if scheme.eq_ignore_ascii_case(b"https") {
        Scheme::Https
    } else if scheme.eq_ignore_ascii_case(b"http") {
        Scheme::Http
    } else {
        return Err(UrlError::Scheme);
    };
    out.scheme = Some(s);
    let mut rest = &b[colon + 1..];
    // Special schemes: any number of slashes or backslashes before the authority (WHATWG).
    while let Some((&c, r)) = rest.split_first() {
        if c == b'/' || c == b'\\' {
            rest = r;
        } else {
            break;
        }
    }
    let auth_end = rest.iter().position(|&c| matches!(c, b'/' | b'\\' | b'?' | b'#')).unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    let after = &rest[auth_end..];
    let path_end = after.iter().position(|&c| c == b'?' || c == b'#').unwrap_or(after.len());
    let path = &after[..path_end];
    if authority.contains(&b'@') {
        return Err(UrlError::Userinfo);
    }
    // Split host and port.
    let (host, port) = if authority.first() == Some(&b'[') {
        let close = authority.iter().position(|&c| c == b']').ok_or(UrlError::Host)?;
        let host = &authority[..=close];
        let tail = &authority[close + 1..];
        match tail.split_first() {
            None => (host, None),
            Some((b':', p)) => (host, Some(p)),
            _ => return Err(UrlError::Host),
        }
    } else {
        match authority.iter().rposition(|&c| c == b':') {
            Some(i) => (&authority[..i], Some(&authority[i + 1..])),
            None => (authority, None),
        }
    };
    push_host(host, &mut out.subject)?;
    if let Some(p) = port {
        if !p.is_empty() {
            if p.len() > 5 || !p.iter().all(|c| c.is_ascii_digit()) {
                return Err(UrlError::Port);
            }
            let n: u32 = p.iter().fold(0, |a, &c| a * 10 + (c - b'0') as u32);
            if n > 65535 {
                return Err(UrlError::Port);
            }
            let default = match s {
                Scheme::Http => 80,
                Scheme::Https => 443,
            };
            if n != default {
                out.subject.push(':');
                out.subject.push_str(&n.to_string());
            }
        }
    }
    out.host_end = out.subject.len();
    push_path(path, &mut out.subject, seg_starts);
    Ok(())
}

/// Validates and appends a lower-cased host (trailing dot dropped).
fn push_host(host: &[u8], out: &mut String) -> Result<(), UrlError> {
    if host.first() == Some(&b'[') {
        let inner = host.get(1..host.len() - 1).ok_or(UrlError::Host)?;
        if inner.is_empty() || !inner.iter().all(|c| c.is_ascii_hexdigit() || *c == b':' || *c == b'.') || !inner.contains(&b':') {
            return Err(UrlError::Host);
        }
        out.push('[');
        for &c in inner {
            out.push(c.to_ascii_lowercase() as char);
        }
        out.push(']');
        return Ok(());
    }
    let host = match host.split_last() {
        Some((b'.', h)) => h,
        _ => host,
    };
    if host.is_empty() || host.len() > 253 {
        return Err(UrlError::Host);
    }
    for label in host.split(|&c| c == b'.') {
        if label.is_empty() || label.len() > 63 || !label.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_') {
            return Err(UrlError::Host);
        }
    }
    // A host whose last label is numeric must be a dotted-quad IPv4 address.
    let last = host.rsplit(|&c| c == b'.').next().unwrap_or(&[]);
    if last.iter().all(|c| c.is_ascii_digit()) {
        let parts: Vec<&[u8]> = host.split(|&c| c == b'.').collect();
        let valid = parts.len() == 4
            && parts.iter().all(|p| {
                p.iter().all(|c| c.is_ascii_digit()) && p.len() <= 3 && (p.len() == 1 || p[0] != b'0') && p.iter().fold(0u32, |a, &c| a * 10 + (c - b'0') as u32) <= 255
            });
        if !valid {
            return Err(UrlError::Host);
        }
    }
    for &c in host {
        out.push(c.to_ascii_lowercase() as char);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Globs

#[derive(Clone, Debug, PartialEq)]
enum SegPat {
    /// `**`: zero or more whole segments.
    Any,
    /// Literal text (no `*`).
    Lit(String),
    /// Text with `*` wildcards that match within one segment.
    Star(String),
    /// `*.suffix` in the host: one or more labels then `.suffix` (the suffix may itself contain `*`).
    Labels(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct UrlGlob {
    pub scheme: Option<Scheme>,
    segs: Vec<SegPat>,
    /// When the pattern has no wildcard: the exact subject it matches.
    exact: Option<String>,
}

pub const MAX_PATTERN: usize = 1024;

impl UrlGlob {
    pub fn parse(pattern: &str) -> Result<UrlGlob, String> {
        if pattern.len() > MAX_PATTERN {
            return Err(format!("a URL pattern may be at most {} characters; this one has {}", MAX_PATTERN, pattern.len()));
        }
        if pattern.is_empty() {
            return Err("a URL pattern may not be empty; use `**` to match every URL".into());
        }
        let lower = pattern.to_ascii_lowercase();
        let (scheme, rest) = if lower.starts_with("https://") {
            (Some(Scheme::Https), &pattern[8..])
        } else if lower.starts_with("http://") {
            (Some(Scheme::Http), &pattern[7..])
        } else if let Some(i) = pattern.find("://") {
            return Err(format!("a URL pattern may start with `https://` or `http://` only, not `{}://`", &pattern[..i]));
        } else {
            (None, pattern)
        };
        if rest.contains('?') || rest.contains('#') {
            return Err("a URL pattern never matches the query or fragment; remove the part from `?` or `#`".into());
        }
        if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("a URL pattern may not contain whitespace".into());
        }
        let mut segs = Vec::new();
        let mut seg_starts = Vec::new();
        for (i, raw) in rest.split('/').filter(|s| !s.is_empty()).enumerate() {
            if raw == "**" {
                segs.push(SegPat::Any);
                continue;
            }
            if raw.contains("**") {
                return Err(format!("`**` must be a whole segment (as in `api.example.com/**`), but segment `{}` has it inside", raw));
            }
            if i == 0 {
                let host = raw.to_ascii_lowercase();
                if raw.contains('@') {
                    return Err("a URL pattern may not contain userinfo (`user@`)".into());
                }
                let labels = host.strip_prefix("*.").map(|s| s.trim_end_matches('.').to_string());
                let host = host.strip_suffix('.').map(|h| h.to_string()).unwrap_or(host);
                if let Some(sfx) = labels {
                    if sfx.is_empty() {
                        return Err("`*.` must be followed by a domain, as in `*.openai.com`".into());
                    }
                    segs.push(SegPat::Labels(sfx.to_string()));
                } else if host.contains('*') {
                    segs.push(SegPat::Star(host));
                } else {
                    segs.push(SegPat::Lit(host));
                }
            } else {
                // Normalize escapes the way request paths are normalized.
                let mut norm = String::new();
                push_path(raw.as_bytes(), &mut norm, &mut seg_starts);
                let norm = norm.strip_prefix('/').unwrap_or(&norm).to_string();
                if norm == "." || norm == ".." || norm.is_empty() {
                    return Err(format!("a URL pattern may not contain the dot segment `{}`", raw));
                }
                if norm.contains('*') {
                    segs.push(SegPat::Star(norm));
                } else {
                    segs.push(SegPat::Lit(norm));
                }
            }
        }
        if segs.is_empty() {
            return Err("a URL pattern needs a host (or `**`)".into());
        }
        let exact = if segs.iter().all(|s| matches!(s, SegPat::Lit(_))) {
            let mut e = String::new();
            for (i, s) in segs.iter().enumerate() {
                if let SegPat::Lit(t) = s {
                    if i > 0 {
                        e.push('/');
                    }
                    e.push_str(t);
                }
            }
            Some(e)
        } else {
            None
        };
        Ok(UrlGlob { scheme, segs, exact })
    }

    pub fn matches(&self, subj: &Subject) -> bool {
        if let Some(s) = self.scheme {
            if subj.scheme != Some(s) {
                return false;
            }
        }
        if let Some(e) = &self.exact {
            return e == &subj.subject;
        }
        // Segment-level glob with backtracking to the last `**`.
        let segs: Vec<&str> = subj.subject.split('/').collect();
        let pats = &self.segs;
        let (mut p, mut s) = (0usize, 0usize);
        let mut back: Option<(usize, usize)> = None;
        loop {
            if p < pats.len() {
                if pats[p] == SegPat::Any {
                    back = Some((p, s));
                    p += 1;
                    continue;
                }
                if s < segs.len() && seg_match(&pats[p], segs[s], s == 0) {
                    p += 1;
                    s += 1;
                    continue;
                }
            } else if s == segs.len() {
                return true;
            }
            match back {
                Some((bp, bs)) if bs < segs.len() => {
                    back = Some((bp, bs + 1));
                    p = bp + 1;
                    s = bs + 1;
                }
                _ => return false,
            }
        }
    }
}

fn seg_match(p: &SegPat, seg: &str, is_host: bool) -> bool {
    // A host pattern without a port matches only the default port.
    if is_host && has_port(seg) && !matches!(p, SegPat::Any) && !has_port(pat_text(p)) {
        return false;
    }
    match p {
        SegPat::Any => true,
        SegPat::Lit(t) => t == seg,
        SegPat::Star(t) => star_match(t.as_bytes(), seg.as_bytes()),
        SegPat::Labels(sfx) => {
            if !is_host {
                return false;
            }
            // one or more labels, then "." + suffix
            let b = seg.as_bytes();
            let sb = sfx.as_bytes();
            // try every "." position that leaves a non-empty label prefix
            (1..b.len()).any(|i| b[i] == b'.' && star_match(sb, &b[i + 1..]))
        }
    }
}

fn has_port(authority: &str) -> bool {
    match authority.rfind(']') {
        Some(i) => authority[i..].contains(':'),
        None => authority.contains(':'),
    }
}

fn pat_text(p: &SegPat) -> &str {
    match p {
        SegPat::Any => "",
        SegPat::Lit(t) | SegPat::Star(t) | SegPat::Labels(t) => t,
    }
}

/// `*` matches any run of bytes (within one segment); iterative with single backtrack point.
fn star_match(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(u: &str) -> Result<String, UrlError> {
        let mut s = Subject::default();
        let mut v = vec![];
        normalize(u, &mut s, &mut v).map(|_| s.subject)
    }

    fn m(pat: &str, u: &str) -> bool {
        let g = UrlGlob::parse(pat).unwrap();
        let mut s = Subject::default();
        let mut v = vec![];
        normalize(u, &mut s, &mut v).unwrap();
        g.matches(&s)
    }

    #[test]
    fn normalization() {
        assert_eq!(norm("https://API.OpenAI.com./v1/chat/completions?x=1#f").unwrap(), "api.openai.com/v1/chat/completions");
        assert_eq!(norm("https://a.com:443/x").unwrap(), "a.com/x");
        assert_eq!(norm("http://a.com:80/x").unwrap(), "a.com/x");
        assert_eq!(norm("http://a.com:443/x").unwrap(), "a.com:443/x");
        assert_eq!(norm("https://a.com:08443/").unwrap(), "a.com:8443");
        assert_eq!(norm("https://a.com/a/./b/../c//d/").unwrap(), "a.com/a/c/d");
        assert_eq!(norm("https://a.com/%2e%2E/admin/%7euser/%2fx%2a").unwrap(), "a.com/admin/~user/%2Fx%2A");
        assert_eq!(norm("https://a.com/a/%2E/%2e%2e/b").unwrap(), "a.com/b");
        assert_eq!(norm("https://a.com/../../x").unwrap(), "a.com/x");
        assert_eq!(norm("https://a.com/a//../b").unwrap(), "a.com/a/b"); // as WHATWG resolves it
        assert_eq!(norm("https://a.com").unwrap(), "a.com");
        assert_eq!(norm("https://[::1]:8080/x").unwrap(), "[::1]:8080/x");
        assert_eq!(norm("https://[::1]:443/x").unwrap(), "[::1]/x");
        assert_eq!(norm("https://10.0.0.1/x").unwrap(), "10.0.0.1/x");
        assert_eq!(norm("https://a.com/é x").unwrap(), "a.com/%C3%A9%20x");
        assert_eq!(norm("https://u:p@a.com/"), Err(UrlError::Userinfo));
        assert_eq!(norm("https://@a.com/"), Err(UrlError::Userinfo));
        assert_eq!(norm("ftp://a.com/"), Err(UrlError::Scheme));
        assert_eq!(norm("a.com/x"), Err(UrlError::Scheme));
        assert_eq!(norm("https:///x").unwrap(), "x"); // WHATWG skips extra slashes
        assert_eq!(norm("https://"), Err(UrlError::Host));
        assert_eq!(norm("https://a..com/"), Err(UrlError::Host));
        assert_eq!(norm("https://a com/"), Err(UrlError::Host));
        assert_eq!(norm("https://bücher.de/"), Err(UrlError::Host));
        assert_eq!(norm("https://a.com:99999/"), Err(UrlError::Port));
        assert_eq!(norm("https://a.com:x/"), Err(UrlError::Port));
        assert_eq!(norm("https://1.2.3/"), Err(UrlError::Host));
        assert_eq!(norm("https://256.1.1.1/"), Err(UrlError::Host));
        assert_eq!(norm("https://[zz]/"), Err(UrlError::Host));
    }

    #[test]
    fn globs() {
        assert!(m("api.openai.com/v1/chat/completions", "https://api.openai.com/v1/chat/completions/"));
        assert!(!m("api.openai.com/v1/chat/completions", "https://api.openai.com/v1/chat/completions/x"));
        assert!(m("api.openai.com/v1/*", "https://api.openai.com/v1/models"));
        assert!(!m("api.openai.com/v1/*", "https://api.openai.com/v1/models/x"));
        assert!(!m("api.openai.com/v1/*", "https://api.openai.com/v1"));
        assert!(m("api.openai.com/**", "https://api.openai.com"));
        assert!(m("api.openai.com/**", "https://api.openai.com/a/b/c"));
        assert!(m("**/admin/**", "https://x.com/a/admin"));
        assert!(m("**/admin/**", "https://x.com/admin/b/c"));
        assert!(!m("**/admin/**", "https://x.com/administrator"));
        assert!(m("**/admin/**", "https://x.com/%61dmin/"));
        assert!(m("**/admin/**", "https://x.com/a/../admin"));
        assert!(m("api.openai.com/v1/chat*", "https://api.openai.com/v1/chat-completions"));
        assert!(m("*.openai.com/**", "https://a.b.openai.com/x"));
        assert!(!m("*.openai.com/**", "https://openai.com/x"));
        assert!(!m("*.openai.com/**", "https://evilopenai.com/x"));
        assert!(!m("*.openai.com/**", "https://a.openai.com:8443/x"));
        assert!(m("*.openai.com:*/**", "https://a.openai.com:8443/x"));
        assert!(m("https://a.com/**", "https://a.com/x"));
        assert!(!m("https://a.com/**", "http://a.com/x"));
        assert!(m("API.Example.com./x", "https://api.example.com/x"));
        assert!(m("a.com/x%2Fy", "https://a.com/x%2fy"));
        assert!(!m("a.com/x/y", "https://a.com/x%2Fy"));
        assert!(m("localhost:8080/**", "http://localhost:8080/v1"));
        assert!(!m("localhost/**", "http://localhost:8080/v1"));
        assert!(m("[::1]:8080/x", "http://[::1]:8080/x"));
        assert!(m("*/x", "http://[::1]/x"));
        assert!(!m("*/x", "http://[::1]:8080/x"));
        assert!(m("*/a/**/b", "http://h/a/x/y/b"));
        assert!(m("*/a/**/b", "http://h/a/b"));
        assert!(!m("*/a/**/b", "http://h/a/b/c"));
    }

    #[test]
    fn bad_patterns() {
        for bad in ["", "ftp://a.com", "a.com/a**", "a.com/x?y=1", "a.com/../x", "*.", "a b.com", &"a".repeat(1025)] {
            assert!(UrlGlob::parse(bad).is_err(), "accepted {:?}", bad);
        }
    }
}
