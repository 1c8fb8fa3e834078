use std::cmp::Ordering;

use crate::like::LikePattern;
use crate::truth::Truth;
use crate::{Resolver, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A parsed selector expression. `None` from [`Expr::eval`] is SQL NULL / UNKNOWN.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Literal(Value),
    Null,
    Ident(String),
    Negate(Box<Expr>),
    /// Unary `+`: kept as a node so `+'text'` is UNKNOWN like any other arithmetic on non-numbers.
    Plus(Box<Expr>),
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    Like {
        operand: Box<Expr>,
        pattern: LikePattern,
        negated: bool,
    },
    In {
        operand: Box<Expr>,
        list: Vec<String>,
        negated: bool,
    },
    Between {
        operand: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    IsNull {
        operand: Box<Expr>,
        negated: bool,
    },
    Not(Box<Expr>),
    /// AND/OR chains are flattened so long generated selectors don't build deep trees.
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

impl Expr {
    /// Whether the expression can yield a boolean, which ActiveMQ requires of the whole selector
    /// and of AND/OR/NOT operands (so `price + 1` or `'x' AND a = 1` are rejected at parse time).
    pub(crate) fn is_boolean(&self) -> bool {
        match self {
            Expr::Literal(value) => matches!(value, Value::Bool(_)),
            Expr::Null | Expr::Negate(_) | Expr::Plus(_) | Expr::Arith(..) => false,
            Expr::Ident(_)
            | Expr::Compare(..)
            | Expr::Like { .. }
            | Expr::In { .. }
            | Expr::Between { .. }
            | Expr::IsNull { .. }
            | Expr::Not(_)
            | Expr::And(_)
            | Expr::Or(_) => true,
        }
    }

    pub(crate) fn eval(&self, resolver: &dyn Resolver) -> Option<Value> {
        match self {
            Expr::Literal(value) => Some(value.clone()),
            Expr::Null => None,
            Expr::Ident(name) => resolver.resolve(name),
            Expr::Negate(operand) => match operand.eval(resolver)? {
                // Overflow (only -i64::MIN) has no meaningful answer, like division by zero.
                Value::Int(i) => i.checked_neg().map(Value::Int),
                Value::Float(f) => Some(Value::Float(-f)),
                Value::Bool(_) | Value::Str(_) => None,
            },
            Expr::Plus(operand) => match operand.eval(resolver)? {
                v @ (Value::Int(_) | Value::Float(_)) => Some(v),
                Value::Bool(_) | Value::Str(_) => None,
            },
            Expr::Arith(op, left, right) => {
                let left = left.eval(resolver)?;
                let right = right.eval(resolver)?;
                arithmetic(*op, &left, &right)
            }
            _ => self.truth(resolver).into_value(),
        }
    }

    pub(crate) fn truth(&self, resolver: &dyn Resolver) -> Truth {
        match self {
            Expr::Compare(op, left, right) => {
                let left = left.eval(resolver);
                let right = right.eval(resolver);
                compare(*op, left.as_ref(), right.as_ref())
            }
            Expr::Like {
                operand,
                pattern,
                negated,
            } => {
                let truth = match operand.eval(resolver) {
                    Some(Value::Str(s)) => Truth::from(pattern.matches(&s)),
                    _ => Truth::Unknown,
                };
                negate_if(truth, *negated)
            }
            Expr::In {
                operand,
                list,
                negated,
            } => {
                let truth = match operand.eval(resolver) {
                    Some(Value::Str(s)) => Truth::from(list.contains(&s)),
                    _ => Truth::Unknown,
                };
                negate_if(truth, *negated)
            }
            Expr::Between {
                operand,
                low,
                high,
                negated,
            } => {
                let value = operand.eval(resolver);
                let low = low.eval(resolver);
                let high = high.eval(resolver);
                let truth = compare(CmpOp::Ge, value.as_ref(), low.as_ref()).and(compare(
                    CmpOp::Le,
                    value.as_ref(),
                    high.as_ref(),
                ));
                negate_if(truth, *negated)
            }
            Expr::IsNull { operand, negated } => {
                negate_if(Truth::from(operand.eval(resolver).is_none()), *negated)
            }
            Expr::Not(operand) => operand.truth(resolver).not(),
            Expr::And(operands) => {
                let mut result = Truth::True;
                for operand in operands {
                    result = result.and(operand.truth(resolver));
                    if result == Truth::False {
                        break;
                    }
                }
                result
            }
            Expr::Or(operands) => {
                let mut result = Truth::False;
                for operand in operands {
                    result = result.or(operand.truth(resolver));
                    if result == Truth::True {
                        break;
                    }
                }
                result
            }
            _ => Truth::of(self.eval(resolver).as_ref()),
        }
    }
}

fn negate_if(truth: Truth, negated: bool) -> Truth {
    if negated {
        truth.not()
    } else {
        truth
    }
}

fn arithmetic(op: ArithOp, left: &Value, right: &Value) -> Option<Value> {
    if let (Value::Int(a), Value::Int(b)) = (left, right) {
        // Checked rather than wrapping: an overflowed result would silently compare wrongly, so
        // it is UNKNOWN, the same as division by zero.
        let result = match op {
            ArithOp::Add => a.checked_add(*b),
            ArithOp::Sub => a.checked_sub(*b),
            ArithOp::Mul => a.checked_mul(*b),
            ArithOp::Div => a.checked_div(*b),
            ArithOp::Rem => a.checked_rem(*b),
        };
        return result.map(Value::Int);
    }
    let a = left.as_f64()?;
    let b = right.as_f64()?;
    let result = match op {
        ArithOp::Add => a + b,
        ArithOp::Sub => a - b,
        ArithOp::Mul => a * b,
        // Integer division by zero is UNKNOWN; floats follow suit rather than yielding infinity,
        // so `x / 0` behaves the same whichever numeric type `x` has.
        ArithOp::Div | ArithOp::Rem if b == 0.0 => return None,
        ArithOp::Div => a / b,
        ArithOp::Rem => a % b,
    };
    Some(Value::Float(result))
}

/// SQL comparison: NULL or mismatched types are UNKNOWN; strings and booleans support only
/// `=` and `<>`; integers and floats compare numerically with each other.
fn compare(op: CmpOp, left: Option<&Value>, right: Option<&Value>) -> Truth {
    let (Some(left), Some(right)) = (left, right) else {
        return Truth::Unknown;
    };
    let ordering = match (left, right) {
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            match (left.as_f64(), right.as_f64()) {
                (Some(a), Some(b)) => a.partial_cmp(&b),
                _ => return Truth::Unknown,
            }
        }
        (Value::Str(a), Value::Str(b)) => return equality(op, a == b),
        (Value::Bool(a), Value::Bool(b)) => return equality(op, a == b),
        _ => return Truth::Unknown,
    };
    let Some(ordering) = ordering else {
        // NaN is unordered: every comparison is false except `<>`, as in IEEE 754.
        return Truth::from(op == CmpOp::Ne);
    };
    Truth::from(match op {
        CmpOp::Eq => ordering == Ordering::Equal,
        CmpOp::Ne => ordering != Ordering::Equal,
        CmpOp::Lt => ordering == Ordering::Less,
        CmpOp::Le => ordering != Ordering::Greater,
        CmpOp::Gt => ordering == Ordering::Greater,
        CmpOp::Ge => ordering != Ordering::Less,
    })
}

fn equality(op: CmpOp, equal: bool) -> Truth {
    match op {
        CmpOp::Eq => Truth::from(equal),
        CmpOp::Ne => Truth::from(!equal),
        CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => Truth::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(i: i64) -> Option<Value> {
        Some(Value::Int(i))
    }

    fn float(f: f64) -> Option<Value> {
        Some(Value::Float(f))
    }

    fn cmp(op: CmpOp, a: Option<Value>, b: Option<Value>) -> Truth {
        compare(op, a.as_ref(), b.as_ref())
    }

    #[test]
    fn numeric_comparison_across_types() {
        assert_eq!(cmp(CmpOp::Eq, int(1), float(1.0)), Truth::True);
        assert_eq!(cmp(CmpOp::Lt, int(1), float(1.5)), Truth::True);
        assert_eq!(cmp(CmpOp::Ge, float(2.0), int(2)), Truth::True);
        assert_eq!(
            cmp(CmpOp::Gt, int(i64::MAX), int(i64::MAX - 1)),
            Truth::True
        );
    }

    #[test]
    fn nan_is_unordered() {
        assert_eq!(
            cmp(CmpOp::Eq, float(f64::NAN), float(f64::NAN)),
            Truth::False
        );
        assert_eq!(cmp(CmpOp::Ne, float(f64::NAN), int(1)), Truth::True);
        assert_eq!(cmp(CmpOp::Lt, float(f64::NAN), int(1)), Truth::False);
    }

    #[test]
    fn mismatched_types_are_unknown() {
        let s = Some(Value::Str("1".into()));
        let b = Some(Value::Bool(true));
        assert_eq!(cmp(CmpOp::Eq, s.clone(), int(1)), Truth::Unknown);
        assert_eq!(cmp(CmpOp::Ne, s.clone(), int(1)), Truth::Unknown);
        assert_eq!(cmp(CmpOp::Eq, b.clone(), int(1)), Truth::Unknown);
        assert_eq!(cmp(CmpOp::Eq, b, s), Truth::Unknown);
        assert_eq!(cmp(CmpOp::Eq, None, None), Truth::Unknown);
    }

    #[test]
    fn arithmetic_rules() {
        let a = |op, l: Value, r: Value| arithmetic(op, &l, &r);
        assert_eq!(a(ArithOp::Div, Value::Int(7), Value::Int(2)), int(3));
        assert_eq!(a(ArithOp::Rem, Value::Int(7), Value::Int(2)), int(1));
        assert_eq!(
            a(ArithOp::Div, Value::Int(7), Value::Float(2.0)),
            float(3.5)
        );
        assert_eq!(a(ArithOp::Div, Value::Int(7), Value::Int(0)), None);
        assert_eq!(a(ArithOp::Div, Value::Float(7.0), Value::Int(0)), None);
        assert_eq!(a(ArithOp::Add, Value::Int(i64::MAX), Value::Int(1)), None);
        assert_eq!(a(ArithOp::Div, Value::Int(i64::MIN), Value::Int(-1)), None);
        assert_eq!(a(ArithOp::Add, Value::Str("1".into()), Value::Int(1)), None);
        assert_eq!(a(ArithOp::Mul, Value::Bool(true), Value::Int(1)), None);
    }
}
