//! When to colour: `--color auto|always|never` and the `NO_COLOR` convention (no-color.org).

use crate::cli::ColorWhen as When;

/// Whether to colour a stream: `tty` says whether that stream is a terminal. `NO_COLOR` counts
/// only when set and not empty (`env` already hides empty values), as no-color.org asks.
pub fn enabled(when: When, env: &dyn Fn(&str) -> Option<String>, tty: bool) -> bool {
    match when {
        When::Always => true,
        When::Never => false,
        When::Auto => tty && env("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// The `--color` of a command line clap could not parse (for colouring its error): the last
/// `--color WHEN` or `--color=WHEN`, else auto.
pub fn from_args(args: &[std::ffi::OsString]) -> When {
    let mut when = When::Auto;
    let mut it = args.iter().filter_map(|a| a.to_str());
    while let Some(a) = it.next() {
        let v = match a.strip_prefix("--color") {
            Some("") => it.next(),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        };
        match v {
            Some("always") => when = When::Always,
            Some("never") => when = When::Never,
            Some("auto") => when = When::Auto,
            _ => {}
        }
    }
    when
}

/// `text` in the ANSI style `code` (e.g. "1;31") when `on`.
pub fn paint(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(no_color: Option<&'static str>) -> impl Fn(&str) -> Option<String> {
        move |k: &str| {
            (k == "NO_COLOR")
                .then_some(no_color)
                .flatten()
                .map(str::to_owned)
        }
    }

    #[test]
    fn auto_colours_a_terminal_only() {
        assert!(enabled(When::Auto, &env(None), true));
        assert!(!enabled(When::Auto, &env(None), false));
    }

    #[test]
    fn no_color_turns_auto_off() {
        assert!(!enabled(When::Auto, &env(Some("1")), true));
        assert!(enabled(When::Auto, &env(Some("")), true));
    }

    #[test]
    fn explicit_flag_beats_no_color() {
        assert!(enabled(When::Always, &env(Some("1")), false));
        assert!(!enabled(When::Never, &env(None), true));
    }

    #[test]
    fn color_is_found_in_a_command_line_clap_refused() {
        let a = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(
            from_args(&a(&["dapp", "--color", "always", "x"])),
            When::Always
        );
        assert_eq!(from_args(&a(&["dapp", "db", "--color=never"])), When::Never);
        assert_eq!(from_args(&a(&["dapp", "db", "--colors"])), When::Auto);
    }

    #[test]
    fn paint_is_plain_when_off() {
        assert_eq!(paint(false, "31", "x"), "x");
        assert_eq!(paint(true, "31", "x"), "\x1b[31mx\x1b[0m");
    }
}
