use crate::Value;

/// SQL three-valued logic: UNKNOWN arises from NULL operands and type mismatches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    pub(crate) fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }

    pub(crate) fn and(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::False, _) | (_, Truth::False) => Truth::False,
            (Truth::True, Truth::True) => Truth::True,
            _ => Truth::Unknown,
        }
    }

    pub(crate) fn or(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::True, _) | (_, Truth::True) => Truth::True,
            (Truth::False, Truth::False) => Truth::False,
            _ => Truth::Unknown,
        }
    }

    /// Only a boolean counts as a truth value; anything else (numbers, strings, NULL) is UNKNOWN
    /// rather than FALSE so that `NOT prop` never matches a non-boolean property.
    pub(crate) fn of(value: Option<&Value>) -> Truth {
        match value {
            Some(Value::Bool(b)) => Truth::from(*b),
            _ => Truth::Unknown,
        }
    }

    pub(crate) fn into_value(self) -> Option<Value> {
        match self {
            Truth::True => Some(Value::Bool(true)),
            Truth::False => Some(Value::Bool(false)),
            Truth::Unknown => None,
        }
    }
}

impl From<bool> for Truth {
    fn from(b: bool) -> Self {
        if b {
            Truth::True
        } else {
            Truth::False
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Truth::{False as F, True as T, Unknown as U};
    use super::*;

    #[test]
    fn and_table() {
        let table = [
            (T, T, T),
            (T, F, F),
            (T, U, U),
            (F, T, F),
            (F, F, F),
            (F, U, F),
            (U, T, U),
            (U, F, F),
            (U, U, U),
        ];
        for (a, b, expected) in table {
            assert_eq!(a.and(b), expected, "{a:?} AND {b:?}");
        }
    }

    #[test]
    fn or_table() {
        let table = [
            (T, T, T),
            (T, F, T),
            (T, U, T),
            (F, T, T),
            (F, F, F),
            (F, U, U),
            (U, T, T),
            (U, F, U),
            (U, U, U),
        ];
        for (a, b, expected) in table {
            assert_eq!(a.or(b), expected, "{a:?} OR {b:?}");
        }
    }

    #[test]
    fn not_table() {
        assert_eq!(T.not(), F);
        assert_eq!(F.not(), T);
        assert_eq!(U.not(), U);
    }

    #[test]
    fn only_booleans_are_truth_values() {
        assert_eq!(Truth::of(Some(&Value::Bool(true))), T);
        assert_eq!(Truth::of(Some(&Value::Bool(false))), F);
        assert_eq!(Truth::of(Some(&Value::Int(1))), U);
        assert_eq!(Truth::of(Some(&Value::Str("true".into()))), U);
        assert_eq!(Truth::of(None), U);
    }
}
