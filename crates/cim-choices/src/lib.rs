#![warn(missing_docs)]
//! Option vocabularies: a choice a user makes (the mapper's objective, an encoding,
//! a placement strategy, where digital work runs) is one enum, declared once with
//! [`choice!`], and that declaration is the only place its words, its default and
//! their help live. The same enum then reads a pass option
//! (`cim-map{objective=energy}`: [`Choice::WORDS`] and [`Choice::DEFAULT_WORD`] fill
//! its option declaration), a driver setting (serde, as the word), and a
//! command-line flag (`clap::ValueEnum`, with the help of each word).
//!
//! ```
//! cim_choices::choice! {
//!     /// How arrays get their slots.
//!     pub enum Strategy {
//!         /// Layer by layer in program order.
//!         Dataflow = "dataflow",
//!         /// In module order.
//!         FirstFit = "first-fit",
//!     }
//!     default Dataflow
//! }
//! use cim_choices::Choice;
//! assert_eq!(Strategy::WORDS, &["dataflow", "first-fit"]);
//! assert_eq!("first-fit".parse::<Strategy>(), Ok(Strategy::FirstFit));
//! assert_eq!(Strategy::default().word(), Strategy::DEFAULT_WORD);
//! ```

#[doc(hidden)]
pub use clap;
#[doc(hidden)]
pub use serde;

/// What every vocabulary declared with [`choice!`] offers.
pub trait Choice: Copy + Default + Eq + std::str::FromStr<Err = String> + 'static {
    /// Its words, in declaration order.
    const WORDS: &'static [&'static str];
    /// The word of its default.
    const DEFAULT_WORD: &'static str;
    /// The word of a value.
    fn word(self) -> &'static str;
}

/// Declares a vocabulary: an enum whose variants each have a word (and doc, which
/// becomes the word's help), and its default. It implements [`Choice`],
/// `Default`, `Display` and `FromStr` (by the words; an unknown word's error lists
/// them), `clap::ValueEnum`, and serde as the word.
#[macro_export]
macro_rules! choice {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[doc = $doc:literal])* $variant:ident = $word:literal ),+ $(,)?
        }
        default $default:ident
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[doc = $doc])* $variant ),+
        }

        impl $name {
            /// The word of a value (also in `const` contexts).
            pub const fn as_word(self) -> &'static str {
                match self {
                    $( Self::$variant => $word ),+
                }
            }
        }

        impl $crate::Choice for $name {
            const WORDS: &'static [&'static str] = &[$($word),+];
            const DEFAULT_WORD: &'static str = $name::$default.as_word();
            fn word(self) -> &'static str {
                self.as_word()
            }
        }

        impl ::std::default::Default for $name {
            fn default() -> Self {
                Self::$default
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_word())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::string::String;
            fn from_str(text: &str) -> ::std::result::Result<Self, Self::Err> {
                match text {
                    $( $word => Ok(Self::$variant), )+
                    other => Err(format!(
                        "'{other}' is not one of {}",
                        <Self as $crate::Choice>::WORDS.join(", ")
                    )),
                }
            }
        }

        impl $crate::clap::ValueEnum for $name {
            fn value_variants<'a>() -> &'a [Self] {
                &[$(Self::$variant),+]
            }
            fn to_possible_value(&self) -> ::std::option::Option<$crate::clap::builder::PossibleValue> {
                let help: &[&str] = match self {
                    $( Self::$variant => &[$($doc),*] ),+
                };
                let help = help.iter().map(|line| line.trim()).collect::<::std::vec::Vec<_>>().join(" ");
                Some($crate::clap::builder::PossibleValue::new(self.as_word()).help(help))
            }
        }

        impl $crate::serde::Serialize for $name {
            fn serialize<S: $crate::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_word())
            }
        }

        impl<'de> $crate::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                let word = <::std::string::String as $crate::serde::Deserialize>::deserialize(deserializer)?;
                word.parse().map_err(<D::Error as $crate::serde::de::Error>::custom)
            }
        }
    };
}
