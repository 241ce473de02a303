//! Any text as dapp-migrate.toml: a config or an error; never a panic, and the password of
//! a URL never shows in the error.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let env = |k: &str| (k == "FUZZ_URL").then(|| "postgres://u:s3cret@h/d".to_owned());
    let r = dapp_migrate::config::resolve(
        Some(Path::new("/p/dapp-migrate.toml")),
        Some(text),
        &Default::default(),
        &env,
        Path::new("/p"),
    );
    // The password comes from the environment; it may only show if the text itself has it.
    if let Err(e) = r {
        assert!(text.contains("s3cret") || !e.to_string().contains("s3cret"), "{e}");
    }
});
