//! JMS message selectors: the SQL-92 subset of JMS 1.1 §3.8.1, with Apache ActiveMQ Classic's
//! dialect (hex/octal literals, `%` modulo, `--` and `/* */` comments).
//!
//! ```
//! use std::collections::HashMap;
//! use selector::{Selector, Value};
//!
//! let selector = Selector::parse("JMSType = 'car' AND color LIKE 'bl%' AND weight > 2500")?;
//! let mut message = HashMap::new();
//! message.insert("JMSType".to_owned(), Value::from("car"));
//! message.insert("color".to_owned(), Value::from("blue"));
//! message.insert("weight".to_owned(), Value::Int(3000));
//! assert!(selector.matches(&message));
//! # Ok::<(), selector::SelectorError>(())
//! ```
//!
//! How the crate is laid out:
//! - `selector.rs`: [`Selector`], the entry point: length limit, parse, match.
//! - `lexer.rs`: turns text into tokens (literals, keywords, operators) with byte positions.
//! - `parser.rs`: recursive-descent parser building the expression tree, enforcing the depth limit.
//! - `expr.rs`: the expression tree and its evaluation (arithmetic, comparisons, predicates).
//! - `truth.rs`: SQL three-valued logic (TRUE, FALSE, UNKNOWN).
//! - `like.rs`: the `LIKE` pattern matcher.
//! - `value.rs`: [`Value`], what identifiers resolve to.
//! - `resolver.rs`: [`Resolver`], how identifiers are looked up.
//! - `error.rs`: [`SelectorError`].
//!
//! Evaluation follows SQL: a missing identifier is NULL, and NULL operands, type mismatches,
//! arithmetic overflow and division by zero make the result UNKNOWN, which never matches.

mod error;
mod expr;
mod lexer;
mod like;
mod parser;
mod resolver;
mod selector;
mod truth;
mod value;

pub use error::SelectorError;
pub use resolver::Resolver;
pub use selector::{Selector, MAX_SELECTOR_LEN};
pub use value::Value;

/// Deepest nesting a selector may have before [`SelectorError::TooComplex`].
pub const MAX_DEPTH: usize = parser::MAX_DEPTH;
