//! checkrd-core: the policy engine. It validates and compiles policies and evaluates requests;
//! it performs no I/O and reads no clock, so every host gets identical decisions.

pub mod abi;
pub mod eval;
pub mod json;
pub mod jsonpath;
pub mod limits;
pub mod policy;
pub mod regex;
pub mod tz;
pub mod url;
