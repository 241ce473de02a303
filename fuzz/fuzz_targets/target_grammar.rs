//! Any text as a target or range: parsed or refused, never a panic; what parses prints back
//! to something that parses to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;

use dapp_migrate::core::target::{Target, TargetOrRange};

fuzz_target!(|text: &str| {
    if let Ok(t) = text.parse::<Target>() {
        let again: Target = t.to_string().parse().expect("display parses");
        assert_eq!(t, again);
    }
    let _ = text.parse::<TargetOrRange>();
});
