//! The target grammar: what a user may type after `upgrade`, `downgrade`, `stamp`, `show` and
//! `history -r`.
//!
//! Pure: parsing only; resolution against a graph lives in `graph.rs` and `plan.rs`.
//!
//! ```text
//! target   = [branch "@"] symbol | [branch "@"] [symbol] ("+" | "-") digits
//! symbol   = "head" | "heads" | "base" | "current" | id-or-prefix-or-label
//! range    = [target] ":" [target]
//! ```
//! Examples: `head`, `heads`, `base`, `ae10`, `+2`, `-1`, `ae10+2`, `left@head`, `left@+1`,
//! `left@base`, `base:head`, `ae10:`.

use std::fmt;
use std::str::FromStr;

/// The fixed part of a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Symbol {
    Head,
    Heads,
    Base,
    /// What the database holds now (only `show` and `history -r` accept it).
    Current,
    /// A full or partial revision id, or a branch label.
    Id(String),
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Symbol::Head => f.write_str("head"),
            Symbol::Heads => f.write_str("heads"),
            Symbol::Base => f.write_str("base"),
            Symbol::Current => f.write_str("current"),
            Symbol::Id(s) => f.write_str(s),
        }
    }
}

/// A parsed target: `[branch@][symbol][+N|-N]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub branch: Option<String>,
    /// `None` only for a purely relative target such as `-1` or `left@+2`.
    pub symbol: Option<Symbol>,
    /// `+N` or `-N`.
    pub relative: Option<i64>,
}

/// A malformed target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error(
        "target is empty; give a revision id, `head`, `heads`, `base`, `+N`, `-N` or `LABEL@head`"
    )]
    Empty,
    #[error("`{text}` is not a valid target: {reason}")]
    Syntax { text: String, reason: String },
    #[error("`{text}` is a range; ranges (A:B) are only accepted with --sql and by `history -r`")]
    RangeNotAllowed { text: String },
    #[error("History range requires [start]:[end], [start]:, or :[end]; got `{text}`")]
    RangeRequired { text: String },
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Symbol {
    fn parse(s: &str, text: &str) -> Result<Symbol, TargetError> {
        Ok(match s {
            "head" => Symbol::Head,
            "heads" => Symbol::Heads,
            "base" => Symbol::Base,
            "current" => Symbol::Current,
            _ if is_word(s) => Symbol::Id(s.to_owned()),
            _ => {
                return Err(TargetError::Syntax {
                    text: text.to_owned(),
                    reason: format!("`{s}` has characters other than letters, digits and `_`"),
                })
            }
        })
    }
}

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let t = text.trim();
        if t.is_empty() {
            return Err(TargetError::Empty);
        }
        if t.contains(':') {
            return Err(TargetError::RangeNotAllowed { text: t.to_owned() });
        }
        let (branch, rest) = match t.split_once('@') {
            Some((b, r)) => {
                if !is_word(b) {
                    return Err(TargetError::Syntax {
                        text: t.to_owned(),
                        reason: format!("branch label `{b}` must be letters, digits and `_`"),
                    });
                }
                (Some(b.to_owned()), r)
            }
            None => (None, t),
        };
        // Relative: `[symbol](+|-)digits`; the sign is the first character that is not a word character.
        if let Some(pos) = rest.find(['+', '-']) {
            let (sym, num) = rest.split_at(pos);
            let digits = &num[1..];
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return Err(TargetError::Syntax {
                    text: t.to_owned(),
                    reason: "a relative step is `+N` or `-N` with N a number".into(),
                });
            }
            let n: i64 = digits.parse().map_err(|_| TargetError::Syntax {
                text: t.to_owned(),
                reason: "the step count is too large".into(),
            })?;
            let n = if num.starts_with('-') { -n } else { n };
            let symbol = if sym.is_empty() {
                None
            } else {
                Some(Symbol::parse(sym, t)?)
            };
            return Ok(Target {
                branch,
                symbol,
                relative: Some(n),
            });
        }
        if rest.is_empty() {
            return Err(TargetError::Syntax {
                text: t.to_owned(),
                reason: "nothing after `@`; try `LABEL@head`".into(),
            });
        }
        Ok(Target {
            branch,
            symbol: Some(Symbol::parse(rest, t)?),
            relative: None,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(b) = &self.branch {
            write!(f, "{b}@")?;
        }
        if let Some(s) = &self.symbol {
            write!(f, "{s}")?;
        }
        if let Some(n) = self.relative {
            if n >= 0 {
                write!(f, "+{n}")?;
            } else {
                write!(f, "{n}")?;
            }
        }
        Ok(())
    }
}

impl Target {
    /// `head`.
    pub fn head() -> Self {
        Target {
            branch: None,
            symbol: Some(Symbol::Head),
            relative: None,
        }
    }
    /// `base`.
    pub fn base() -> Self {
        Target {
            branch: None,
            symbol: Some(Symbol::Base),
            relative: None,
        }
    }
    /// `heads`.
    pub fn heads() -> Self {
        Target {
            branch: None,
            symbol: Some(Symbol::Heads),
            relative: None,
        }
    }
    /// A revision named by its full id.
    pub fn revision(id: &str) -> Self {
        Target {
            branch: None,
            symbol: Some(Symbol::Id(id.to_owned())),
            relative: None,
        }
    }
    /// True for `base` with no branch and no step.
    pub fn is_base(&self) -> bool {
        self.symbol == Some(Symbol::Base) && self.relative.is_none() && self.branch.is_none()
    }
}

/// `A:B`, either side optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub lower: Option<Target>,
    pub upper: Option<Target>,
}

impl Range {
    /// Parses `A:B`, `A:`, `:B` (a bare target is refused: use [`Range::parse_or_target`]).
    pub fn parse(text: &str) -> Result<Range, TargetError> {
        let Some((a, b)) = text.split_once(':') else {
            return Err(TargetError::RangeRequired {
                text: text.to_owned(),
            });
        };
        let side = |s: &str| -> Result<Option<Target>, TargetError> {
            if s.trim().is_empty() {
                Ok(None)
            } else {
                s.parse().map(Some)
            }
        };
        Ok(Range {
            lower: side(a)?,
            upper: side(b)?,
        })
    }
}

/// A target that may be a range (for `--sql`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetOrRange {
    Target(Target),
    Range(Range),
}

impl FromStr for TargetOrRange {
    type Err = TargetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.contains(':') {
            Range::parse(s).map(TargetOrRange::Range)
        } else {
            s.parse().map(TargetOrRange::Target)
        }
    }
}

impl fmt::Display for TargetOrRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetOrRange::Target(t) => write!(f, "{t}"),
            TargetOrRange::Range(r) => {
                if let Some(l) = &r.lower {
                    write!(f, "{l}")?;
                }
                f.write_str(":")?;
                if let Some(u) = &r.upper {
                    write!(f, "{u}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Target {
        s.parse().unwrap()
    }
    fn id(s: &str) -> Option<Symbol> {
        Some(Symbol::Id(s.into()))
    }

    #[test]
    fn symbols() {
        assert_eq!(t("head"), Target::head());
        assert_eq!(t("heads"), Target::heads());
        assert_eq!(t("base"), Target::base());
        assert_eq!(
            t("ae10"),
            Target {
                branch: None,
                symbol: id("ae10"),
                relative: None
            }
        );
    }

    #[test]
    fn relative_forms() {
        assert_eq!(
            t("+2"),
            Target {
                branch: None,
                symbol: None,
                relative: Some(2)
            }
        );
        assert_eq!(
            t("-1"),
            Target {
                branch: None,
                symbol: None,
                relative: Some(-1)
            }
        );
        assert_eq!(
            t("ae10+3"),
            Target {
                branch: None,
                symbol: id("ae10"),
                relative: Some(3)
            }
        );
        assert_eq!(
            t("head-1"),
            Target {
                branch: None,
                symbol: Some(Symbol::Head),
                relative: Some(-1)
            }
        );
        assert_eq!(
            t("left@+1"),
            Target {
                branch: Some("left".into()),
                symbol: None,
                relative: Some(1)
            }
        );
        assert_eq!(
            t("left@ae10-2"),
            Target {
                branch: Some("left".into()),
                symbol: id("ae10"),
                relative: Some(-2)
            }
        );
    }

    #[test]
    fn branch_forms() {
        assert_eq!(
            t("left@head"),
            Target {
                branch: Some("left".into()),
                symbol: Some(Symbol::Head),
                relative: None
            }
        );
        assert_eq!(
            t("left@base"),
            Target {
                branch: Some("left".into()),
                symbol: Some(Symbol::Base),
                relative: None
            }
        );
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "head",
            "heads",
            "base",
            "+2",
            "-1",
            "ae10+3",
            "left@head",
            "left@-1",
            "x@ab12",
        ] {
            assert_eq!(t(s).to_string(), s);
        }
    }

    #[test]
    fn malformed_targets_are_refused() {
        assert_eq!("".parse::<Target>(), Err(TargetError::Empty));
        for bad in [
            "a-b", "+", "-x", "@head", "left@", "ab cd", "a;drop", "1+2+3", "x@y@z",
        ] {
            assert!(bad.parse::<Target>().is_err(), "{bad} should fail");
        }
        assert!(matches!(
            "a:b".parse::<Target>(),
            Err(TargetError::RangeNotAllowed { .. })
        ));
    }

    #[test]
    fn ranges() {
        let r = Range::parse("1a00:3c00").unwrap();
        assert_eq!(r.lower, Some(t("1a00")));
        assert_eq!(r.upper, Some(t("3c00")));
        assert_eq!(Range::parse(":2b00").unwrap().lower, None);
        assert_eq!(Range::parse("3c00:").unwrap().upper, None);
        assert!(matches!(
            Range::parse("3c00"),
            Err(TargetError::RangeRequired { .. })
        ));
        assert_eq!(
            "a1:b1".parse::<TargetOrRange>().unwrap().to_string(),
            "a1:b1"
        );
    }
}
