//! Unit enums on the wire (phases, roles, kinds, codes), read from their
//! names by one shared routine.
//!
//! serde's derived reader of a unit enum is ~2 KB of WASM per enum (its
//! own visitor, variant seed and name matcher, stamped out per reader);
//! nine of them reached the console's first page. With
//! `#[serde(try_from = "String")]` and [`read_by_name!`] each enum is read as
//! a string and looked up in its `ALL` by its `as_str`. The names written
//! (serde's `rename_all`) and the error for an unknown one are unchanged;
//! `tests` holds the two together.

use std::fmt;

/// A unit enum with a name for every value.
pub trait Named: Copy + Sized + 'static {
    /// Every value.
    fn all() -> &'static [Self];
    /// Its name on the wire.
    fn name(self) -> &'static str;
}

/// The value named `name`, if any.
pub fn parse<T: Named>(name: &str) -> Option<T> {
    T::all().iter().copied().find(|v| v.name() == name)
}

/// The value named `given`, or serde's error for it.
pub fn from_name<T: Named>(given: String) -> Result<T, UnknownName> {
    parse(&given).ok_or_else(|| UnknownName { given, expected: T::all().iter().map(|v| v.name()).collect() })
}

/// A name no value has; reads as serde's own "unknown variant" error.
#[derive(Debug)]
pub struct UnknownName {
    given: String,
    expected: Vec<&'static str>,
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown variant `{}`, expected ", self.given)?;
        match self.expected.as_slice() {
            [] => f.write_str("nothing"),
            [one] => write!(f, "`{one}`"),
            [a, b] => write!(f, "`{a}` or `{b}`"),
            many => {
                f.write_str("one of ")?;
                for (i, name) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{name}`")?;
                }
                Ok(())
            }
        }
    }
}

/// [`Named`] and `TryFrom<String>` for enums with `ALL` and `as_str`.
macro_rules! read_by_name {
    ($($ty:ty),+ $(,)?) => {
        $(
            impl $crate::named::Named for $ty {
                fn all() -> &'static [Self] {
                    &<$ty>::ALL
                }
                fn name(self) -> &'static str {
                    self.as_str()
                }
            }

            impl TryFrom<String> for $ty {
                type Error = $crate::named::UnknownName;

                fn try_from(name: String) -> Result<Self, Self::Error> {
                    $crate::named::from_name(name)
                }
            }
        )+
    };
}
pub(crate) use read_by_name;

#[cfg(test)]
mod tests {
    use serde::{de::DeserializeOwned, Serialize};

    use super::*;
    use crate::accounts::UserRole;
    use crate::model::{CopyMethod, ErrorCode, EventKind, ForkPolicy, Phase, ProgressUnit, Role};

    /// Every value is written as its `as_str` and read back, and an unknown
    /// name fails as serde's derive would have failed.
    fn round_trips<T: Named + Serialize + DeserializeOwned + PartialEq + fmt::Debug>(expected_error: &str) {
        for value in T::all() {
            let json = serde_json::to_string(value).unwrap();
            assert_eq!(json, format!("\"{}\"", value.name()));
            assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), value);
        }
        let err = serde_json::from_str::<T>("\"nope\"").unwrap_err().to_string();
        assert!(err.starts_with(expected_error), "{err}");
        assert!(serde_json::from_str::<T>("3").is_err());
    }

    #[test]
    fn every_enum_reads_what_it_writes() {
        round_trips::<Phase>("unknown variant `nope`, expected one of `provisioning`, `catching_up`, `masking`");
        round_trips::<Role>("unknown variant `nope`, expected `primary` or `follower`");
        round_trips::<ProgressUnit>("unknown variant `nope`, expected `bytes` or `rows`");
        round_trips::<CopyMethod>("unknown variant `nope`, expected `clone` or `basebackup`");
        round_trips::<ForkPolicy>("unknown variant `nope`, expected one of `open`, `approval`, `masked`");
        round_trips::<EventKind>("unknown variant `nope`, expected one of `created`");
        round_trips::<ErrorCode>("unknown variant `nope`, expected one of `bad_request`");
        round_trips::<UserRole>("unknown variant `nope`, expected one of `admin`, `member`, `viewer`");
        assert_eq!(Phase::all().len(), 8);
        assert_eq!(ErrorCode::all().len(), 12);
    }
}
