//! The conventions of command-line tools: completions, the man page, `--color` and `NO_COLOR`.

use std::process::Command;

use crate::support::{Project, Run};

#[test]
fn completions_for_each_shell_mention_the_subcommands() {
    let p = Project::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let r = p.run_offline(&["completions", shell]);
        r.ok();
        assert!(r.stdout.len() > 200, "{shell}: {}", r.stdout);
        for word in ["upgrade", "downgrade", "history", "graph", "database-url"] {
            assert!(r.stdout.contains(word), "{shell} completion lacks {word}");
        }
    }
}

#[test]
fn completions_refuse_an_unknown_shell() {
    Project::new().run_offline(&["completions", "tcsh"]).code(2);
}

#[test]
fn bash_completion_loads_in_bash() {
    let out = Command::new("bash")
        .args([
            "--norc",
            "-c",
            "source <(\"$DAPP\" completions bash) && complete -p dapp",
        ])
        .env("DAPP", env!("CARGO_BIN_EXE_dapp"))
        .output()
        .expect("bash runs");
    let r = Run::from(out);
    r.ok();
    assert!(
        r.stdout.starts_with("complete ") && r.stdout.trim_end().ends_with(" dapp"),
        "{}",
        r.stdout
    );
}

#[test]
fn man_page_documents_every_command() {
    let r = Project::new().run_offline(&["man"]);
    r.ok();
    let roff = &r.stdout;
    assert!(roff.contains(".TH dapp 1"), "{roff}");
    for section in [
        "NAME",
        "SYNOPSIS",
        "OPTIONS",
        "\"DAPP DB UPGRADE\"",
        "\"DAPP DB GRAPH\"",
    ] {
        assert!(roff.contains(&format!(".SH {section}")), "no {section}");
    }
    assert!(roff.contains("\\-\\-database\\-url <URL>"), "{roff}");
    // No text line is taken for a roff request by accident.
    for l in roff.lines() {
        if let Some(rest) = l.strip_prefix('.') {
            let req: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            assert!(
                [
                    "TH", "SH", "TP", "PP", "nf", "fi", "ie", "el", "ds", "B", "I", "RS", "RE",
                    "br", "IP", "SS"
                ]
                .contains(&req.as_str()),
                "unexpected request: {l}"
            );
        }
    }
}

#[test]
fn man_page_renders_with_man() {
    if Command::new("man").arg("--version").output().is_err() {
        return; // man is not installed: `man_page_documents_every_command` checks the structure.
    }
    let roff = Project::new().run_offline(&["man"]).stdout;
    let mut child = Command::new("man")
        .args(["-l", "-"])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("man runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(roff.as_bytes())
        .unwrap();
    let r = Run::from(child.wait_with_output().unwrap());
    r.ok();
    for text in [
        "NAME",
        "dapp - Alembic-compatible",
        "DAPP DB UPGRADE",
        "--database-url <URL>",
    ] {
        assert!(
            r.stdout.contains(text),
            "rendered page lacks {text}:\n{}",
            r.stdout
        );
    }
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
}

fn branched() -> Project {
    let p = Project::new();
    p.chain(&["a0", "a1"]);
    p.rev("b1", &["a0"], "SELECT 1;", Some("SELECT 1;"));
    p
}

#[test]
fn color_always_colours_the_graph_and_errors() {
    let p = branched();
    let g = p.run_offline(&["db", "history", "--graph", "--color", "always"]);
    g.ok();
    assert!(g.stdout.contains("\x1b["), "{}", g.stdout);
    // The flag also works before `db`, and beats NO_COLOR.
    let mut c = p.cmd(&["--color", "always", "db", "history", "--graph"]);
    c.env("NO_COLOR", "1");
    assert!(Run::from(c.output().unwrap()).stdout.contains("\x1b["));
    let e = p.run_offline(&["db", "--color", "always", "show", "zzzz"]);
    assert_ne!(e.code, 0);
    assert!(
        e.stderr.starts_with("\x1b[1;31mFAILED:\x1b[0m "),
        "{:?}",
        e.stderr
    );
    // Usage errors found by the argument parser too.
    let u = p.run_offline(&["--color", "always", "db", "frobnicate"]);
    u.code(2);
    assert!(u.stderr.contains("\x1b["), "{:?}", u.stderr);
    let u = p.run_offline(&["db", "frobnicate"]);
    assert!(!u.stderr.contains('\x1b'), "{:?}", u.stderr);
}

#[test]
fn no_color_and_color_never_keep_output_plain() {
    let p = branched();
    let mut c = p.cmd(&["db", "history", "--graph"]);
    c.env("NO_COLOR", "1");
    let r = Run::from(c.output().unwrap());
    r.ok();
    assert!(!r.stdout.contains('\x1b'));
    let r = p.run_offline(&["db", "history", "--graph", "--color", "never"]);
    assert!(!r.stdout.contains('\x1b'));
    let e = p.run_offline(&["db", "show", "zzzz"]);
    assert!(
        e.stderr.starts_with("FAILED: "),
        "no colour into a pipe: {:?}",
        e.stderr
    );
}
