//! Typed pass options, parsed from the pipeline syntax `pass{key=value key=value}`.

use std::fmt;
use thiserror::Error;

/// The type of an option, with the values it accepts.
#[derive(Clone, Copy, Debug)]
pub enum OptionKind {
    /// An integer in `min..=max`.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// A finite real number.
    Float,
    /// `true`, `false`, `1`, `0`.
    Bool,
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// Any text.
    Text,
}

impl fmt::Display for OptionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int { min, max } if *max == i64::MAX => write!(f, "integer >= {min}"),
            Self::Int { min, max } => write!(f, "integer {min}..={max}"),
            Self::Float => f.write_str("number"),
            Self::Bool => f.write_str("bool"),
            Self::Enum(words) => f.write_str(&words.join("|")),
            Self::Text => f.write_str("string"),
        }
    }
}

/// The declaration of one option.
#[derive(Clone, Copy, Debug)]
pub struct OptionSpec {
    /// Name as written in a pipeline (`rows`).
    pub name: &'static str,
    /// Type and accepted values.
    pub kind: OptionKind,
    /// Default, written as in a pipeline.
    pub default: &'static str,
    /// One line of documentation.
    pub doc: &'static str,
}

/// A parsed option value.
#[derive(Clone, Debug, PartialEq)]
pub enum OptionValue {
    /// An integer.
    Int(i64),
    /// A real number.
    Float(f64),
    /// A flag.
    Bool(bool),
    /// A word or text.
    Text(String),
}

/// An option list that does not fit its pass's declaration.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum OptionError {
    /// The pass has no such option.
    #[error("pass '{pass}' has no option '{name}' (its options: {known})")]
    Unknown {
        /// Pass name.
        pass: String,
        /// The option written.
        name: String,
        /// The options it has.
        known: String,
    },
    /// The value does not fit the option's type.
    #[error("option '{name}' of pass '{pass}' expects {expected}, got '{value}'")]
    BadValue {
        /// Pass name.
        pass: String,
        /// Option name.
        name: String,
        /// What it accepts.
        expected: String,
        /// What was written.
        value: String,
    },
    /// Text that is not `key=value`.
    #[error("pass '{pass}': cannot read option '{text}': write key=value")]
    Syntax {
        /// Pass name.
        pass: String,
        /// The offending text.
        text: String,
    },
}

/// The options of one pass instance, every declared option present (given or default).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PassOptions {
    values: Vec<(&'static str, OptionValue)>,
}

impl PassOptions {
    /// Parses `text` (the part between braces) against `specs`.
    pub fn parse(pass: &str, specs: &[OptionSpec], text: &str) -> Result<Self, OptionError> {
        let mut values = Vec::with_capacity(specs.len());
        for spec in specs {
            values.push((spec.name, parse_value(pass, spec, spec.default)?));
        }
        for item in split_items(text) {
            let (name, value) = item.split_once('=').ok_or_else(|| OptionError::Syntax {
                pass: pass.to_owned(),
                text: item.to_owned(),
            })?;
            let name = name.trim();
            let index = specs
                .iter()
                .position(|spec| spec.name == name)
                .ok_or_else(|| OptionError::Unknown {
                    pass: pass.to_owned(),
                    name: name.to_owned(),
                    known: if specs.is_empty() {
                        "none".to_owned()
                    } else {
                        specs
                            .iter()
                            .map(|spec| spec.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                })?;
            values[index].1 = parse_value(pass, &specs[index], unquote(value.trim()))?;
        }
        Ok(Self { values })
    }

    fn get(&self, name: &str) -> &OptionValue {
        &self
            .values
            .iter()
            .find(|(key, _)| *key == name)
            .unwrap_or_else(|| panic!("option '{name}' is not declared by this pass"))
            .1
    }

    /// An integer option. Panics if the pass did not declare it as one: a bug in the
    /// pass, not in its input.
    pub fn int(&self, name: &str) -> i64 {
        match self.get(name) {
            OptionValue::Int(value) => *value,
            other => panic!("option '{name}' is {other:?}, not an integer"),
        }
    }

    /// A real option.
    pub fn float(&self, name: &str) -> f64 {
        match self.get(name) {
            OptionValue::Float(value) => *value,
            other => panic!("option '{name}' is {other:?}, not a number"),
        }
    }

    /// A flag option.
    pub fn bool(&self, name: &str) -> bool {
        match self.get(name) {
            OptionValue::Bool(value) => *value,
            other => panic!("option '{name}' is {other:?}, not a bool"),
        }
    }

    /// A word option of vocabulary `T`, declared `OptionKind::Enum(T::WORDS)`.
    pub fn choice<T: cim_choices::Choice>(&self, name: &str) -> T {
        self.text(name)
            .parse()
            .unwrap_or_else(|error| panic!("option '{name}': {error} (declared with other words)"))
    }

    /// A word or text option.
    pub fn text(&self, name: &str) -> &str {
        match self.get(name) {
            OptionValue::Text(value) => value,
            other => panic!("option '{name}' is {other:?}, not text"),
        }
    }

    /// The options in pipeline syntax, every one written out (`rows=256 cols=256`).
    pub fn to_pipeline_text(&self) -> String {
        self.values
            .iter()
            .map(|(name, value)| match value {
                OptionValue::Int(v) => format!("{name}={v}"),
                OptionValue::Float(v) => format!("{name}={v}"),
                OptionValue::Bool(v) => format!("{name}={v}"),
                OptionValue::Text(v) => format!("{name}={v}"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn parse_value(pass: &str, spec: &OptionSpec, text: &str) -> Result<OptionValue, OptionError> {
    let bad = || OptionError::BadValue {
        pass: pass.to_owned(),
        name: spec.name.to_owned(),
        expected: spec.kind.to_string(),
        value: text.to_owned(),
    };
    Ok(match spec.kind {
        OptionKind::Int { min, max } => {
            let value: i64 = text.parse().map_err(|_| bad())?;
            if !(min..=max).contains(&value) {
                return Err(bad());
            }
            OptionValue::Int(value)
        }
        OptionKind::Float => {
            let value: f64 = text.parse().map_err(|_| bad())?;
            if !value.is_finite() {
                return Err(bad());
            }
            OptionValue::Float(value)
        }
        OptionKind::Bool => match text {
            "true" | "1" => OptionValue::Bool(true),
            "false" | "0" => OptionValue::Bool(false),
            _ => return Err(bad()),
        },
        OptionKind::Enum(words) => {
            if !words.contains(&text) {
                return Err(bad());
            }
            OptionValue::Text(text.to_owned())
        }
        OptionKind::Text => OptionValue::Text(text.to_owned()),
    })
}

fn unquote(text: &str) -> &str {
    text.strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .or_else(|| {
            text.strip_prefix('{')
                .and_then(|inner| inner.strip_suffix('}'))
        })
        .unwrap_or(text)
}

/// Splits at white space outside quotes and braces.
fn split_items(text: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, None);
    for (index, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '{' if !quoted => depth += 1,
            '}' if !quoted => depth = depth.saturating_sub(1),
            c if c.is_whitespace() && !quoted && depth == 0 => {
                if let Some(begin) = start.take() {
                    items.push(&text[begin..index]);
                }
                continue;
            }
            _ => {}
        }
        start.get_or_insert(index);
    }
    if let Some(begin) = start {
        items.push(&text[begin..]);
    }
    items
}
