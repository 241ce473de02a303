//! The layers: flag > environment > file > default, each value tagged with where it came from
//! (a flag `--x`, an environment variable, `file:line`, the default), so a message blames the
//! right one. The one reader of configuration environment variables. May import only `config`.

use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};

use super::file::{interpolate, line_of};
use super::keys::{FileConfig, Key, Overrides};
use super::ConfigError;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    /// A config file, and the line of the value.
    File(PathBuf, usize),
    Env(String),
    Flag(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("the default"),
            Source::File(p, line) => write!(f, "{}:{line}", p.display()),
            Source::Env(v) => write!(f, "environment variable {v}"),
            Source::Flag(fl) => write!(f, "flag {fl}"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

/// The file (if any), the environment and the flags, asked key by key.
pub struct Layers<'a> {
    file: Option<(&'a Path, &'a str, FileConfig)>,
    env: &'a dyn Fn(&str) -> Option<String>,
    flags: &'a Overrides,
    /// Where each value read so far came from.
    sources: RefCell<Vec<(&'static str, Source)>>,
}

impl<'a> Layers<'a> {
    /// The layers over a parsed file (with its path and text, for lines), the environment and
    /// the flags.
    pub fn new(
        file: Option<(&'a Path, &'a str, FileConfig)>,
        env: &'a dyn Fn(&str) -> Option<String>,
        flags: &'a Overrides,
    ) -> Layers<'a> {
        Layers {
            file,
            env,
            flags,
            sources: RefCell::new(Vec::new()),
        }
    }

    /// Where each value that was read came from, by key.
    pub fn into_sources(self) -> Vec<(&'static str, Source)> {
        self.sources.into_inner()
    }
    /// The value of `key` from the first layer that has one, as written: flags and
    /// environment variables are strings; `${VAR}` in a file's strings is expanded.
    pub fn raw(&self, key: &Key) -> Result<Option<Sourced<toml::Value>>, ConfigError> {
        if let Some(v) = self.flags.get(key.name) {
            return Ok(Some(Sourced {
                value: toml::Value::String(v),
                source: Source::Flag(key.flag.to_owned()),
            }));
        }
        for var in key.env {
            if let Some(v) = (self.env)(var).filter(|v| !v.is_empty()) {
                return Ok(Some(Sourced {
                    value: toml::Value::String(v),
                    source: Source::Env((*var).to_owned()),
                }));
            }
        }
        self.file_value(key)
    }

    /// The file's value of `key` alone (for a table the other layers cannot express).
    pub fn file_raw(&self, key: &Key) -> Result<Option<Sourced<toml::Value>>, ConfigError> {
        self.file_value(key)
    }

    /// The file's value of `key`, with `${VAR}` expanded.
    fn file_value(&self, key: &Key) -> Result<Option<Sourced<toml::Value>>, ConfigError> {
        let Some((path, text, file)) = &self.file else {
            return Ok(None);
        };
        let Some(spanned) = file.get(key.name) else {
            return Ok(None);
        };
        let line = line_of(text, spanned.span().start);
        let expand = |s: &str| {
            interpolate(s, self.env).map_err(|var| ConfigError::UndefinedVariable {
                key: key.name.to_owned(),
                var,
                path: path.to_path_buf(),
                line,
            })
        };
        let value = match spanned.get_ref() {
            toml::Value::String(s) => toml::Value::String(expand(s)?),
            toml::Value::Array(items) => toml::Value::Array(
                items
                    .iter()
                    .map(|i| match i {
                        toml::Value::String(s) => expand(s).map(toml::Value::String),
                        other => Ok(other.clone()),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => other.clone(),
        };
        Ok(Some(Sourced {
            value,
            source: Source::File(path.to_path_buf(), line),
        }))
    }

    /// Checks every value the file gives, also those a flag or variable overrides: a broken
    /// file is reported whatever else is set. `except` may keep an undefined `${VAR}`
    /// (the database URL's matters only to commands that connect); keys in `tables` may be
    /// tables (their parser checks them).
    pub fn check_file(
        &self,
        keys: &[Key],
        lists: &[&str],
        tables: &[&str],
        except: &str,
    ) -> Result<(), ConfigError> {
        for key in keys {
            let raw = match self.file_value(key) {
                Ok(Some(raw)) => raw,
                Ok(None) => continue,
                Err(ConfigError::UndefinedVariable { .. }) if key.name == except => continue,
                Err(e) => return Err(e),
            };
            let shape = match &raw.value {
                toml::Value::String(_) | toml::Value::Integer(_) | toml::Value::Boolean(_) => None,
                toml::Value::Table(_) if tables.contains(&key.name) => None,
                toml::Value::Array(items) if lists.contains(&key.name) => items
                    .iter()
                    .any(|i| !i.is_str())
                    .then(|| "expected a list of database URLs (strings)".to_owned()),
                other => Some(format!(
                    "expected a string, number or boolean, not a {}",
                    other.type_str()
                )),
            };
            if let Some(reason) = shape {
                return Err(ConfigError::BadValue {
                    key: key.name.to_owned(),
                    origin: raw.source,
                    reason,
                });
            }
        }
        Ok(())
    }

    /// The value of `key` read by `parse` (a string, number or boolean), or `None` when no
    /// layer gives it. A bad value is blamed on the layer it came from.
    pub fn get<T>(
        &self,
        key: &Key,
        parse: impl Fn(toml::Value) -> Result<T, String>,
    ) -> Result<Option<Sourced<T>>, ConfigError> {
        self.read(key, |v| match v {
            toml::Value::String(_) | toml::Value::Integer(_) | toml::Value::Boolean(_) => parse(v),
            other => Err(format!(
                "expected a string, number or boolean, not a {}",
                other.type_str()
            )),
        })
    }

    /// Like [`Layers::get`], for a key that may also be a list.
    pub fn read<T>(
        &self,
        key: &Key,
        parse: impl Fn(toml::Value) -> Result<T, String>,
    ) -> Result<Option<Sourced<T>>, ConfigError> {
        let Some(raw) = self.raw(key)? else {
            return Ok(None);
        };
        self.sources
            .borrow_mut()
            .push((key.name, raw.source.clone()));
        match parse(raw.value) {
            Ok(value) => Ok(Some(Sourced {
                value,
                source: raw.source,
            })),
            Err(reason) => Err(ConfigError::BadValue {
                key: key.name.to_owned(),
                origin: raw.source,
                reason,
            }),
        }
    }
}
