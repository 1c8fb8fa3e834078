//! Property tests: parsing and matching never panic, and comparisons agree with Rust.

use std::collections::HashMap;

use proptest::prelude::*;
use selector::{Selector, Value};

const IDENTIFIERS: [&str; 4] = ["a", "b", "s", "flag"];

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        prop_oneof![Just(0), -3i64..3].prop_map(Value::Int),
        any::<f64>().prop_map(Value::Float),
        "[a-c%_!']{0,4}".prop_map(Value::Str),
    ]
}

fn message() -> impl Strategy<Value = HashMap<String, Value>> {
    prop::collection::hash_map(prop::sample::select(IDENTIFIERS.to_vec()), value(), 0..4).prop_map(
        |m| {
            m.into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<HashMap<_, _>>()
        },
    )
}

/// Selector text built from the grammar, so most of it parses; some is deliberately
/// ill-typed (e.g. `1 AND 2`) so the type check is exercised too.
fn selector_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        prop::sample::select(IDENTIFIERS.to_vec()).prop_map(str::to_owned),
        any::<i64>().prop_map(|i| i.to_string()),
        prop_oneof![Just("0"), Just("1"), Just("-1"), Just("0x7F"), Just("017")]
            .prop_map(str::to_owned),
        prop_oneof![Just("1.5"), Just(".5e1"), Just("2.0F"), Just("1e308")].prop_map(str::to_owned),
        "[a-c%_!]{0,3}".prop_map(|s| format!("'{s}'")),
        prop_oneof![Just("TRUE"), Just("FALSE"), Just("NULL")].prop_map(str::to_owned),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        let op = prop::sample::select(vec![
            "AND", "OR", "=", "<>", "<", "<=", ">", ">=", "+", "-", "*", "/", "%",
        ]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(l, o, r)| format!("{l} {o} {r}")),
            inner.clone().prop_map(|e| format!("({e})")),
            inner.clone().prop_map(|e| format!("NOT {e}")),
            inner.clone().prop_map(|e| format!("-{e}")),
            (inner.clone(), "[a-c%_!]{0,4}", any::<bool>()).prop_map(|(e, p, n)| {
                let not = if n { "NOT " } else { "" };
                format!("{e} {not}LIKE '{p}' ESCAPE '!'")
            }),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(e, l, h)| format!("{e} BETWEEN {l} AND {h}")),
            (inner.clone(), any::<bool>()).prop_map(|(e, n)| {
                let not = if n { "NOT " } else { "" };
                format!("{e} {not}IN ('a', 'b%', '')")
            }),
            (inner, any::<bool>()).prop_map(|(e, n)| {
                let not = if n { "NOT " } else { "" };
                format!("{e} IS {not}NULL")
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = Selector::parse(&text);
    }

    #[test]
    fn parse_never_panics_on_selector_like_text(
        text in "[a-c0-9 '().,%_!<>=+*/xXeE-]{0,40}|(?i:and|or|not|like|escape|in|between|is|null|true|false| )*",
    ) {
        let _ = Selector::parse(&text);
    }

    #[test]
    fn matches_never_panics(text in selector_text(), message in message()) {
        if let Ok(selector) = Selector::parse(&text) {
            let _ = selector.matches(&message);
            // A selector and its negation can never both match.
            if let Ok(negated) = Selector::parse(&format!("NOT ({text})")) {
                prop_assert!(!(selector.matches(&message) && negated.matches(&message)));
            }
        }
    }

    #[test]
    fn less_than_agrees_with_rust(a in any::<i64>(), b in any::<i64>()) {
        let mut message = HashMap::new();
        message.insert("a".to_owned(), Value::Int(a));
        message.insert("b".to_owned(), Value::Int(b));
        let selector = Selector::parse("a < b").map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(selector.matches(&message), a < b);
        let literal = Selector::parse(&format!("{a} < {b}")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(literal.matches(&HashMap::new()), a < b);
    }

    #[test]
    fn integer_arithmetic_agrees_with_rust(a in -1000i64..1000, b in -1000i64..1000) {
        let message = HashMap::new();
        for (op, expected) in [("+", a.checked_add(b)), ("-", a.checked_sub(b)), ("*", a.checked_mul(b)), ("/", a.checked_div(b)), ("%", a.checked_rem(b))] {
            let text = match expected {
                Some(v) => format!("({a}) {op} ({b}) = {v}"),
                None => format!("({a}) {op} ({b}) IS NULL"),
            };
            let selector = Selector::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(selector.matches(&message), "{}", text);
        }
    }
}
