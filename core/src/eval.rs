//! Evaluation: one request, the policy layers, the kill switch and the rate-limit state in,
//! one decision out. Time is an argument; nothing here reads a clock or does I/O.

use crate::json::{self, Kind, Node, Tape};
use crate::limits::{self, Check, Window};
use crate::policy::{BodyCond, HeaderCond, HeaderOp, Layer, Limit, Matcher, Op, Per, Policy, RuleKind, METHODS};
use crate::url::{normalize, Subject};
use std::collections::HashMap;
use std::fmt::Write as _;

pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    RuleAllow = 0,
    RuleDeny = 1,
    DefaultAllow = 2,
    DefaultDeny = 3,
    RateLimited = 4,
    KillSwitch = 5,
    BadRequest = 6,
    EngineError = 7,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::RuleAllow => "rule_allow",
            Reason::RuleDeny => "rule_deny",
            Reason::DefaultAllow => "default_allow",
            Reason::DefaultDeny => "default_deny",
            Reason::RateLimited => "rate_limited",
            Reason::KillSwitch => "kill_switch",
            Reason::BadRequest => "bad_request",
            Reason::EngineError => "engine_error",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allow: bool,
    pub enforced: bool,
    pub reason: Reason,
    /// Index into `Engine::rule_names()` (org rules first, then agent rules).
    pub rule: Option<u16>,
    pub source: Option<Layer>,
}

impl Decision {
    /// Packs the decision into 32 bits for the ABI:
    /// bit 0 allow, bit 1 enforced, bits 2-5 reason, bits 6-7 source (0 none, 1 org, 2 agent),
    /// bits 8-23 rule index + 1 (0 = none).
    pub fn pack(&self) -> u32 {
        let src = match self.source {
            None => 0,
            Some(Layer::Org) => 1,
            Some(Layer::Agent) => 2,
        };
        (self.allow as u32) | (self.enforced as u32) << 1 | (self.reason as u32) << 2 | src << 6 | (self.rule.map(|r| r as u32 + 1).unwrap_or(0)) << 8
    }
}

pub enum Body<'a> {
    Absent,
    Bytes(&'a [u8]),
    /// Present but larger than the body limit (the host need not pass it).
    TooLarge,
}

pub struct Request<'a> {
    pub method: &'a [u8],
    pub url: &'a str,
    /// (name, value) pairs as sent; names are compared case-insensitively.
    pub headers: &'a [(&'a [u8], &'a [u8])],
    pub body: Body<'a>,
    pub now_ms: f64,
}

/// One line of an explanation: a rule tried and what came of it.
pub struct Trace {
    pub rule: u16,
    pub outcome: &'static str,
    pub detail: String,
}

pub struct EngineOptions {
    pub body_limit: usize,
    pub max_keys_per_limit: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions { body_limit: DEFAULT_BODY_LIMIT, max_keys_per_limit: limits::DEFAULT_MAX_KEYS }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyState {
    Unparsed,
    Absent,
    Json,
    Invalid,
}

pub struct Engine {
    org: Option<Policy>,
    agent: Policy,
    pub kill_switch: bool,
    pub opts: EngineOptions,
    windows: HashMap<String, Window, std::hash::BuildHasherDefault<limits::IdHasher>>,
    /// Largest time seen: rate-limit time never runs backwards.
    clock: f64,
    // Scratch, reused across requests.
    tape: Tape,
    subj: Subject,
    segs: Vec<usize>,
    sel: Vec<u32>,
    tmp: Vec<u32>,
    scratch: String,
    scratch2: String,
    keys: Vec<(usize, u64)>,
}

struct Cursor<'e, 'r> {
    tape: &'e mut Tape,
    sel: &'e mut Vec<u32>,
    tmp: &'e mut Vec<u32>,
    scratch: &'e mut String,
    scratch2: &'e mut String,
    body_state: BodyState,
    body: &'e Body<'r>,
    body_limit: usize,
}

impl<'e, 'r> Cursor<'e, 'r> {
    fn body_src(&self) -> &'r [u8] {
        match self.body {
            Body::Bytes(b) => b,
            _ => &[],
        }
    }

    fn ensure_body(&mut self) -> BodyState {
        if self.body_state == BodyState::Unparsed {
            self.body_state = match self.body {
                Body::Absent => BodyState::Absent,
                Body::TooLarge => BodyState::Invalid,
                Body::Bytes(b) if b.len() > self.body_limit => BodyState::Invalid,
                Body::Bytes(b) => match self.tape.parse(b) {
                    Ok(()) => BodyState::Json,
                    Err(_) => BodyState::Invalid,
                },
            };
        }
        self.body_state
    }
}

impl Engine {
    pub fn new(agent: Policy, org: Option<Policy>, opts: EngineOptions) -> Engine {
        Engine {
            org,
            agent,
            kill_switch: false,
            opts,
            windows: HashMap::default(),
            clock: f64::MIN,
            tape: Tape::new(),
            subj: Subject::default(),
            segs: Vec::new(),
            sel: Vec::new(),
            tmp: Vec::new(),
            scratch: String::new(),
            scratch2: String::new(),
            keys: Vec::new(),
        }
    }

    /// Replaces the policies. Counters of limits whose identity (layer, name, configuration) is
    /// unchanged are kept, so an update never resets a limit; others are dropped.
    pub fn set_policies(&mut self, agent: Policy, org: Option<Policy>) {
        self.agent = agent;
        self.org = org;
        let mut keep: Vec<String> = Vec::new();
        for (_, p) in self.layers() {
            for r in &p.rules {
                if let RuleKind::Limit(l) = &r.kind {
                    keep.push(l.identity.clone());
                }
            }
        }
        self.windows.retain(|k, _| keep.contains(k));
    }

    fn layers(&self) -> impl Iterator<Item = (Layer, &Policy)> {
        self.org.iter().map(|p| (Layer::Org, p)).chain(std::iter::once((Layer::Agent, &self.agent)))
    }

    pub fn rule_names(&self) -> Vec<(&str, Layer)> {
        self.layers().flat_map(|(l, p)| p.rules.iter().map(move |r| (r.name.as_str(), l))).collect()
    }

    pub fn needs_body(&self) -> bool {
        self.layers().any(|(_, p)| p.needs_body())
    }

    pub fn needs_headers(&self) -> bool {
        self.layers().any(|(_, p)| p.needs_headers())
    }

    /// The (lower-case) header names any rule reads: the host passes only these.
    pub fn header_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for (_, p) in self.layers() {
            for r in &p.rules {
                if let RuleKind::Allow(m) | RuleKind::Deny(m) = &r.kind {
                    for h in &m.headers {
                        if !names.contains(&h.name.as_str()) {
                            names.push(&h.name);
                        }
                    }
                }
            }
        }
        names
    }

    pub fn limit_keys(&self) -> usize {
        self.windows.values().map(|w| w.len()).sum()
    }

    pub fn limit_heap_bytes(&self) -> usize {
        self.windows.values().map(|w| w.heap_bytes()).sum()
    }

    pub fn evaluate(&mut self, req: &Request, mut trace: Option<&mut Vec<Trace>>) -> Decision {
        if self.kill_switch {
            return Decision { allow: false, enforced: true, reason: Reason::KillSwitch, rule: None, source: None };
        }
        if normalize(req.url, &mut self.subj, &mut self.segs).is_err() {
            return Decision { allow: false, enforced: true, reason: Reason::BadRequest, rule: None, source: None };
        }
        let mut method_buf = [0u8; 8];
        let method_bit = method_bit(req.method, &mut method_buf);
        let mut cur = Cursor {
            tape: &mut self.tape,
            sel: &mut self.sel,
            tmp: &mut self.tmp,
            scratch: &mut self.scratch,
            scratch2: &mut self.scratch2,
            body_state: BodyState::Unparsed,
            body: &req.body,
            body_limit: self.opts.body_limit,
        };
        let subj = &self.subj;
        let org = self.org.as_ref();
        let agent = &self.agent;
        let layers = org.map(|p| (Layer::Org, p)).into_iter().chain(std::iter::once((Layer::Agent, agent)));
        let org_len = org.map(|p| p.rules.len()).unwrap_or(0);
        let base = |l: Layer| if l == Layer::Org { 0 } else { org_len };

        // Deny rules, org first.
        let mut decided: Option<Decision> = None;
        'deny: for (layer, p) in layers.clone() {
            for (i, r) in p.rules.iter().enumerate() {
                if let RuleKind::Deny(m) = &r.kind {
                    let idx = (base(layer) + i) as u16;
                    let hit = matches(m, false, req, method_bit, subj, &mut cur, trace.as_deref_mut().map(|t| (t, idx)));
                    if hit {
                        decided = Some(Decision { allow: false, enforced: p.enforce, reason: Reason::RuleDeny, rule: Some(idx), source: Some(layer) });
                        break 'deny;
                    }
                }
            }
        }
        if decided.is_none() {
            'allow: for (layer, p) in layers.clone() {
                for (i, r) in p.rules.iter().enumerate() {
                    if let RuleKind::Allow(m) = &r.kind {
                        let idx = (base(layer) + i) as u16;
                        if matches(m, true, req, method_bit, subj, &mut cur, trace.as_deref_mut().map(|t| (t, idx))) {
                            decided = Some(Decision { allow: true, enforced: p.enforce, reason: Reason::RuleAllow, rule: Some(idx), source: Some(layer) });
                            break 'allow;
                        }
                    }
                }
            }
        }
        let decision = decided.unwrap_or_else(|| match org {
            Some(o) if !o.default_allow => Decision { allow: false, enforced: o.enforce, reason: Reason::DefaultDeny, rule: None, source: Some(Layer::Org) },
            _ => {
                let allow = agent.default_allow;
                Decision { allow, enforced: agent.enforce, reason: if allow { Reason::DefaultAllow } else { Reason::DefaultDeny }, rule: None, source: Some(Layer::Agent) }
            }
        });
        if !decision.allow {
            return decision;
        }

        // Limits: check every applicable one; consume only if none is exhausted.
        if req.now_ms > self.clock {
            self.clock = req.now_ms;
        }
        let now = self.clock;
        let max_keys = self.opts.max_keys_per_limit;
        self.keys.clear();
        for (layer, p) in layers.clone() {
            for (i, r) in p.rules.iter().enumerate() {
                let idx = base(layer) + i;
                let l = match &r.kind {
                    RuleKind::Limit(l) => l,
                    _ => continue,
                };
                let key = match limit_key(l, method_bit, subj, &mut cur) {
                    Some(k) => k,
                    None => {
                        if let Some(t) = trace.as_deref_mut() {
                            t.push(Trace { rule: idx as u16, outcome: "not_applicable", detail: "the request is outside this limit's scope".into() });
                        }
                        continue;
                    }
                };
                let state = match self.windows.get(&l.identity) {
                    Some(w) => w.check(key, now, l.calls_per_minute, max_keys),
                    None => Check::Ok,
                };
                if state != Check::Ok {
                    if let Some(t) = trace.as_deref_mut() {
                        let detail = if state == Check::Full {
                            format!("the limit tracks {} keys, all active in the last 60 s; a new key is refused", max_keys)
                        } else {
                            format!("{} calls already admitted in the last 60 s", l.calls_per_minute)
                        };
                        t.push(Trace { rule: idx as u16, outcome: "exhausted", detail });
                    }
                    return Decision { allow: false, enforced: p.enforce, reason: Reason::RateLimited, rule: Some(idx as u16), source: Some(layer) };
                }
                if let Some(t) = trace.as_deref_mut() {
                    t.push(Trace { rule: idx as u16, outcome: "counted", detail: format!("within {} calls per minute", l.calls_per_minute) });
                }
                self.keys.push((idx, key));
            }
        }
        // Every applicable limit has room: each consumes one call.
        let mut k = 0;
        for (layer, p) in layers {
            for (i, r) in p.rules.iter().enumerate() {
                match (self.keys.get(k), &r.kind) {
                    (Some(&(idx, key)), RuleKind::Limit(l)) if idx == base(layer) + i => {
                        k += 1;
                        match self.windows.get_mut(&l.identity) {
                            Some(w) => w.consume(key, now, max_keys),
                            None => {
                                let mut w = Window::new();
                                w.consume(key, now, max_keys);
                                self.windows.insert(l.identity.clone(), w);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        decision
    }
}

fn method_bit(method: &[u8], buf: &mut [u8; 8]) -> u8 {
    if method.len() > 7 {
        return 0;
    }
    let up = &mut buf[..method.len()];
    up.copy_from_slice(method);
    up.make_ascii_uppercase();
    METHODS.iter().position(|m| m.as_bytes() == &up[..]).map(|i| 1u8 << i).unwrap_or(0)
}

fn limit_key(l: &Limit, method_bit: u8, subj: &Subject, cur: &mut Cursor) -> Option<u64> {
    if let Some(m) = l.methods {
        if m & method_bit == 0 {
            return None;
        }
    }
    if let Some(g) = &l.url {
        if !g.matches(subj) {
            return None;
        }
    }
    match &l.per {
        Per::Global => Some(limits::key_digest(b"")),
        Per::Endpoint => Some(limits::key_digest(subj.subject.as_bytes())),
        Per::BodyField(path) => {
            if cur.ensure_body() != BodyState::Json {
                return None;
            }
            let src = cur.body_src();
            path.select(cur.tape, src, cur.sel, cur.tmp, cur.scratch);
            if cur.sel.is_empty() {
                return None;
            }
            // Fast path: one string without escapes is keyed by its raw JSON text, no allocation.
            if let [one] = cur.sel.as_slice() {
                if let Some(n) = cur.tape.node(*one) {
                    if n.kind == Kind::String && !n.escaped {
                        if let Some(raw) = src.get((n.a as usize).saturating_sub(1)..n.b as usize + 1) {
                            return Some(limits::key_digest(raw));
                        }
                    }
                }
            }
            let mut text = String::new();
            if cur.sel.len() > 1 {
                text.push('[');
            }
            for (i, &n) in cur.sel.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                json::build(cur.tape, src, n, cur.scratch).write_canonical(&mut text);
            }
            Some(limits::key_digest(text.as_bytes()))
        }
    }
}

/// Does matcher `m` hold for the request? `allow_kind` selects the safe reading of body and header
/// conditions (see docs/policy-language.md).
/// Why a matcher did not hold. Turned into text only when an explanation was asked for, so the
/// hot path allocates nothing.
enum Miss {
    Method,
    Url,
    Header(usize),
    Time(u32),
    Body(usize, BodyMiss),
}

enum BodyMiss {
    Invalid,
    NoBody,
    Exists(usize, bool),
    Nothing,
    AllowFails,
    DenyNone,
}

fn matches(m: &Matcher, allow_kind: bool, req: &Request, method_bit: u8, subj: &Subject, cur: &mut Cursor, trace: Option<(&mut Vec<Trace>, u16)>) -> bool {
    let outcome = matches_inner(m, allow_kind, req, method_bit, subj, cur);
    if let Some((t, idx)) = trace {
        let detail = match &outcome {
            Ok(()) => "every condition holds".to_string(),
            Err(Miss::Method) => format!("method {} is not in the rule's list", String::from_utf8_lossy(req.method).to_ascii_uppercase()),
            Err(Miss::Url) => format!("url {} does not match the pattern", subj.subject),
            Err(Miss::Header(i)) => format!("headers[{}] ({}) does not hold", i, m.headers.get(*i).map_or("", |h| h.name.as_str())),
            Err(Miss::Time(minute)) => format!("local time {:02}:{:02} is inside the window", minute / 60, minute % 60),
            Err(Miss::Body(i, why)) => {
                let c = m.body.get(*i);
                let ops = c.map(|c| c.ops.iter().map(|o| o.name()).collect::<Vec<_>>().join("/")).unwrap_or_default();
                let why = match why {
                    BodyMiss::Invalid => "the body is not JSON, too deep or too large (fails closed)".to_string(),
                    BodyMiss::NoBody => "the request has no body".to_string(),
                    BodyMiss::Exists(n, e) => format!("selects {} value(s); exists: {}", n, e),
                    BodyMiss::Nothing => "selects nothing".to_string(),
                    BodyMiss::AllowFails => format!("a selected value fails {}", ops),
                    BodyMiss::DenyNone => format!("no selected value satisfies {}", ops),
                };
                format!("body[{}] ({}) does not hold: {}", i, c.map_or("", |c| c.path_text.as_str()), why)
            }
        };
        t.push(Trace { rule: idx, outcome: if outcome.is_ok() { "matched" } else { "no_match" }, detail });
    }
    outcome.is_ok()
}

fn matches_inner(m: &Matcher, allow_kind: bool, req: &Request, method_bit: u8, subj: &Subject, cur: &mut Cursor) -> Result<(), Miss> {
    if let Some(mask) = m.methods {
        if mask & method_bit == 0 {
            return Err(Miss::Method);
        }
    }
    if let Some(g) = &m.url {
        if !g.matches(subj) {
            return Err(Miss::Url);
        }
    }
    for (i, h) in m.headers.iter().enumerate() {
        if !header_holds(h, allow_kind, req.headers) {
            return Err(Miss::Header(i));
        }
    }
    if let Some(w) = &m.time {
        let minute = w.tz.local_minute_of_day(req.now_ms as i64);
        let inside = if w.start < w.end { minute >= w.start && minute < w.end } else { minute >= w.start || minute < w.end };
        if inside {
            return Err(Miss::Time(minute));
        }
    }
    for (i, c) in m.body.iter().enumerate() {
        if let Err(why) = body_holds(c, allow_kind, cur) {
            return Err(Miss::Body(i, why));
        }
    }
    Ok(())
}

fn header_value_holds(op: &HeaderOp, v: &[u8]) -> bool {
    let s = match std::str::from_utf8(v) {
        Ok(s) => s,
        Err(_) => return false,
    };
    match op {
        HeaderOp::Exact(x) => s == x,
        HeaderOp::Prefix(x) => s.starts_with(x.as_str()),
        HeaderOp::Suffix(x) => s.ends_with(x.as_str()),
        HeaderOp::Contains(x) => s.contains(x.as_str()),
        HeaderOp::Regex(r) => r.is_match(s),
        HeaderOp::Present(_) => true,
    }
}

fn header_holds(h: &HeaderCond, allow_kind: bool, headers: &[(&[u8], &[u8])]) -> bool {
    let mut any = false;
    let mut all = true;
    let mut seen = false;
    for (name, value) in headers {
        if !name.eq_ignore_ascii_case(h.name.as_bytes()) {
            continue;
        }
        seen = true;
        if header_value_holds(&h.op, value) {
            any = true;
        } else {
            all = false;
        }
    }
    match h.op {
        HeaderOp::Present(p) => seen == p,
        _ => seen && if allow_kind { all } else { any },
    }
}

fn body_holds(c: &BodyCond, allow_kind: bool, cur: &mut Cursor) -> Result<(), BodyMiss> {
    match cur.ensure_body() {
        BodyState::Invalid => {
            return if allow_kind { Err(BodyMiss::Invalid) } else { Ok(()) };
        }
        BodyState::Absent => {
            return if c.exists == Some(false) && c.ops.is_empty() { Ok(()) } else { Err(BodyMiss::NoBody) };
        }
        _ => {}
    }
    let src = cur.body_src();
    c.path.select(cur.tape, src, cur.sel, cur.tmp, cur.scratch);
    let n = cur.sel.len();
    if let Some(e) = c.exists {
        if (n > 0) != e {
            return Err(BodyMiss::Exists(n, e));
        }
    }
    if c.ops.is_empty() {
        return Ok(());
    }
    if n == 0 {
        return Err(BodyMiss::Nothing);
    }
    let tape: &Tape = cur.tape;
    let mut any = false;
    let mut all = true;
    for &i in cur.sel.iter() {
        let node = match tape.node(i) {
            Some(n) => *n,
            None => continue,
        };
        let ok = c.ops.iter().all(|op| op_holds(op, tape, src, i, &node, cur.scratch, cur.scratch2));
        any |= ok;
        all &= ok;
        if allow_kind && !all {
            break;
        }
        if !allow_kind && any {
            break;
        }
    }
    let holds = if allow_kind { all } else { any };
    if holds {
        Ok(())
    } else if allow_kind {
        Err(BodyMiss::AllowFails)
    } else {
        Err(BodyMiss::DenyNone)
    }
}

fn op_holds(op: &Op, tape: &Tape, src: &[u8], i: u32, node: &Node, scratch: &mut String, scratch2: &mut String) -> bool {
    match op {
        Op::Exact(v) => json_eq(tape, src, i, v, scratch),
        Op::In(vs) => vs.iter().any(|v| json_eq(tape, src, i, v, scratch)),
        Op::NotIn(vs) => !vs.iter().any(|v| json_eq(tape, src, i, v, scratch)),
        Op::Min(m) => node.kind == Kind::Number && json::number_value(src, node).map_or(false, |x| x >= *m),
        Op::Max(m) => node.kind == Kind::Number && json::number_value(src, node).map_or(false, |x| x <= *m),
        Op::MinItems(m) => node.kind == Kind::Array && node.b as f64 >= *m,
        Op::MaxItems(m) => node.kind == Kind::Array && node.b as f64 <= *m,
        Op::Prefix(_) | Op::Suffix(_) | Op::Contains(_) | Op::Regex(_) => {
            if node.kind != Kind::String {
                return false;
            }
            let s = json::string_value(src, node, scratch2);
            match op {
                Op::Prefix(x) => s.starts_with(x.as_str()),
                Op::Suffix(x) => s.ends_with(x.as_str()),
                Op::Contains(x) => s.contains(x.as_str()),
                Op::Regex(r) => r.is_match(s),
                _ => false,
            }
        }
    }
}

/// JSON equality between the tape value at `i` and a policy constant.
fn json_eq(tape: &Tape, src: &[u8], i: u32, v: &json::Value, scratch: &mut String) -> bool {
    let node = match tape.node(i) {
        Some(n) => *n,
        None => return false,
    };
    match (node.kind, v) {
        (Kind::Null, json::Value::Null) => true,
        (Kind::True, json::Value::Bool(true)) | (Kind::False, json::Value::Bool(false)) => true,
        (Kind::Number, json::Value::Num(x)) => json::number_value(src, &node) == Some(*x),
        (Kind::String, json::Value::Str(x)) => {
            if !node.escaped {
                src.get(node.a as usize..node.b as usize) == Some(x.as_bytes())
            } else {
                json::string_value(src, &node, scratch) == x
            }
        }
        (Kind::Array, json::Value::Arr(items)) => {
            if node.b as usize != items.len() {
                return false;
            }
            let mut ok = true;
            let mut k = 0;
            tape.elements(i, |e| {
                if ok {
                    ok = items.get(k).map_or(false, |it| json_eq(tape, src, e, it, &mut String::new()));
                }
                k += 1;
            });
            ok
        }
        (Kind::Object, json::Value::Obj(members)) => {
            if node.b as usize != members.len() {
                return false;
            }
            let mut ok = true;
            let mut key = String::new();
            tape.members(i, |kn, vn| {
                if !ok {
                    return;
                }
                let k = match tape.node(kn) {
                    Some(n) => json::string_value(src, n, &mut key).to_string(),
                    None => String::new(),
                };
                ok = members.iter().any(|(mk, mv)| *mk == k && json_eq(tape, src, vn, mv, &mut String::new()));
            });
            ok
        }
        _ => false,
    }
}

/// Writes an explanation as JSON.
pub fn trace_json(trace: &[Trace], names: &[(&str, Layer)], out: &mut String) {
    out.push('[');
    for (i, t) in trace.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let (name, layer) = names.get(t.rule as usize).copied().unwrap_or(("", Layer::Agent));
        out.push_str("{\"rule\":");
        json::write_str(name, out);
        let _ = write!(out, ",\"source\":\"{}\",\"outcome\":\"{}\",\"detail\":", layer.as_str(), t.outcome);
        json::write_str(&t.detail, out);
        out.push('}');
    }
    out.push(']');
}
