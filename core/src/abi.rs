//! The WebAssembly ABI (version 1). Every export is described once, in core/ts/abi.ts.
//!
//! Data moves through two buffers owned by the module: the host asks `checkrd_input(len)` for a
//! pointer to at least `len` bytes, writes the input there (the buffer is reused and grows), and
//! reads results from `checkrd_output_ptr()` / `checkrd_output_len()`. No NUL terminators; no traps
//! for bad input: every failure is a status code plus a JSON error in the output buffer.

use crate::eval::{trace_json, Body, Decision, Engine, EngineOptions, Reason, Request, Trace};
use crate::json::{self, Value};
use crate::policy::{self, Diag, Layer, Options};
use std::fmt::Write as _;

pub const ABI_VERSION: u32 = 1;
/// The largest input the module accepts (policies are ≤ 256 KB as YAML; bodies are capped by the
/// host at the body limit).
pub const MAX_INPUT: usize = 64 << 20;

/// Status bit set in `checkrd_evaluate`'s result when the request could not be evaluated.
pub const EVAL_ERROR: u32 = 1 << 31;

struct State {
    input: Vec<u8>,
    output: Vec<u8>,
    engine: Option<Engine>,
    trace: Vec<Trace>,
}

static mut STATE: Option<State> = None;

fn state() -> &'static mut State {
    // The module is single-threaded: the host calls one export at a time.
    let slot: &'static mut Option<State> = unsafe { &mut *std::ptr::addr_of_mut!(STATE) };
    slot.get_or_insert_with(|| State { input: Vec::new(), output: Vec::new(), engine: None, trace: Vec::new() })
}

#[no_mangle]
pub extern "C" fn checkrd_abi_version() -> u32 {
    ABI_VERSION
}

/// Returns a pointer to an input buffer of at least `len` bytes, or 0 if `len` is too large.
#[no_mangle]
pub extern "C" fn checkrd_input(len: u32) -> *mut u8 {
    let st = state();
    let len = len as usize;
    if len > MAX_INPUT {
        return std::ptr::null_mut();
    }
    if st.input.len() < len {
        st.input.resize(len, 0);
    }
    st.input.as_mut_ptr()
}

#[no_mangle]
pub extern "C" fn checkrd_output_ptr() -> *const u8 {
    state().output.as_ptr()
}

#[no_mangle]
pub extern "C" fn checkrd_output_len() -> u32 {
    state().output.len() as u32
}

fn set_output(s: String) {
    state().output = s.into_bytes();
}

fn diags_json(out: &mut String, layer: &str, diags: &[Diag]) {
    for (i, d) in diags.iter().enumerate() {
        if i > 0 || out.ends_with('}') {
            out.push(',');
        }
        let _ = write!(out, "{{\"layer\":\"{}\",\"path\":", layer);
        json::write_str(&d.path, out);
        let _ = write!(out, ",\"code\":\"{}\",\"message\":", d.code);
        json::write_str(&d.message, out);
        out.push_str(",\"rule\":");
        match &d.rule {
            Some(r) => json::write_str(r, out),
            None => out.push_str("null"),
        }
        out.push('}');
    }
}

fn error_json(code: &str, message: &str) -> String {
    let mut s = String::from("{\"ok\":false,\"code\":");
    json::write_str(code, &mut s);
    s.push_str(",\"message\":");
    json::write_str(message, &mut s);
    s.push('}');
    s
}

/// Validates, compiles and (unless `flags & 1`) installs policies. Input: JSON
/// `{"agent": <policy>, "org": <policy>|null, "options": {"body_limit", "max_keys_per_limit", "require_agent"}}`.
/// Returns 0 when valid, 1 when invalid (errors in the output), 2 when the input is malformed.
#[no_mangle]
pub extern "C" fn checkrd_load(len: u32, flags: u32) -> i32 {
    let st = state();
    let input = match st.input.get(..len as usize) {
        Some(i) => i,
        None => {
            set_output(error_json("CHECKRD_E_ABI", "input length exceeds the input buffer"));
            return 2;
        }
    };
    let doc = match Value::parse(input) {
        Ok(v) => v,
        Err(e) => {
            set_output(error_json("CHECKRD_E_ABI", &format!("load input is not JSON: {}", e.describe())));
            return 2;
        }
    };
    let opts = doc.get("options");
    let num = |k: &str| opts.and_then(|o| o.get(k)).and_then(|v| if let Value::Num(n) = v { Some(*n) } else { None });
    let popts = Options { require_agent: matches!(opts.and_then(|o| o.get("require_agent")), Some(Value::Bool(true))) };
    let mut eopts = EngineOptions::default();
    if let Some(n) = num("body_limit") {
        if n >= 0.0 && n <= MAX_INPUT as f64 {
            eopts.body_limit = n as usize;
        }
    }
    if let Some(n) = num("max_keys_per_limit") {
        if n >= 1.0 && n <= 10_000_000.0 {
            eopts.max_keys_per_limit = n as usize;
        }
    }
    let agent_doc = doc.get("agent").unwrap_or(&Value::Null);
    let agent = policy::compile(agent_doc, Layer::Agent, &popts);
    let org = match doc.get("org") {
        None | Some(Value::Null) => None,
        Some(o) => Some(policy::compile(o, Layer::Org, &Options { require_agent: false })),
    };
    let mut errors = String::new();
    let mut warnings = String::new();
    if let Some(o) = &org {
        diags_json(&mut errors, "org", &o.errors);
        diags_json(&mut warnings, "org", &o.warnings);
    }
    diags_json(&mut errors, "agent", &agent.errors);
    diags_json(&mut warnings, "agent", &agent.warnings);
    let mut ok = agent.policy.is_some() && org.as_ref().map_or(true, |o| o.policy.is_some());
    if let (Some(a), Some(Some(o))) = (&agent.policy, org.as_ref().map(|o| o.policy.as_ref())) {
        let (e, w) = policy::check_layers(o, a);
        ok &= e.is_empty();
        diags_json(&mut errors, "agent", &e);
        diags_json(&mut warnings, "agent", &w);
    }
    let mut out = format!("{{\"ok\":{},\"errors\":[{}],\"warnings\":[{}]", ok, errors, warnings);
    if ok {
        let agent_p = match agent.policy {
            Some(p) => p,
            None => std::process::abort(),
        };
        let org_p = org.and_then(|o| o.policy);
        if flags & 1 == 0 {
            match st.engine.as_mut() {
                Some(e) => {
                    e.set_policies(agent_p, org_p);
                    e.opts = eopts;
                }
                None => st.engine = Some(Engine::new(agent_p, org_p, eopts)),
            }
            if let Some(e) = st.engine.as_ref() {
                out.push_str(",\"rules\":[");
                for (i, (name, layer)) in e.rule_names().iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"name\":");
                    json::write_str(name, &mut out);
                    let _ = write!(out, ",\"source\":\"{}\"}}", layer.as_str());
                }
                let _ = write!(out, "],\"needs_body\":{},\"needs_headers\":{},\"header_names\":[", e.needs_body(), e.needs_headers());
                for (i, h) in e.header_names().iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    json::write_str(h, &mut out);
                }
                out.push(']');
            }
        }
    }
    out.push('}');
    set_output(out);
    if ok {
        0
    } else {
        1
    }
}

#[no_mangle]
pub extern "C" fn checkrd_set_kill_switch(on: u32) {
    if let Some(e) = state().engine.as_mut() {
        e.kill_switch = on != 0;
    }
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

pub const BODY_ABSENT: u32 = u32::MAX;
pub const BODY_TOO_LARGE: u32 = u32::MAX - 1;

/// Evaluates the request frame in the input buffer. Frame layout (little endian):
/// `f64 now_ms | u32 method_len | u32 url_len | u32 header_count | u32 body_len` (24 bytes), then
/// the method, the URL, each header as `u32 name_len | name | u32 value_len | value`, the body.
/// `body_len` is u32::MAX when there is no body and u32::MAX-1 when it exceeds the body limit.
/// Returns the packed decision (see `Decision::pack`), or EVAL_ERROR with an error in the output.
#[no_mangle]
pub extern "C" fn checkrd_evaluate(len: u32) -> u32 {
    evaluate(len, false)
}

/// As `checkrd_evaluate`, and writes the explanation (every rule tried) as JSON to the output.
#[no_mangle]
pub extern "C" fn checkrd_explain(len: u32) -> u32 {
    evaluate(len, true)
}

fn evaluate(len: u32, explain: bool) -> u32 {
    let st = state();
    let engine = match st.engine.as_mut() {
        Some(e) => e,
        None => {
            st.output = error_json("CHECKRD_E_NO_POLICY", "no policy is loaded").into_bytes();
            return EVAL_ERROR;
        }
    };
    let frame = match st.input.get(..len as usize) {
        Some(f) => f,
        None => {
            st.output = error_json("CHECKRD_E_ABI", "frame length exceeds the input buffer").into_bytes();
            return EVAL_ERROR;
        }
    };
    let parsed = parse_frame(frame);
    let (now, method, url, headers, body) = match parsed {
        Some(p) => p,
        None => {
            st.output = error_json("CHECKRD_E_ABI", "malformed request frame").into_bytes();
            return EVAL_ERROR;
        }
    };
    let url = match std::str::from_utf8(url) {
        Ok(u) => u,
        Err(_) => {
            // Not UTF-8: not a URL any client sends.
            return Decision { allow: false, enforced: true, reason: Reason::BadRequest, rule: None, source: None }.pack();
        }
    };
    let req = Request { method, url, headers: &headers, body, now_ms: now };
    if explain {
        st.trace.clear();
        let d = engine.evaluate(&req, Some(&mut st.trace));
        let mut out = String::new();
        let names = engine.rule_names();
        trace_json(&st.trace, &names, &mut out);
        st.output = out.into_bytes();
        d.pack()
    } else {
        engine.evaluate(&req, None).pack()
    }
}

type Frame<'a> = (f64, &'a [u8], &'a [u8], Vec<(&'a [u8], &'a [u8])>, Body<'a>);

fn parse_frame(f: &[u8]) -> Option<Frame<'_>> {
    let now = f64::from_le_bytes(f.get(0..8)?.try_into().ok()?);
    if !now.is_finite() {
        return None;
    }
    let mlen = u32_at(f, 8)? as usize;
    let ulen = u32_at(f, 12)? as usize;
    let hcount = u32_at(f, 16)? as usize;
    let blen = u32_at(f, 20)?;
    let mut at = 24usize;
    let method = f.get(at..at.checked_add(mlen)?)?;
    at += mlen;
    let url = f.get(at..at.checked_add(ulen)?)?;
    at += ulen;
    if hcount > 4096 {
        return None;
    }
    let mut headers = Vec::with_capacity(hcount);
    for _ in 0..hcount {
        let nl = u32_at(f, at)? as usize;
        at += 4;
        let name = f.get(at..at.checked_add(nl)?)?;
        at += nl;
        let vl = u32_at(f, at)? as usize;
        at += 4;
        let value = f.get(at..at.checked_add(vl)?)?;
        at += vl;
        headers.push((name, value));
    }
    let body = match blen {
        BODY_ABSENT => Body::Absent,
        BODY_TOO_LARGE => Body::TooLarge,
        n => Body::Bytes(f.get(at..at.checked_add(n as usize)?)?),
    };
    Some((now, method, url, headers, body))
}

/// Writes engine statistics as JSON: rate-limit keys held, their heap bytes, and linear memory size.
#[no_mangle]
pub extern "C" fn checkrd_stats() {
    let st = state();
    let (keys, bytes) = st.engine.as_ref().map(|e| (e.limit_keys(), e.limit_heap_bytes())).unwrap_or((0, 0));
    #[cfg(target_arch = "wasm32")]
    let memory = core::arch::wasm32::memory_size(0) * 65536;
    #[cfg(not(target_arch = "wasm32"))]
    let memory = 0usize;
    st.output = format!("{{\"limit_keys\":{},\"limit_heap_bytes\":{},\"memory_bytes\":{}}}", keys, bytes, memory).into_bytes();
}
