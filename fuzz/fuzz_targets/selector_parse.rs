//! Feeds arbitrary text to the selector parser and evaluates whatever parses, against a message
//! holding every kind of value (including edge cases like NaN and i64::MIN), so both parsing and
//! matching are checked for panics and stack overflows.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use selector::{Selector, Value};

fn message(data: &[u8]) -> HashMap<String, Value> {
    // Vary one integer with the input so comparisons don't always go the same way.
    let seed = data.iter().fold(0i64, |acc, &b| {
        acc.wrapping_mul(31).wrapping_add(i64::from(b))
    });
    let entries = [
        ("a", Value::Int(seed)),
        ("b", Value::Int(0)),
        ("c", Value::Int(i64::MIN)),
        ("d", Value::Int(i64::MAX)),
        ("f", Value::Float(1.5)),
        ("nan", Value::Float(f64::NAN)),
        ("inf", Value::Float(f64::INFINITY)),
        ("s", Value::Str("it's 100% _x_".to_owned())),
        ("empty", Value::Str(String::new())),
        ("flag", Value::Bool(true)),
        ("off", Value::Bool(false)),
        ("JMSPriority", Value::Int(4)),
        ("JMSType", Value::Str("car".to_owned())),
        ("JMSDeliveryMode", Value::Str("PERSISTENT".to_owned())),
    ];
    entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(selector) = Selector::parse(text) {
            let message = message(data);
            let _ = selector.matches(&message);
            let _ = selector.matches(&HashMap::<String, Value>::new());
            assert_eq!(selector.text(), text);
        }
    }
});
