use crate::expr::Expr;
use crate::lexer::Lexer;
use crate::parser::Parser;
use crate::truth::Truth;
use crate::{Resolver, SelectorError};

/// Longest selector text accepted, in bytes.
pub const MAX_SELECTOR_LEN: usize = 64 * 1024;

/// A parsed JMS message selector.
#[derive(Debug, Clone)]
pub struct Selector {
    /// `None` for an empty selector, which matches every message.
    expr: Option<Expr>,
    text: String,
}

impl Selector {
    /// Parses selector text.
    ///
    /// # Errors
    /// [`SelectorError::Syntax`] with the byte position of the problem, or
    /// [`SelectorError::TooComplex`] when the text exceeds [`MAX_SELECTOR_LEN`] bytes or nests
    /// deeper than 100 levels.
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        if text.len() > MAX_SELECTOR_LEN {
            return Err(SelectorError::TooComplex {
                what: format!(
                    "selector is {} bytes, the limit is {MAX_SELECTOR_LEN}",
                    text.len()
                ),
            });
        }
        let tokens = Lexer::new(text).tokenize()?;
        let expr = Parser::new(tokens).parse_selector()?;
        Ok(Selector {
            expr,
            text: text.to_owned(),
        })
    }

    /// True only when the expression evaluates to TRUE; FALSE and UNKNOWN both reject.
    pub fn matches(&self, resolver: &dyn Resolver) -> bool {
        match &self.expr {
            Some(expr) => expr.truth(resolver) == Truth::True,
            None => true,
        }
    }

    /// The text the selector was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::Value;

    fn message() -> HashMap<String, Value> {
        let mut m = HashMap::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_owned(), v);
        };
        put("JMSType", Value::from("car"));
        put("JMSPriority", Value::Int(4));
        put("JMSCorrelationID", Value::from("abc-123"));
        put("JMSDeliveryMode", Value::from("PERSISTENT"));
        put("color", Value::from("blue"));
        put("weight", Value::Int(2500));
        put("price", Value::Float(19.99));
        put("flag", Value::Bool(true));
        put("off", Value::Bool(false));
        put("zero", Value::Int(0));
        put("neg", Value::Int(-7));
        put("quote", Value::from("it's"));
        put("pct", Value::from("100%"));
        put("under", Value::from("_x"));
        m
    }

    fn parse(text: &str) -> Selector {
        match Selector::parse(text) {
            Ok(s) => s,
            Err(e) => panic!("{text:?} failed to parse: {e}"),
        }
    }

    fn eval(text: &str) -> bool {
        parse(text).matches(&message())
    }

    /// TRUE, FALSE or UNKNOWN, told apart by also evaluating `NOT (text)`.
    fn truth(text: &str) -> Truth {
        match (eval(text), eval(&format!("NOT ({text})"))) {
            (true, false) => Truth::True,
            (false, true) => Truth::False,
            (false, false) => Truth::Unknown,
            (true, true) => panic!("{text:?} and its negation both matched"),
        }
    }

    fn syntax_error(text: &str) -> (usize, String) {
        match Selector::parse(text) {
            Err(SelectorError::Syntax { position, message }) => (position, message),
            other => panic!("expected a syntax error for {text:?}, got {other:?}"),
        }
    }

    fn too_complex(text: &str) {
        match Selector::parse(text) {
            Err(SelectorError::TooComplex { .. }) => {}
            other => panic!("expected TooComplex, got {other:?}"),
        }
    }

    #[test]
    fn empty_selector_matches_everything() {
        assert!(parse("").matches(&HashMap::new()));
        assert!(parse("  \t\n ").matches(&HashMap::new()));
        assert!(parse("/* nothing */").matches(&HashMap::new()));
    }

    #[test]
    fn text_is_preserved() {
        assert_eq!(parse(" a = 1 ").text(), " a = 1 ");
    }

    #[test]
    fn equality_and_inequality() {
        assert!(eval("JMSType = 'car'"));
        assert!(!eval("JMSType = 'Car'"));
        assert!(eval("JMSType <> 'truck'"));
        assert!(eval("weight = 2500"));
        assert!(eval("weight = 2500.0"));
        assert!(eval("weight <> 2501"));
        assert!(eval("flag = TRUE"));
        assert!(eval("off = FALSE"));
        assert!(eval("off <> flag"));
        assert!(eval("quote = 'it''s'"));
    }

    #[test]
    fn ordering_comparisons() {
        assert!(eval("weight > 2000"));
        assert!(eval("weight >= 2500"));
        assert!(!eval("weight > 2500"));
        assert!(eval("weight < 2501"));
        assert!(eval("weight <= 2500"));
        assert!(!eval("weight < 2500"));
        assert!(eval("price < 20"));
        assert!(eval("price > 19.5"));
        assert!(eval("neg < zero"));
        assert!(eval("JMSPriority >= 4"));
    }

    #[test]
    fn strings_and_booleans_only_support_equality() {
        assert_eq!(truth("JMSType > 'a'"), Truth::Unknown);
        assert_eq!(truth("JMSType <= 'car'"), Truth::Unknown);
        assert_eq!(truth("flag > off"), Truth::Unknown);
    }

    #[test]
    fn type_mismatch_is_unknown() {
        assert_eq!(truth("JMSType = 1"), Truth::Unknown);
        assert_eq!(truth("JMSType <> 1"), Truth::Unknown);
        assert_eq!(truth("weight = '2500'"), Truth::Unknown);
        assert_eq!(truth("flag = 1"), Truth::Unknown);
        assert_eq!(truth("flag < 1"), Truth::Unknown);
    }

    #[test]
    fn null_operands_are_unknown() {
        assert_eq!(truth("missing = 1"), Truth::Unknown);
        assert_eq!(truth("missing <> 1"), Truth::Unknown);
        assert_eq!(truth("1 < missing"), Truth::Unknown);
        assert_eq!(truth("missing = missing"), Truth::Unknown);
        assert_eq!(truth("weight = NULL"), Truth::Unknown);
        assert_eq!(truth("missing + 1 = 1"), Truth::Unknown);
    }

    #[test]
    fn arithmetic() {
        assert!(eval("weight + 500 = 3000"));
        assert!(eval("weight - 500 = 2000"));
        assert!(eval("weight * 2 = 5000"));
        assert!(eval("weight / 1000 = 2"));
        assert!(eval("7 / 2 = 3"));
        assert!(eval("7 / 2.0 = 3.5"));
        assert!(eval("7 % 3 = 1"));
        assert!(eval("-neg = 7"));
        assert!(eval("+weight = 2500"));
        assert!(eval("- -weight = 2500"));
        assert!(eval("price * 100 > 1998"));
        assert!(eval("1 + 2 * 3 = 7"));
        assert!(eval("(1 + 2) * 3 = 9"));
        assert!(eval("10 - 4 - 3 = 3"));
        assert!(eval("100 / 10 / 5 = 2"));
        assert!(eval("2 - -3 = 5"));
        assert!(eval("0x10 + 010 = 24"));
        assert!(eval("1.5e1 = 15"));
        assert!(eval("-9223372036854775808 < -9223372036854775807"));
        assert!(eval("9223372036854775807 > 0"));
    }

    #[test]
    fn arithmetic_failures_are_unknown() {
        assert_eq!(truth("weight / 0 = 1"), Truth::Unknown);
        assert_eq!(truth("weight / zero > 0"), Truth::Unknown);
        assert_eq!(truth("weight % 0 = 0"), Truth::Unknown);
        assert_eq!(truth("price / 0 > 0"), Truth::Unknown);
        assert_eq!(truth("JMSType + 1 = 1"), Truth::Unknown);
        assert_eq!(truth("-JMSType = 1"), Truth::Unknown);
        assert_eq!(truth("+JMSType = 1"), Truth::Unknown);
        assert_eq!(truth("flag * 2 = 2"), Truth::Unknown);
        assert_eq!(truth("9223372036854775807 + 1 > 0"), Truth::Unknown);
    }

    #[test]
    fn like() {
        assert!(eval("color LIKE 'bl%'"));
        assert!(eval("color LIKE '_lue'"));
        assert!(eval("color LIKE '%'"));
        assert!(!eval("color LIKE 'bl'"));
        assert!(eval("color NOT LIKE 'red%'"));
        assert!(!eval("color NOT LIKE 'b%'"));
        assert!(eval("JMSCorrelationID like 'abc-___'"));
        assert_eq!(truth("missing LIKE '%'"), Truth::Unknown);
        assert_eq!(truth("missing NOT LIKE '%'"), Truth::Unknown);
        assert_eq!(truth("weight LIKE '25%'"), Truth::Unknown);
    }

    #[test]
    fn like_with_escape() {
        assert!(eval("pct LIKE '100!%' ESCAPE '!'"));
        assert!(!eval("color LIKE 'blu!%' ESCAPE '!'"));
        assert!(eval("under LIKE '\\_%' ESCAPE '\\'"));
        assert!(!eval("color LIKE '\\_%' ESCAPE '\\'"));
        // The pattern is `it'_` with `'` as escape: it matches a literal underscore only.
        assert!(!eval("quote LIKE 'it''_' ESCAPE ''''"));
        assert!(eval("quote LIKE 'it''''s' ESCAPE ''''"));
        assert!(eval("pct not like '100!%' escape '!' = FALSE"));
    }

    #[test]
    fn like_escape_must_be_one_character() {
        let (position, message) = syntax_error("color LIKE 'a' ESCAPE 'ab'");
        assert_eq!(position, 22);
        assert!(message.contains("single character"), "{message}");
        assert_eq!(syntax_error("color LIKE 'a' ESCAPE ''").0, 22);
        assert_eq!(syntax_error("color LIKE 'a' ESCAPE 1").0, 22);
        assert_eq!(syntax_error("color LIKE color").0, 11);
    }

    #[test]
    fn in_lists() {
        assert!(eval("color IN ('red', 'blue')"));
        assert!(eval("color IN ('blue')"));
        assert!(!eval("color IN ('red', 'green')"));
        assert!(eval("color NOT IN ('red', 'green')"));
        assert!(!eval("color NOT IN ('red', 'blue')"));
        assert!(eval("JMSDeliveryMode in ('PERSISTENT')"));
        assert_eq!(truth("missing IN ('a')"), Truth::Unknown);
        assert_eq!(truth("missing NOT IN ('a')"), Truth::Unknown);
        assert_eq!(truth("weight IN ('2500')"), Truth::Unknown);
        assert_eq!(syntax_error("color IN ()").0, 10);
        assert_eq!(syntax_error("color IN ('a', 1)").0, 15);
        assert_eq!(syntax_error("color IN 'a'").0, 9);
        assert_eq!(syntax_error("color IN ('a'").0, 13);
    }

    #[test]
    fn between() {
        assert!(eval("weight BETWEEN 2000 AND 3000"));
        assert!(eval("weight BETWEEN 2500 AND 2500"));
        assert!(!eval("weight BETWEEN 2501 AND 3000"));
        assert!(eval("weight NOT BETWEEN 1 AND 10"));
        assert!(!eval("weight NOT BETWEEN 2000 AND 3000"));
        assert!(eval("price BETWEEN 19 AND 20.5"));
        assert!(eval("weight BETWEEN 1000 * 2 AND 1000 * 3"));
        assert!(eval("weight between 2000 and 3000 and color = 'blue'"));
        assert_eq!(truth("missing BETWEEN 1 AND 2"), Truth::Unknown);
        assert_eq!(truth("weight BETWEEN missing AND 2"), Truth::False);
        assert_eq!(truth("weight BETWEEN missing AND 3000"), Truth::Unknown);
        assert_eq!(truth("color BETWEEN 'a' AND 'z'"), Truth::Unknown);
        assert_eq!(syntax_error("weight BETWEEN 1 OR 2").0, 17);
    }

    #[test]
    fn is_null() {
        assert!(eval("missing IS NULL"));
        assert!(!eval("color IS NULL"));
        assert!(eval("color IS NOT NULL"));
        assert!(!eval("missing IS NOT NULL"));
        assert!(eval("missing + 1 IS NULL"));
        assert!(eval("(missing = 1) IS NULL"));
        assert!(eval("color is not null"));
        assert_eq!(syntax_error("color IS 1").0, 9);
    }

    #[test]
    fn boolean_identifiers() {
        assert!(eval("flag"));
        assert!(!eval("off"));
        assert!(eval("NOT off"));
        assert!(eval("flag AND weight = 2500"));
        assert_eq!(truth("missing"), Truth::Unknown);
        assert_eq!(truth("weight"), Truth::Unknown);
        assert_eq!(truth("color"), Truth::Unknown);
        assert!(eval("TRUE"));
        assert!(!eval("FALSE"));
        assert!(eval("NOT FALSE"));
    }

    #[test]
    fn logic_tables_through_selectors() {
        // TRUE, FALSE and UNKNOWN operands.
        let values = [
            ("flag", Truth::True),
            ("off", Truth::False),
            ("missing", Truth::Unknown),
        ];
        for (a, ta) in values {
            assert_eq!(truth(&format!("NOT {a}")), ta.not());
            for (b, tb) in values {
                assert_eq!(truth(&format!("{a} AND {b}")), ta.and(tb), "{a} AND {b}");
                assert_eq!(truth(&format!("{a} OR {b}")), ta.or(tb), "{a} OR {b}");
            }
        }
        assert_eq!(truth("missing OR off OR flag"), Truth::True);
        assert_eq!(truth("flag AND missing AND off"), Truth::False);
    }

    #[test]
    fn precedence() {
        // AND binds tighter than OR.
        assert!(eval("flag OR off AND off"));
        assert!(!eval("(flag OR off) AND off"));
        // NOT binds tighter than AND, comparisons tighter than NOT.
        assert!(eval("NOT off AND flag"));
        assert!(eval("NOT weight = 1"));
        assert!(eval("NOT NOT flag"));
        assert!(!eval("NOT (flag OR off)"));
        // Arithmetic binds tighter than comparison.
        assert!(eval("weight = 2000 + 500"));
        assert!(eval("1 + 1 < 3 AND 2 * 2 = 4 OR FALSE"));
        // Equality is looser than ordering, as in ActiveMQ.
        assert!(eval("weight > 1 = TRUE"));
        assert!(eval("flag = weight > 1"));
    }

    #[test]
    fn keywords_are_case_insensitive_identifiers_are_not() {
        assert!(eval(
            "color Like 'b%' aNd weight BeTwEeN 1 AnD 5000 oR FaLsE"
        ));
        assert!(eval("Color IS NULL"));
        assert!(eval("color is not null"));
    }

    #[test]
    fn long_or_chains_are_flat() {
        let chain = (0..3000)
            .map(|i| format!("weight = {i}"))
            .collect::<Vec<_>>()
            .join(" OR ");
        assert!(eval(&chain));
        let chain = (0..3000)
            .map(|_| "flag".to_owned())
            .collect::<Vec<_>>()
            .join(" AND ");
        assert!(eval(&chain));
    }

    #[test]
    fn error_positions_and_messages() {
        let err = Selector::parse("a = 1 +").map(|_| ()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "selector syntax error at position 7: expected an expression, found end of input"
        );
        assert_eq!(
            syntax_error("a = "),
            (4, "expected an expression, found end of input".into())
        );
        assert_eq!(syntax_error("a = = 1").0, 4);
        assert_eq!(syntax_error("(a = 1").0, 6);
        let (position, message) = syntax_error("a = 1)");
        assert_eq!(position, 5);
        assert!(message.contains("unbalanced"), "{message}");
        assert_eq!(syntax_error("a = 1 b = 2").0, 6);
        assert_eq!(syntax_error("AND = 1").0, 0);
        assert_eq!(syntax_error("a = 'x").0, 4);
        assert_eq!(syntax_error("a ! 1").0, 2);
        assert_eq!(syntax_error("NOT").0, 3);
        assert_eq!(syntax_error("a NOT = 1").0, 2);
        assert_eq!(syntax_error("XPATH('//x')").0, 0);
    }

    #[test]
    fn non_boolean_selectors_are_rejected() {
        let (position, message) = syntax_error("weight + 1");
        assert_eq!(position, 0);
        assert!(message.contains("boolean"), "{message}");
        assert_eq!(syntax_error("'abc'").0, 0);
        assert_eq!(syntax_error("flag AND 5").0, 9);
        assert_eq!(syntax_error("(1 + 2) OR flag").0, 0);
        assert_eq!(syntax_error("NOT 5").0, 4);
        assert_eq!(syntax_error("NULL").0, 0);
        assert!(Selector::parse("(flag)").is_ok());
    }

    #[test]
    fn text_length_limit() {
        let padded = format!("a = 1{}", " ".repeat(MAX_SELECTOR_LEN - 5));
        assert_eq!(padded.len(), MAX_SELECTOR_LEN);
        assert!(Selector::parse(&padded).is_ok());
        too_complex(&format!("{padded} "));
        too_complex(&"(".repeat(1 << 20));
    }

    #[test]
    fn nesting_limit() {
        let nested = |n: usize| format!("{}flag{}", "(".repeat(n), ")".repeat(n));
        assert!(Selector::parse(&nested(99)).is_ok());
        too_complex(&nested(101));
        too_complex(&"(".repeat(100_000));
        too_complex(&format!("{}flag", "NOT ".repeat(200)));
        too_complex(&format!("{}1 = 1", "- ".repeat(1000)));
        too_complex(&format!("{} = 1", vec!["1"; 200].join(" + ")));
        assert!(Selector::parse(&format!("{} = 1", vec!["1"; 50].join(" + "))).is_ok());
    }
}
