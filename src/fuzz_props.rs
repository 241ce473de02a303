//! The fuzz targets of `fuzz/` as property tests, so CI runs them on every change: the
//! revision-file parser, the config parser and the target grammar take any input without
//! panicking, say where an error is, and round-trip what they accept.

use std::path::Path;

use proptest::prelude::*;

use crate::core::revision::Revision;
use crate::core::target::{Target, TargetOrRange};

/// Text shaped like a revision file: header lines, markers and SQL, in any order and mix.
fn revision_like() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("-- Revision ID: a1".to_owned()),
        Just("-- Revises: a0, b0".to_owned()),
        Just("-- Depends On: lib".to_owned()),
        Just("-- Branch Labels: left".to_owned()),
        Just("-- Transactional: false".to_owned()),
        Just("-- migrate:upgrade".to_owned()),
        Just("-- migrate:downgrade".to_owned()),
        Just("--".to_owned()),
        Just(String::new()),
        "-- [A-Za-z ]{0,12}: [a-z0-9_,' ;-]{0,20}",
        "[ -~]{0,40}",
        "\\PC{0,20}",
    ];
    prop::collection::vec(line, 0..14).prop_map(|v| v.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn revision_parser_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let p = Path::new("versions/x.sql");
        if let Err(e) = Revision::parse_bytes(p, &bytes) {
            prop_assert!(e.to_string().contains("x.sql"), "{}", e);
        }
    }

    #[test]
    fn revision_parser_takes_any_revision_like_text(text in revision_like()) {
        let p = Path::new("versions/x.sql");
        match Revision::parse(p, &text) {
            Ok(r) => {
                let again = Revision::parse(p, &text.replace('\n', "\r\n")).expect("CRLF parses too");
                prop_assert_eq!(r.id, again.id);
                prop_assert_eq!(r.upgrade.sql.replace("\r\n", "\n"), again.upgrade.sql.replace("\r\n", "\n"));
            }
            Err(e) => prop_assert!(e.to_string().contains("x.sql"), "{}", e),
        }
    }

    #[test]
    fn config_parser_takes_any_text(text in "(([a-z_]{1,24}) = (\"[ -~]{0,20}\"|\"\\$\\{X\\}[ -~]{0,5}\"|[0-9]{1,3}|true|\\[\"[a-z:/]{0,10}\"\\])\n|database_url = \"\\$\\{X\\}[/?@:a-z]{0,6}\"\n|[ -~]{0,30}\n){0,6}") {
        let env = |k: &str| (k == "X").then(|| "postgres://u:s3cret@h/d".to_owned());
        let r = crate::config::resolve(
            Some(Path::new("/p/dapp-migrate.toml")),
            Some(&text),
            &Default::default(),
            &env,
            Path::new("/p"),
        );
        // The password comes from the environment; it may only show if the text itself has it.
        if let Err(e) = r {
            let m = e.to_string();
            prop_assert!(text.contains("s3cret") || !m.contains("s3cret"), "{}", m);
        }
    }

    #[test]
    fn target_grammar_takes_any_text(text in "[a-z0-9@+:_-]{0,16}|\\PC{0,16}") {
        if let Ok(t) = text.parse::<Target>() {
            let again: Target = t.to_string().parse().expect("display parses");
            prop_assert_eq!(t, again);
        }
        let _ = text.parse::<TargetOrRange>();
    }
}
