//! Database names: the rule every name must follow, and the colour names
//! pgfleet picks when the user gives none (as Heroku does).

/// Names pgfleet offers, in order; the first free one is taken.
pub const COLOURS: &[&str] = &[
    "amber", "aqua", "azure", "beige", "black", "blue", "bronze", "brown", "cobalt", "copper", "coral", "crimson",
    "cyan", "emerald", "gold", "gray", "green", "indigo", "ivory", "jade", "lavender", "lemon", "lime", "magenta",
    "maroon", "mauve", "navy", "ochre", "olive", "onyx", "orange", "pink", "plum", "purple", "red", "rose", "ruby",
    "saffron", "salmon", "sapphire", "scarlet", "silver", "teal", "topaz", "violet", "white", "yellow",
];

/// Why a name was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("a name cannot be empty")]
    Empty,
    #[error("a name is at most 63 characters long")]
    TooLong,
    #[error("a name starts with a lowercase letter (a-z)")]
    BadStart,
    #[error("a name has only lowercase letters, digits and '-'; '{0}' is not allowed")]
    BadChar(char),
}

/// Checks `[a-z][a-z0-9-]{0,62}`.
pub fn validate(name: &str) -> Result<(), NameError> {
    let mut chars = name.chars();
    let first = chars.next().ok_or(NameError::Empty)?;
    if name.len() > 63 {
        return Err(NameError::TooLong);
    }
    if !first.is_ascii_lowercase() {
        return Err(NameError::BadStart);
    }
    if let Some(c) = chars.find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return Err(NameError::BadChar(c));
    }
    Ok(())
}

/// The first colour name not in `taken`; after the colours, `amber-2`,
/// `aqua-2`, and so on.
pub fn free_name(taken: impl Fn(&str) -> bool) -> String {
    for round in 1.. {
        for colour in COLOURS {
            let candidate = if round == 1 { colour.to_string() } else { format!("{colour}-{round}") };
            if !taken(&candidate) {
                return candidate;
            }
        }
    }
    unreachable!("the rounds above never end without a name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rule() {
        assert_eq!(validate("amber"), Ok(()));
        assert_eq!(validate("a-1"), Ok(()));
        assert_eq!(validate(""), Err(NameError::Empty));
        assert_eq!(validate("1abc"), Err(NameError::BadStart));
        assert_eq!(validate("Amber"), Err(NameError::BadStart));
        assert_eq!(validate("am_ber"), Err(NameError::BadChar('_')));
        assert_eq!(validate(&"a".repeat(63)), Ok(()));
        assert_eq!(validate(&"a".repeat(64)), Err(NameError::TooLong));
        for c in COLOURS {
            assert_eq!(validate(c), Ok(()));
        }
    }

    #[test]
    fn free_name_skips_taken_ones() {
        assert_eq!(free_name(|_| false), "amber");
        assert_eq!(free_name(|n| n == "amber"), "aqua");
        assert_eq!(free_name(|n| COLOURS.contains(&n)), "amber-2");
    }
}
