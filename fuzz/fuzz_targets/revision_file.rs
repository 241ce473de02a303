//! Any bytes: the revision-file parser returns a revision or an error naming the file; it
//! never panics, and an accepted file parses the same again.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("versions/fuzz.sql");
    match dapp_migrate::core::revision::Revision::parse_bytes(path, data) {
        Ok(r) => {
            let again = dapp_migrate::core::revision::Revision::parse_bytes(path, data)
                .expect("an accepted file parses again");
            assert_eq!(r.id, again.id);
        }
        Err(e) => assert!(e.to_string().contains("fuzz.sql"), "{e}"),
    }
});
