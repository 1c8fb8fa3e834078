use std::collections::HashMap;

use crate::Value;

/// Looks up identifiers: JMS header names (`JMSPriority`, `JMSType`, `JMSCorrelationID`,
/// `JMSTimestamp`, `JMSDeliveryMode`, `JMSMessageID`, `JMSExpiration`) and message properties.
///
/// Returning `None` means the identifier is absent, which selectors treat as SQL NULL.
pub trait Resolver {
    fn resolve(&self, identifier: &str) -> Option<Value>;
}

impl Resolver for HashMap<String, Value> {
    fn resolve(&self, identifier: &str) -> Option<Value> {
        self.get(identifier).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashmap_resolves_present_and_absent_keys() {
        let mut map = HashMap::new();
        map.insert("color".to_owned(), Value::from("red"));
        assert_eq!(map.resolve("color"), Some(Value::Str("red".into())));
        assert_eq!(map.resolve("Color"), None);
    }
}
