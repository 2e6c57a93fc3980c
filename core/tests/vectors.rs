//! The shared decision-vector corpus (core/vectors/*.json), run natively. core/test/vectors.test.ts
//! runs the same files through the wasm module and the TypeScript host; both must agree on every case.

use checkrd_core::eval::{Body, Engine, EngineOptions, Request};
use checkrd_core::json::Value;
use checkrd_core::policy::{compile, Layer, Options};
use std::fs;

fn field<'a>(v: &'a Value, k: &str) -> Option<&'a Value> {
    v.get(k)
}

#[test]
fn decision_vectors() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors");
    let mut files: Vec<_> = fs::read_dir(dir).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().map_or(false, |x| x == "json")).collect();
    files.sort();
    assert!(!files.is_empty(), "no vectors in {}", dir);
    let (mut steps_run, mut failures) = (0, Vec::new());
    for file in &files {
        let text = fs::read(file).unwrap();
        let doc = Value::parse(&text).unwrap_or_else(|e| panic!("{}: {:?}", file.display(), e));
        let cases = match field(&doc, "cases") {
            Some(Value::Arr(c)) => c,
            _ => panic!("{}: no cases", file.display()),
        };
        for case in cases {
            let name = field(case, "name").and_then(|n| n.as_str()).unwrap_or("?").to_string();
            let opts = Options { require_agent: false };
            let agent = compile(field(case, "policy").unwrap(), Layer::Agent, &opts);
            let org = field(case, "org_policy").map(|o| compile(o, Layer::Org, &opts));
            let (agent, org) = match (agent.policy, org.map(|o| o.policy)) {
                (Some(a), None) => (a, None),
                (Some(a), Some(Some(o))) => (a, Some(o)),
                _ => {
                    failures.push(format!("{}: policy rejected", name));
                    continue;
                }
            };
            let mut eopts = EngineOptions::default();
            if let Some(o) = field(case, "options") {
                if let Some(Value::Num(n)) = o.get("body_limit") {
                    eopts.body_limit = *n as usize;
                }
                if let Some(Value::Num(n)) = o.get("max_keys_per_limit") {
                    eopts.max_keys_per_limit = *n as usize;
                }
            }
            let mut engine = Engine::new(agent, org, eopts);
            let names: Vec<String> = engine.rule_names().iter().map(|(n, _)| n.to_string()).collect();
            let steps = match field(case, "steps") {
                Some(Value::Arr(s)) => s,
                _ => panic!("{}: no steps", name),
            };
            for (si, step) in steps.iter().enumerate() {
                let req = field(step, "request").unwrap();
                let method = req.get("method").and_then(|m| m.as_str()).unwrap_or("GET");
                let url = req.get("url").and_then(|m| m.as_str()).unwrap_or("");
                let mut headers: Vec<(&[u8], &[u8])> = Vec::new();
                if let Some(Value::Obj(h)) = req.get("headers") {
                    for (k, v) in h {
                        if let Value::Str(s) = v {
                            headers.push((k.as_bytes(), s.as_bytes()));
                        }
                    }
                }
                let body = match req.get("body") {
                    Some(Value::Str(s)) => Body::Bytes(s.as_bytes()),
                    _ => Body::Absent,
                };
                let now = match field(step, "now") {
                    Some(Value::Num(n)) => *n,
                    _ => 0.0,
                };
                engine.kill_switch = matches!(field(step, "kill_switch"), Some(Value::Bool(true)));
                let d = engine.evaluate(&Request { method: method.as_bytes(), url, headers: &headers, body, now_ms: now }, None);
                steps_run += 1;
                let exp = field(step, "expect").unwrap();
                let got_rule = d.rule.and_then(|r| names.get(r as usize).cloned());
                let want_rule = exp.get("matched_rule").and_then(|r| r.as_str()).map(|s| s.to_string());
                let got = (if d.allow { "allow" } else { "deny" }, d.enforced, got_rule, d.reason.as_str(), d.source.map(|s| s.as_str()));
                let want = (
                    exp.get("result").and_then(|r| r.as_str()).unwrap_or(""),
                    matches!(exp.get("enforced"), Some(Value::Bool(true))),
                    want_rule,
                    exp.get("reason").and_then(|r| r.as_str()).unwrap_or(""),
                    exp.get("rule_source").and_then(|r| r.as_str()),
                );
                if got != want {
                    failures.push(format!("{} step {}: {} {}\n    want {:?}\n    got  {:?}", name, si + 1, method, url, want, got));
                }
            }
        }
    }
    if !failures.is_empty() {
        panic!("{} of {} steps failed:\n{}", failures.len(), steps_run, failures.join("\n"));
    }
    println!("{} vector steps passed", steps_run);
}
