//! Policy validation and compilation. Input is the JSON form of a policy (the policy package turns
//! YAML into it); every problem is reported with a JSON-pointer path that the policy package maps back
//! to a YAML line and column, a stable code, the rule it is in, and what would be valid.

use crate::json::Value;
use crate::jsonpath::Path;
use crate::tz::Tz;
use crate::url::UrlGlob;
use crate::regex::Regex;

pub const MAX_RULES: usize = 200;
pub const MAX_NAME: usize = 128;
pub const MAX_REGEX: usize = 1024;

pub const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

#[derive(Clone, Debug, PartialEq)]
pub struct Diag {
    pub path: String,
    pub code: &'static str,
    pub message: String,
    pub rule: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    Org,
    Agent,
}

impl Layer {
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Org => "org",
            Layer::Agent => "agent",
        }
    }
}

#[derive(Debug)]
pub struct Policy {
    pub agent: Option<String>,
    pub default_allow: bool,
    pub enforce: bool,
    pub rules: Vec<Rule>,
}

#[derive(Debug)]
pub struct Rule {
    pub name: String,
    pub kind: RuleKind,
}

#[derive(Debug)]
pub enum RuleKind {
    Allow(Matcher),
    Deny(Matcher),
    Limit(Limit),
}

#[derive(Debug, Default)]
pub struct Matcher {
    /// Bit i set: METHODS[i] matches. None: any method.
    pub methods: Option<u8>,
    pub url: Option<UrlGlob>,
    pub body: Vec<BodyCond>,
    pub headers: Vec<HeaderCond>,
    pub time: Option<TimeWindow>,
}

#[derive(Debug)]
pub struct BodyCond {
    pub path: Path,
    pub path_text: String,
    pub exists: Option<bool>,
    pub ops: Vec<Op>,
}

#[derive(Debug)]
pub enum Op {
    Exact(Value),
    In(Vec<Value>),
    NotIn(Vec<Value>),
    Min(f64),
    Max(f64),
    Prefix(String),
    Suffix(String),
    Contains(String),
    Regex(Regex),
    MinItems(f64),
    MaxItems(f64),
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::Exact(_) => "exact",
            Op::In(_) => "in",
            Op::NotIn(_) => "not_in",
            Op::Min(_) => "min",
            Op::Max(_) => "max",
            Op::Prefix(_) => "prefix",
            Op::Suffix(_) => "suffix",
            Op::Contains(_) => "contains",
            Op::Regex(_) => "regex",
            Op::MinItems(_) => "min_items",
            Op::MaxItems(_) => "max_items",
        }
    }
}

#[derive(Debug)]
pub struct HeaderCond {
    /// Lower-cased.
    pub name: String,
    pub op: HeaderOp,
}

#[derive(Debug)]
pub enum HeaderOp {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    Regex(Regex),
    Present(bool),
}

#[derive(Debug)]
pub struct TimeWindow {
    pub start: u32,
    pub end: u32,
    pub tz: Tz,
}

#[derive(Debug)]
pub struct Limit {
    pub per: Per,
    pub calls_per_minute: u32,
    pub methods: Option<u8>,
    pub url: Option<UrlGlob>,
    /// Identifies the limit's counters across policy updates: same layer, name and configuration
    /// keep their state.
    pub identity: String,
}

#[derive(Debug)]
pub enum Per {
    Global,
    Endpoint,
    BodyField(Path),
}

impl Policy {
    pub fn needs_body(&self) -> bool {
        self.rules.iter().any(|r| match &r.kind {
            RuleKind::Allow(m) | RuleKind::Deny(m) => !m.body.is_empty(),
            RuleKind::Limit(l) => matches!(l.per, Per::BodyField(_)),
        })
    }
    pub fn needs_headers(&self) -> bool {
        self.rules.iter().any(|r| match &r.kind {
            RuleKind::Allow(m) | RuleKind::Deny(m) => !m.headers.is_empty(),
            RuleKind::Limit(_) => false,
        })
    }
}

struct Ctx {
    errors: Vec<Diag>,
    warnings: Vec<Diag>,
    rule: Option<String>,
    layer: Layer,
}

impl Ctx {
    fn err(&mut self, path: &str, code: &'static str, message: String) {
        self.errors.push(Diag { path: path.to_string(), code, message, rule: self.rule.clone() });
    }
    fn warn(&mut self, path: &str, code: &'static str, message: String) {
        self.warnings.push(Diag { path: path.to_string(), code, message, rule: self.rule.clone() });
    }
}

fn ptr(base: &str, key: &str) -> String {
    let mut s = String::with_capacity(base.len() + key.len() + 1);
    s.push_str(base);
    s.push('/');
    for c in key.chars() {
        match c {
            '~' => s.push_str("~0"),
            '/' => s.push_str("~1"),
            c => s.push(c),
        }
    }
    s
}

fn idx(base: &str, i: usize) -> String {
    format!("{}/{}", base, i)
}

/// Levenshtein distance, for "did you mean" hints.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + if ca == *cb { 0 } else { 1 };
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn suggest(key: &str, allowed: &[&str]) -> String {
    let best = allowed.iter().map(|a| (distance(&key.to_ascii_lowercase(), a), a)).min();
    match best {
        Some((d, a)) if d <= 2 || (d <= 3 && key.len() > 6) => format!(" (did you mean `{}`?)", a),
        _ => String::new(),
    }
}

fn list_keys(allowed: &[&str]) -> String {
    allowed.iter().map(|k| format!("`{}`", k)).collect::<Vec<_>>().join(", ")
}

/// Checks that `v` is a mapping whose keys are all in `allowed`; returns its members.
fn mapping<'a>(cx: &mut Ctx, v: &'a Value, path: &str, what: &str, allowed: &[&str]) -> Option<&'a [(String, Value)]> {
    match v {
        Value::Obj(m) => {
            for (k, _) in m {
                if !allowed.contains(&k.as_str()) {
                    cx.err(&ptr(path, k), "unknown_key", format!("unknown key `{}` in {}{}; valid keys are {}", k, what, suggest(k, allowed), list_keys(allowed)));
                }
            }
            Some(m)
        }
        other => {
            cx.err(path, "wrong_type", format!("{} must be a mapping with keys {}, not {}", what, list_keys(allowed), other.type_name()));
            None
        }
    }
}

fn get<'a>(m: &'a [(String, Value)], key: &str) -> Option<&'a Value> {
    m.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn string<'a>(cx: &mut Ctx, v: &'a Value, path: &str, what: &str) -> Option<&'a str> {
    match v {
        Value::Str(s) => Some(s),
        other => {
            cx.err(path, "wrong_type", format!("{} must be a string, not {}", what, other.type_name()));
            None
        }
    }
}

fn number(cx: &mut Ctx, v: &Value, path: &str, what: &str) -> Option<f64> {
    match v {
        Value::Num(n) if n.is_finite() => Some(*n),
        other => {
            cx.err(path, "wrong_type", format!("{} must be a number, not {}", what, other.type_name()));
            None
        }
    }
}

fn count(cx: &mut Ctx, v: &Value, path: &str, what: &str, min: f64) -> Option<f64> {
    match v {
        Value::Num(n) if n.is_finite() && n.fract() == 0.0 && *n >= min && *n <= 1e15 => Some(*n),
        Value::Num(n) => {
            cx.err(path, "invalid_value", format!("{} must be a whole number ≥ {}, not {}", what, min, n));
            None
        }
        other => {
            cx.err(path, "wrong_type", format!("{} must be a whole number ≥ {}, not {}", what, min, other.type_name()));
            None
        }
    }
}

fn regex(cx: &mut Ctx, v: &Value, path: &str) -> Option<Regex> {
    let s = string(cx, v, path, "`regex`")?;
    if s.len() > MAX_REGEX {
        cx.err(path, "too_long", format!("a regex may be at most {} characters; this one has {}", MAX_REGEX, s.len()));
        return None;
    }
    // crate::regex bounds nesting (regex::NEST_LIMIT) and program size (regex::MAX_INSTS).
    match Regex::new(s) {
        Ok(r) => Some(r),
        Err(msg) => {
            cx.err(path, "invalid_regex", format!("invalid regex `{}`: {} (the syntax is Rust's `regex`: linear time, no backreferences or lookaround)", s, msg));
            None
        }
    }
}

fn methods(cx: &mut Ctx, v: &Value, path: &str) -> Option<u8> {
    let list = match v {
        Value::Arr(a) => a,
        Value::Str(s) => {
            cx.err(path, "wrong_type", format!("`method` must be a list, e.g. `method: [{}]`", s.to_ascii_uppercase()));
            return None;
        }
        other => {
            cx.err(path, "wrong_type", format!("`method` must be a list of {}, not {}", METHODS.join(", "), other.type_name()));
            return None;
        }
    };
    if list.is_empty() {
        cx.err(path, "invalid_value", "an empty `method` list matches no request; omit `method` to match any method".into());
        return None;
    }
    let mut mask = 0u8;
    let mut ok = true;
    for (i, m) in list.iter().enumerate() {
        let p = idx(path, i);
        match m {
            Value::Str(s) => match METHODS.iter().position(|x| x == s) {
                Some(bit) => mask |= 1 << bit,
                None => {
                    let hint = if METHODS.contains(&s.to_ascii_uppercase().as_str()) { format!(" (methods are upper-case: `{}`)", s.to_ascii_uppercase()) } else { String::new() };
                    cx.err(&p, "invalid_value", format!("unknown method `{}`{}; valid methods are {}", s, hint, METHODS.join(", ")));
                    ok = false;
                }
            },
            other => {
                cx.err(&p, "wrong_type", format!("a method must be a string, not {}", other.type_name()));
                ok = false;
            }
        }
    }
    if ok {
        Some(mask)
    } else {
        None
    }
}

fn url(cx: &mut Ctx, v: &Value, path: &str) -> Option<UrlGlob> {
    let s = string(cx, v, path, "`url`")?;
    match UrlGlob::parse(s) {
        Ok(g) => Some(g),
        Err(e) => {
            let code = if s.len() > crate::url::MAX_PATTERN { "too_long" } else { "invalid_url_pattern" };
            cx.err(path, code, e);
            None
        }
    }
}

fn jsonpath(cx: &mut Ctx, v: &Value, path: &str) -> Option<(Path, String)> {
    let s = string(cx, v, path, "`jsonpath`")?;
    match Path::parse(s) {
        Ok(p) => Some((p, s.to_string())),
        Err(e) => {
            let code = if s.len() > crate::jsonpath::MAX_LEN { "too_long" } else { "invalid_jsonpath" };
            cx.err(path, code, e);
            None
        }
    }
}

const BODY_KEYS: [&str; 13] = ["jsonpath", "exact", "in", "not_in", "min", "max", "prefix", "suffix", "contains", "regex", "exists", "min_items", "max_items"];

fn body_cond(cx: &mut Ctx, v: &Value, path: &str) -> Option<BodyCond> {
    let m = mapping(cx, v, path, "a body condition", &BODY_KEYS)?;
    let (p, text) = match get(m, "jsonpath") {
        Some(jp) => jsonpath(cx, jp, &ptr(path, "jsonpath"))?,
        None => {
            cx.err(path, "missing_key", "a body condition needs `jsonpath` (e.g. `jsonpath: \"$.model\"`) and at least one operator".into());
            return None;
        }
    };
    let mut ops = Vec::new();
    let mut exists = None;
    let mut ok = true;
    for (k, val) in m {
        let kp = ptr(path, k);
        let op = match k.as_str() {
            "jsonpath" => continue,
            "exists" => {
                match val {
                    Value::Bool(b) => exists = Some(*b),
                    other => {
                        cx.err(&kp, "wrong_type", format!("`exists` must be true or false, not {}", other.type_name()));
                        ok = false;
                    }
                }
                continue;
            }
            "exact" => Some(Op::Exact(val.clone())),
            "in" | "not_in" => match val {
                Value::Arr(a) => Some(if k == "in" { Op::In(a.clone()) } else { Op::NotIn(a.clone()) }),
                other => {
                    cx.err(&kp, "wrong_type", format!("`{}` must be a list of values, e.g. `{}: [gpt-4o, gpt-4o-mini]`, not {}", k, k, other.type_name()));
                    None
                }
            },
            "min" => number(cx, val, &kp, "`min`").map(Op::Min),
            "max" => number(cx, val, &kp, "`max`").map(Op::Max),
            "prefix" => string(cx, val, &kp, "`prefix`").map(|s| Op::Prefix(s.to_string())),
            "suffix" => string(cx, val, &kp, "`suffix`").map(|s| Op::Suffix(s.to_string())),
            "contains" => string(cx, val, &kp, "`contains`").map(|s| Op::Contains(s.to_string())),
            "regex" => regex(cx, val, &kp).map(Op::Regex),
            "min_items" => count(cx, val, &kp, "`min_items`", 0.0).map(Op::MinItems),
            "max_items" => count(cx, val, &kp, "`max_items`", 0.0).map(Op::MaxItems),
            _ => continue, // reported by mapping()
        };
        match op {
            Some(o) => ops.push(o),
            None => ok = false,
        }
    }
    if ops.is_empty() && exists.is_none() && ok {
        cx.err(path, "missing_key", format!("a body condition needs at least one operator: {}", list_keys(&BODY_KEYS[1..])));
        return None;
    }
    if ok {
        Some(BodyCond { path: p, path_text: text, exists, ops })
    } else {
        None
    }
}

const HEADER_OPS: [&str; 6] = ["exact", "prefix", "suffix", "contains", "regex", "present"];

fn header_cond(cx: &mut Ctx, v: &Value, path: &str) -> Option<HeaderCond> {
    let mut allowed = vec!["name"];
    allowed.extend_from_slice(&HEADER_OPS);
    let m = mapping(cx, v, path, "a header condition", &allowed)?;
    let name = match get(m, "name") {
        Some(n) => string(cx, n, &ptr(path, "name"), "a header `name`")?,
        None => {
            cx.err(path, "missing_key", "a header condition needs `name` and one of `exact`, `prefix`, `suffix`, `contains`, `regex`, `present`".into());
            return None;
        }
    };
    if name.is_empty() || !name.bytes().all(|c| c.is_ascii_graphic() && c != b':') {
        cx.err(&ptr(path, "name"), "invalid_value", format!("`{}` is not a valid header name", name));
        return None;
    }
    let ops: Vec<&(String, Value)> = m.iter().filter(|(k, _)| HEADER_OPS.contains(&k.as_str())).collect();
    if ops.is_empty() {
        cx.err(path, "missing_key", format!("a header condition takes exactly one of {}; this one has none", list_keys(&HEADER_OPS)));
        return None;
    }
    if ops.len() > 1 {
        cx.err(&ptr(path, &ops[1].0), "misplaced_key", format!("a header condition takes exactly one of {}; this one has {}", list_keys(&HEADER_OPS), ops.iter().map(|(k, _)| format!("`{}`", k)).collect::<Vec<_>>().join(" and ")));
        return None;
    }
    let (k, val) = ops[0];
    let kp = ptr(path, k);
    let op = match k.as_str() {
        "exact" => HeaderOp::Exact(string(cx, val, &kp, "`exact`")?.to_string()),
        "prefix" => HeaderOp::Prefix(string(cx, val, &kp, "`prefix`")?.to_string()),
        "suffix" => HeaderOp::Suffix(string(cx, val, &kp, "`suffix`")?.to_string()),
        "contains" => HeaderOp::Contains(string(cx, val, &kp, "`contains`")?.to_string()),
        "regex" => HeaderOp::Regex(regex(cx, val, &kp)?),
        _ => match val {
            Value::Bool(b) => HeaderOp::Present(*b),
            other => {
                cx.err(&kp, "wrong_type", format!("`present` must be true or false, not {}", other.type_name()));
                return None;
            }
        },
    };
    Some(HeaderCond { name: name.to_ascii_lowercase(), op })
}

fn hhmm(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' || !b[0].is_ascii_digit() || !b[1].is_ascii_digit() || !b[3].is_ascii_digit() || !b[4].is_ascii_digit() {
        return None;
    }
    let h = ((b[0] - b'0') * 10 + (b[1] - b'0')) as u32;
    let m = ((b[3] - b'0') * 10 + (b[4] - b'0')) as u32;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 60 + m)
}

fn time_window(cx: &mut Ctx, v: &Value, tz: Option<&Value>, path: &str, tz_path: &str) -> Option<TimeWindow> {
    let s = string(cx, v, path, "`time_outside`")?;
    let parsed = s.split_once('-').and_then(|(a, b)| Some((hhmm(a.trim())?, hhmm(b.trim())?)));
    let (start, end) = match parsed {
        // "00:00-24:00" is the whole day: outside never holds.
        Some((a, b)) if a < 1440 && a != b => (a, b),
        Some((a, _)) if a >= 1440 => {
            cx.err(path, "invalid_time_window", format!("`time_outside: \"{}\"` starts at 24:00, which may only end a window; start at 00:00 instead", s));
            return None;
        }
        Some(_) => {
            cx.err(path, "invalid_time_window", format!("`time_outside: \"{}\"` is an empty window; give two different times, e.g. \"09:00-17:00\"", s));
            return None;
        }
        None => {
            cx.err(path, "invalid_time_window", format!("`time_outside` must be \"HH:MM-HH:MM\" (24-hour, e.g. \"09:00-17:00\" or \"22:00-06:00\"), not \"{}\"", s));
            return None;
        }
    };
    let tz = match tz {
        None => Tz::parse("UTC")?,
        Some(t) => {
            let name = string(cx, t, tz_path, "`timezone`")?;
            match Tz::parse(name) {
                Some(z) => z,
                None => {
                    cx.err(tz_path, "unknown_timezone", format!("unknown timezone `{}`; use an IANA name such as `Europe/Berlin` or `America/New_York`, `UTC`, or an offset such as `+05:30`", name));
                    return None;
                }
            }
        }
    };
    Some(TimeWindow { start, end, tz })
}

const MATCHER_KEYS: [&str; 6] = ["method", "url", "body", "headers", "time_outside", "timezone"];

fn matcher(cx: &mut Ctx, v: &Value, path: &str, kind: &str) -> Option<Matcher> {
    if matches!(v, Value::Null) {
        // `allow:` with nothing under it: an empty matcher, which matches every request.
        return Some(Matcher::default());
    }
    let m = mapping(cx, v, path, &format!("{} `{}` matcher", if kind == "allow" { "an" } else { "a" }, kind), &MATCHER_KEYS)?;
    let mut out = Matcher::default();
    let mut ok = true;
    if let Some(x) = get(m, "method") {
        out.methods = methods(cx, x, &ptr(path, "method"));
        ok &= out.methods.is_some();
    }
    if let Some(x) = get(m, "url") {
        out.url = url(cx, x, &ptr(path, "url"));
        ok &= out.url.is_some();
    }
    if let Some(x) = get(m, "body") {
        let bp = ptr(path, "body");
        match x {
            Value::Arr(list) => {
                for (i, c) in list.iter().enumerate() {
                    match body_cond(cx, c, &idx(&bp, i)) {
                        Some(c) => out.body.push(c),
                        None => ok = false,
                    }
                }
            }
            single => match body_cond(cx, single, &bp) {
                Some(c) => out.body.push(c),
                None => ok = false,
            },
        }
    }
    if let Some(x) = get(m, "headers") {
        let hp = ptr(path, "headers");
        match x {
            Value::Arr(list) => {
                for (i, c) in list.iter().enumerate() {
                    match header_cond(cx, c, &idx(&hp, i)) {
                        Some(c) => out.headers.push(c),
                        None => ok = false,
                    }
                }
            }
            other => {
                cx.err(&hp, "wrong_type", format!("`headers` must be a list of conditions like `- {{name: x-team, exact: billing}}`, not {}", other.type_name()));
                ok = false;
            }
        }
    }
    match (get(m, "time_outside"), get(m, "timezone")) {
        (Some(t), tz) => {
            out.time = time_window(cx, t, tz, &ptr(path, "time_outside"), &ptr(path, "timezone"));
            ok &= out.time.is_some();
        }
        (None, Some(_)) => {
            cx.err(&ptr(path, "timezone"), "misplaced_key", "`timezone` only applies together with `time_outside`".into());
            ok = false;
        }
        (None, None) => {}
    }
    if ok {
        Some(out)
    } else {
        None
    }
}

const LIMIT_KEYS: [&str; 5] = ["calls_per_minute", "per", "field", "method", "url"];

fn limit(cx: &mut Ctx, v: &Value, path: &str, name: &str) -> Option<Limit> {
    let m = mapping(cx, v, path, "a `limit`", &LIMIT_KEYS)?;
    let mut ok = true;
    let cpm = match get(m, "calls_per_minute") {
        Some(x) => match count(cx, x, &ptr(path, "calls_per_minute"), "`calls_per_minute`", 1.0) {
            Some(n) if n > u32::MAX as f64 => {
                cx.err(&ptr(path, "calls_per_minute"), "invalid_value", format!("`calls_per_minute` may be at most {}", u32::MAX));
                None
            }
            Some(n) => Some(n as u32),
            None => None,
        },
        None => {
            cx.err(path, "missing_key", "a `limit` needs `calls_per_minute` (a whole number ≥ 1)".into());
            None
        }
    };
    ok &= cpm.is_some();
    let per_text = match get(m, "per") {
        Some(x) => string(cx, x, &ptr(path, "per"), "`per`"),
        None => {
            cx.err(path, "missing_key", "a `limit` needs `per`: `global`, `endpoint` or `body_field`".into());
            None
        }
    };
    let field = get(m, "field");
    let per = match per_text {
        Some("global") | Some("endpoint") if field.is_some() => {
            cx.err(&ptr(path, "field"), "misplaced_key", "`field` only applies with `per: body_field`".into());
            None
        }
        Some("global") => Some(Per::Global),
        Some("endpoint") => Some(Per::Endpoint),
        Some("body_field") => match field {
            Some(f) => jsonpath(cx, f, &ptr(path, "field")).map(|(p, _)| Per::BodyField(p)),
            None => {
                cx.err(path, "missing_key", "`per: body_field` needs `field`, a jsonpath such as `\"$.model\"`".into());
                None
            }
        },
        Some(other) => {
            cx.err(&ptr(path, "per"), "invalid_value", format!("`per` must be `global`, `endpoint` or `body_field`, not `{}`{}", other, suggest(other, &["global", "endpoint", "body_field"])));
            None
        }
        None => None,
    };
    ok &= per.is_some();
    let mut methods_mask = None;
    if let Some(x) = get(m, "method") {
        methods_mask = methods(cx, x, &ptr(path, "method"));
        ok &= methods_mask.is_some();
    }
    let mut glob = None;
    if let Some(x) = get(m, "url") {
        glob = url(cx, x, &ptr(path, "url"));
        ok &= glob.is_some();
    }
    if !ok {
        return None;
    }
    let per = per?;
    let calls_per_minute = cpm?;
    let identity = format!(
        "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{:?}\u{0}{}",
        cx.layer.as_str(),
        name,
        calls_per_minute,
        per_text.unwrap_or(""),
        methods_mask,
        get(m, "url").and_then(|u| u.as_str()).unwrap_or("")
    ) + &match &per {
        Per::BodyField(_) => get(m, "field").and_then(|f| f.as_str()).unwrap_or("").to_string(),
        _ => String::new(),
    };
    Some(Limit { per, calls_per_minute, methods: methods_mask, url: glob, identity })
}

pub struct Compiled {
    pub policy: Option<Policy>,
    pub errors: Vec<Diag>,
    pub warnings: Vec<Diag>,
}

pub struct Options {
    /// The control plane requires `agent`; local files may omit it.
    pub require_agent: bool,
}

const TOP_KEYS: [&str; 4] = ["agent", "default", "mode", "rules"];
const RULE_KEYS: [&str; 4] = ["name", "allow", "deny", "limit"];

/// Validates and compiles one policy document.
pub fn compile(doc: &Value, layer: Layer, opts: &Options) -> Compiled {
    let mut cx = Ctx { errors: vec![], warnings: vec![], rule: None, layer };
    let policy = compile_inner(&mut cx, doc, opts);
    Compiled { policy: if cx.errors.is_empty() { policy } else { None }, errors: cx.errors, warnings: cx.warnings }
}

fn compile_inner(cx: &mut Ctx, doc: &Value, opts: &Options) -> Option<Policy> {
    let m = mapping(cx, doc, "", "a policy", &TOP_KEYS)?;
    let agent = match get(m, "agent") {
        Some(a) => match string(cx, a, "/agent", "`agent`") {
            Some(s) if s.is_empty() || s.chars().count() > MAX_NAME => {
                cx.err("/agent", "invalid_value", format!("`agent` must be 1 to {} characters", MAX_NAME));
                None
            }
            Some(s) => Some(s.to_string()),
            None => None,
        },
        None => {
            if opts.require_agent {
                cx.err("", "missing_key", "the policy needs `agent: <name>`, the agent it governs".into());
            }
            None
        }
    };
    let default_allow = match get(m, "default") {
        Some(Value::Str(s)) if s == "allow" => Some(true),
        Some(Value::Str(s)) if s == "deny" => Some(false),
        Some(other) => {
            let shown = match other {
                Value::Str(s) => format!("`{}`", s),
                Value::Bool(b) => format!("`{}` (a boolean)", b),
                o => o.type_name().to_string(),
            };
            cx.err("/default", "invalid_value", format!("`default` must be `allow` or `deny`, not {}", shown));
            None
        }
        None => {
            cx.err("", "missing_key", "the policy needs `default: allow` or `default: deny`, the decision when no rule decides".into());
            None
        }
    };
    let enforce = match get(m, "mode") {
        Some(Value::Str(s)) if s == "enforce" => true,
        Some(Value::Str(s)) if s == "dry_run" => false,
        Some(other) => {
            let shown = match other {
                Value::Str(s) => format!("`{}`{}", s, suggest(s, &["enforce", "dry_run"])),
                o => o.type_name().to_string(),
            };
            cx.err("/mode", "invalid_value", format!("`mode` must be `enforce` or `dry_run`, not {}", shown));
            false
        }
        None => {
            cx.warn("", "mode_omitted", "`mode` is omitted, so this policy runs in dry_run: decisions are reported but not enforced; add `mode: enforce` to enforce them".into());
            false
        }
    };
    let mut rules = Vec::new();
    match get(m, "rules") {
        None | Some(Value::Null) => {}
        Some(Value::Arr(list)) => {
            if list.len() > MAX_RULES {
                cx.err(&idx("/rules", MAX_RULES), "too_many_rules", format!("a policy may have at most {} rules; this one has {}", MAX_RULES, list.len()));
            }
            let mut names: Vec<(&str, usize)> = Vec::new();
            for (i, r) in list.iter().enumerate().take(MAX_RULES) {
                let rp = idx("/rules", i);
                cx.rule = r.get("name").and_then(|n| n.as_str()).map(|s| s.to_string());
                let rm = match mapping(cx, r, &rp, "a rule", &RULE_KEYS) {
                    Some(rm) => rm,
                    None => continue,
                };
                let name = match get(rm, "name") {
                    Some(n) => match string(cx, n, &ptr(&rp, "name"), "a rule's `name`") {
                        Some(s) if s.is_empty() || s.chars().count() > MAX_NAME => {
                            cx.err(&ptr(&rp, "name"), if s.is_empty() { "invalid_value" } else { "too_long" }, format!("a rule name must be 1 to {} characters; this one has {}", MAX_NAME, s.chars().count()));
                            None
                        }
                        Some(s) => {
                            if let Some((_, first)) = names.iter().find(|(n, _)| *n == s) {
                                cx.err(&ptr(&rp, "name"), "duplicate_name", format!("rule name `{}` is already used by rule {} (rules[{}]); names must be unique", s, first + 1, first));
                            } else {
                                names.push((s, i));
                            }
                            Some(s.to_string())
                        }
                        None => None,
                    },
                    None => {
                        cx.err(&rp, "missing_key", format!("rule {} needs a `name`", i + 1));
                        None
                    }
                };
                let actions: Vec<&str> = ["allow", "deny", "limit"].iter().copied().filter(|k| get(rm, k).is_some()).collect();
                if actions.len() != 1 {
                    let msg = if actions.is_empty() {
                        "a rule needs exactly one of `allow`, `deny` or `limit`; this one has none".to_string()
                    } else {
                        format!("a rule needs exactly one of `allow`, `deny` or `limit`; this one has {}", actions.iter().map(|a| format!("`{}`", a)).collect::<Vec<_>>().join(" and "))
                    };
                    let at = if actions.len() > 1 { ptr(&rp, actions[1]) } else { rp.clone() };
                    cx.err(&at, if actions.is_empty() { "missing_key" } else { "misplaced_key" }, msg);
                    continue;
                }
                let action = actions[0];
                let body = get(rm, action).unwrap_or(&Value::Null);
                let ap = ptr(&rp, action);
                let kind = match action {
                    "allow" => matcher(cx, body, &ap, "allow").map(RuleKind::Allow),
                    "deny" => matcher(cx, body, &ap, "deny").map(|m| {
                        if !m.body.is_empty() && m.url.is_none() {
                            cx.warn(&ptr(&ap, "body"), "deny_body_unscoped", "this deny rule reads the body but has no `url`: it denies every request whose body is not JSON (body conditions fail closed), e.g. form-encoded payments; scope it with `url`".into());
                        }
                        RuleKind::Deny(m)
                    }),
                    _ => limit(cx, body, &ap, name.as_deref().unwrap_or("")).map(RuleKind::Limit),
                };
                if let (Some(name), Some(kind)) = (name, kind) {
                    rules.push(Rule { name, kind });
                }
            }
            cx.rule = None;
        }
        Some(other) => cx.err("/rules", "wrong_type", format!("`rules` must be a list of rules (each `- name: …`), not {}", other.type_name())),
    }
    Some(Policy { agent, default_allow: default_allow?, enforce, rules })
}

/// Checks an agent policy against the org policy it is layered under.
pub fn check_layers(org: &Policy, agent: &Policy) -> (Vec<Diag>, Vec<Diag>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for (i, r) in agent.rules.iter().enumerate() {
        if org.rules.iter().any(|o| o.name == r.name) {
            errors.push(Diag {
                path: format!("/rules/{}/name", i),
                code: "duplicate_name",
                message: format!("rule name `{}` is already used by the org policy; agent rules may not reuse org rule names", r.name),
                rule: Some(r.name.clone()),
            });
        }
    }
    if !org.default_allow && agent.default_allow {
        warnings.push(Diag {
            path: "/default".into(),
            code: "default_narrowed",
            message: "`default: allow` has no effect: the org policy's default is deny, and an agent policy cannot widen it".into(),
            rule: None,
        });
    }
    (errors, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errs(doc: &str) -> Vec<(String, &'static str)> {
        let v = Value::parse(doc.as_bytes()).unwrap();
        compile(&v, Layer::Agent, &Options { require_agent: false }).errors.into_iter().map(|d| (d.path, d.code)).collect()
    }

    #[test]
    fn valid_seed() {
        let doc = r#"{"default":"deny","mode":"enforce","rules":[
            {"name":"allow_openai_chat","allow":{"method":["POST"],"url":"api.openai.com/v1/chat/completions","body":[{"jsonpath":"$.model","in":["gpt-4o","gpt-4o-mini"]}]}},
            {"name":"rate_limit_per_model","limit":{"per":"body_field","field":"$.model","calls_per_minute":100}}]}"#;
        assert_eq!(errs(doc), vec![]);
        let c = compile(&Value::parse(doc.as_bytes()).unwrap(), Layer::Agent, &Options { require_agent: false });
        let p = c.policy.unwrap();
        assert!(p.needs_body());
        assert!(!p.needs_headers());
        assert_eq!(p.rules.len(), 2);
    }

    #[test]
    fn reports_paths() {
        assert_eq!(errs(r#"{"default":"deny","rules":[{"name":"a","alow":{}}]}"#), vec![("/rules/0/alow".into(), "unknown_key"), ("/rules/0".into(), "missing_key")]);
        assert_eq!(errs(r#"{"default":"deny","rules":[{"name":"a","deny":{}},{"name":"a","deny":{}}]}"#), vec![("/rules/1/name".into(), "duplicate_name")]);
        assert_eq!(errs(r#"{"default":"maybe"}"#), vec![("/default".into(), "invalid_value")]);
        assert_eq!(errs(r#"{"rules":[]}"#), vec![("".into(), "missing_key")]);
        assert_eq!(errs(r#"{"default":"deny","rules":[{"name":"a","deny":{"body":{"jsonpath":"$[?(@.a)]","exists":true}}}]}"#), vec![("/rules/0/deny/body/jsonpath".into(), "invalid_jsonpath")]);
        assert_eq!(errs(r#"{"default":"deny","rules":[{"name":"a","deny":{"body":[{"jsonpath":"$.a","regex":"(a"}]}}]}"#), vec![("/rules/0/deny/body/0/regex".into(), "invalid_regex")]);
        assert_eq!(errs(r#"{"default":"deny","rules":[{"name":"a","deny":{"time_outside":"09:00-17:00","timezone":"Mars/Olympus"}}]}"#), vec![("/rules/0/deny/timezone".into(), "unknown_timezone")]);
        assert_eq!(errs(r#"{"default":"deny","rules":[{"name":"a","limit":{"per":"body_field","calls_per_minute":0}}]}"#), vec![("/rules/0/limit/calls_per_minute".into(), "invalid_value"), ("/rules/0/limit".into(), "missing_key")]);
        assert_eq!(errs(r#"{"default":"deny","rules":[{"name":"a","deny":{"method":["post"]}}]}"#), vec![("/rules/0/deny/method/0".into(), "invalid_value")]);
        let many = format!(r#"{{"default":"deny","rules":[{}]}}"#, (0..201).map(|i| format!(r#"{{"name":"r{}","deny":{{}}}}"#, i)).collect::<Vec<_>>().join(","));
        assert_eq!(errs(&many), vec![("/rules/200".into(), "too_many_rules")]);
    }

    #[test]
    fn suggestions() {
        let v = Value::parse(br#"{"default":"deny","rules":[{"name":"a","alow":{}}]}"#).unwrap();
        let c = compile(&v, Layer::Agent, &Options { require_agent: false });
        assert!(c.errors[0].message.contains("did you mean `allow`"), "{}", c.errors[0].message);
        assert_eq!(c.errors[0].rule.as_deref(), Some("a"));
    }
}
