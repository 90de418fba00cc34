//! Where `bbsd`'s settings come from: each flag of its clap definition may
//! also be given as an environment variable (`BBSD_` and the flag's name,
//! e.g. `BBSD_MAX_LINE`) or as a key of a TOML file (`--config PATH`,
//! `max-line = 100` or `max_line = 100`). A flag beats the environment,
//! which beats the file, which beats the built-in default.
//!
//! The clap definition stays the one source of truth: the environment
//! names are derived from it, file keys are checked against its argument
//! ids, and file values enter as clap defaults, so they are parsed and
//! validated exactly like flags.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, Command};

/// The flag naming the configuration file.
const CONFIG: &str = "config";

/// Flags that are actions, not settings: never from the environment or a file.
const NOT_SETTINGS: [&str; 2] = ["config", "print_config"];

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}:{line}: unknown setting `{key}` (every setting is a bbsd flag; see bbsd --help)")]
    UnknownKey { path: PathBuf, key: String, line: usize },
    #[error("{path}:{line}: `{key}` must be a number, a string, true/false or a list of them")]
    NotAValue { path: PathBuf, key: String, line: usize },
    /// A malformed flag, variable or value; clap formats it (and `--help`).
    #[error(transparent)]
    Arguments(#[from] clap::Error),
}

/// Where one setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Environment,
    File,
    Default,
}

impl Source {
    fn describe(self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::Environment => "environment",
            Source::File => "file",
            Source::Default => "default",
        }
    }
}

/// The parsed settings, and what is needed to say where each came from.
#[derive(Debug)]
pub struct Settings {
    pub matches: ArgMatches,
    /// The configuration file read, if any.
    pub file: Option<PathBuf>,
    command: Command,
    from_file: BTreeMap<String, String>,
}

/// The environment variable for the argument `id`.
pub fn env_name(id: &str) -> String {
    format!("BBSD_{}", id.to_uppercase().replace('-', "_"))
}

/// Parses `argv` against `command` with the environment and the
/// configuration file (if `--config` or `BBSD_CONFIG` names one) layered in.
pub fn load(command: Command, argv: &[OsString]) -> Result<Settings, SettingsError> {
    let command = command.mut_args(|arg| {
        let id = arg.get_id().as_str().to_owned();
        if NOT_SETTINGS.contains(&id.as_str()) && id != CONFIG {
            arg
        } else {
            arg.env(env_name(&id))
        }
    });
    let file = config_path(argv);
    let (command, from_file) = match &file {
        Some(path) => apply_file(command, path)?,
        None => (command, BTreeMap::new()),
    };
    let matches = command.clone().try_get_matches_from(argv)?;
    Ok(Settings { matches, file, command, from_file })
}

/// `--config PATH` / `--config=PATH` on the command line, else `BBSD_CONFIG`.
fn config_path(argv: &[OsString]) -> Option<PathBuf> {
    let flag = format!("--{CONFIG}");
    let mut args = argv.iter().skip(1);
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if text == flag {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix(&format!("{flag}=")) {
            return Some(PathBuf::from(path));
        }
        if text == "--" {
            break;
        }
    }
    std::env::var_os(env_name(CONFIG)).map(PathBuf::from)
}

/// Reads the TOML file and makes each of its keys the default of its
/// argument; returns the keys set, with the values as given.
fn apply_file(mut command: Command, path: &Path) -> Result<(Command, BTreeMap<String, String>), SettingsError> {
    let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read { path: path.to_owned(), source })?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| SettingsError::Syntax { path: path.to_owned(), message: e.message().to_owned() })?;
    let ids: Vec<String> = command.get_arguments().map(|a| a.get_id().as_str().to_owned()).collect();
    let mut from_file = BTreeMap::new();
    for (key, value) in &table {
        let id = key.replace('-', "_");
        let line = line_of(&text, key);
        if !ids.contains(&id) || NOT_SETTINGS.contains(&id.as_str()) {
            return Err(SettingsError::UnknownKey { path: path.to_owned(), key: key.clone(), line });
        }
        let not_a_value = || SettingsError::NotAValue { path: path.to_owned(), key: key.clone(), line };
        let values: Vec<String> = match value {
            toml::Value::Array(items) => items.iter().map(scalar).collect::<Option<_>>().ok_or_else(not_a_value)?,
            other => vec![scalar(other).ok_or_else(not_a_value)?],
        };
        from_file.insert(id.clone(), values.join(", "));
        command = command.mut_arg(&id, |arg| arg.default_values(values).required(false));
    }
    Ok((command, from_file))
}

/// A TOML scalar as the text a flag would carry.
fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(n) => Some(n.to_string()),
        toml::Value::Float(x) => Some(x.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The 1-based line where `key` is set in the file (0 if not found).
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            let rest = line.strip_prefix(key).or_else(|| line.strip_prefix(&format!("\"{key}\"")));
            rest.is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(0, |i| i + 1)
}

impl Settings {
    /// Where the value of argument `id` came from.
    pub fn source(&self, id: &str) -> Source {
        match self.matches.value_source(id) {
            Some(ValueSource::CommandLine) => Source::Flag,
            Some(ValueSource::EnvVariable) => Source::Environment,
            Some(ValueSource::DefaultValue) if self.from_file.contains_key(id) => Source::File,
            _ => Source::Default,
        }
    }

    /// Every setting, one a line: its name, its effective value and where
    /// the value came from (`bbsd --print-config`).
    pub fn describe(&self) -> String {
        let mut out = String::new();
        if let Some(file) = &self.file {
            let _ = writeln!(out, "# configuration file: {}", file.display());
        }
        for arg in self.command.get_arguments() {
            let id = arg.get_id().as_str();
            if NOT_SETTINGS.contains(&id) || id == "help" || id == "version" {
                continue;
            }
            let name = arg.get_long().unwrap_or(id);
            let value = match self.matches.get_raw(id) {
                Some(values) => values.map(|v| v.to_string_lossy().into_owned()).collect::<Vec<_>>().join(", "),
                None => "(unset)".to_owned(),
            };
            let source = self.source(id).describe();
            let _ = writeln!(out, "{name} = {value}  # {source}");
        }
        out
    }

    /// The settings that differ between `self` and `newer`: each one's
    /// argument id and `name: old -> new` (what a reload changed).
    pub fn changes(&self, newer: &Settings) -> Vec<(String, String)> {
        let raw = |m: &ArgMatches, id: &str| -> String {
            m.get_raw(id).map_or_else(
                || "(unset)".to_owned(),
                |v| v.map(|s| s.to_string_lossy().into_owned()).collect::<Vec<_>>().join(", "),
            )
        };
        self.command
            .get_arguments()
            .map(|a| a.get_id().as_str())
            .filter(|id| !NOT_SETTINGS.contains(id))
            .filter_map(|id| {
                let (old, new) = (raw(&self.matches, id), raw(&newer.matches, id));
                (old != new).then(|| (id.to_owned(), format!("{id}: {old} -> {new}")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_found_on_its_line() {
        let text = "# limits\nmax-line = 10\n\n  \"max_password\" = 5\n";
        assert_eq!(line_of(text, "max-line"), 2);
        assert_eq!(line_of(text, "max_password"), 4);
        assert_eq!(env_name("max_line"), "BBSD_MAX_LINE");
    }
}
