use crate::expr::{ArithOp, CmpOp, Expr};
use crate::lexer::{Token, TokenKind, MIN_INT_MAGNITUDE};
use crate::like::LikePattern;
use crate::{SelectorError, Value};

/// Deepest nesting (parentheses, unary operators, operator chains) a selector may have. It keeps
/// both this recursive-descent parser and the recursive evaluator far from the stack limit.
pub(crate) const MAX_DEPTH: usize = 100;

/// An expression plus what the parser needs to know about it.
struct Parsed {
    expr: Expr,
    /// Byte offset where the expression starts, for "expected a boolean" errors.
    position: usize,
    /// Height of the expression tree, bounded by [`MAX_DEPTH`].
    height: usize,
}

/// Recursive-descent parser over the token list. Precedence, loosest first:
/// OR, AND, NOT, equality (`=`, `<>`, `IS [NOT] NULL`), comparison (`<` `<=` `>` `>=`,
/// `[NOT] LIKE`, `[NOT] BETWEEN`, `[NOT] IN`), additive, multiplicative, unary sign.
/// Splitting equality from comparison follows ActiveMQ's grammar.
pub(crate) struct Parser {
    tokens: Vec<Token>,
    next: usize,
    nesting: usize,
}

impl Parser {
    pub(crate) fn new(tokens: Vec<Token>) -> Self {
        Parser {
            tokens,
            next: 0,
            nesting: 0,
        }
    }

    /// Parses a whole selector; `Ok(None)` for an empty one.
    pub(crate) fn parse_selector(mut self) -> Result<Option<Expr>, SelectorError> {
        if self.peek() == &TokenKind::Eof {
            return Ok(None);
        }
        let parsed = self.or()?;
        let token = self.current();
        if token.kind != TokenKind::Eof {
            let message = if token.kind == TokenKind::RParen {
                "unbalanced `)`".to_owned()
            } else {
                format!("expected an operator or end of input, found {}", token.kind)
            };
            return Err(SelectorError::syntax(token.position, message));
        }
        require_boolean(&parsed)?;
        Ok(Some(parsed.expr))
    }

    fn current(&self) -> &Token {
        // The lexer always ends the list with Eof and the parser never advances past it, so the
        // fallback is unreachable; it just keeps indexing panic-free.
        static END: Token = Token {
            kind: TokenKind::Eof,
            position: 0,
        };
        self.tokens
            .get(self.next)
            .or(self.tokens.last())
            .unwrap_or(&END)
    }

    fn peek(&self) -> &TokenKind {
        &self.current().kind
    }

    fn peek_second(&self) -> Option<&TokenKind> {
        self.tokens.get(self.next + 1).map(|t| &t.kind)
    }

    fn position(&self) -> usize {
        self.current().position
    }

    fn advance(&mut self) -> Token {
        let token = self.current().clone();
        if token.kind != TokenKind::Eof {
            self.next += 1;
        }
        token
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        if self.peek() == kind {
            self.advance();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, kind: &TokenKind, what: &str) -> Result<Token, SelectorError> {
        if self.peek() == kind {
            Ok(self.advance())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn unexpected(&self, expected: &str) -> SelectorError {
        let token = self.current();
        SelectorError::syntax(
            token.position,
            format!("expected {expected}, found {}", token.kind),
        )
    }

    /// Guards every recursive descent so hostile input like 100000 `(` fails cleanly.
    fn enter(&mut self) -> Result<(), SelectorError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(too_deep());
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nesting = self.nesting.saturating_sub(1);
    }

    fn or(&mut self) -> Result<Parsed, SelectorError> {
        self.logical(TokenKind::Or)
    }

    fn and(&mut self) -> Result<Parsed, SelectorError> {
        self.logical(TokenKind::And)
    }

    /// Shared body of OR and AND: a flattened chain of boolean operands.
    fn logical(&mut self, operator: TokenKind) -> Result<Parsed, SelectorError> {
        let operand = |p: &mut Self| {
            if operator == TokenKind::Or {
                p.and()
            } else {
                p.not()
            }
        };
        let first = operand(self)?;
        if self.peek() != &operator {
            return Ok(first);
        }
        require_boolean(&first)?;
        let position = first.position;
        let mut height = 0;
        let mut operands = Vec::new();
        let mut push = |operands: &mut Vec<Expr>, parsed: Parsed| {
            height = height.max(parsed.height);
            match (parsed.expr, &operator) {
                (Expr::Or(inner), TokenKind::Or) | (Expr::And(inner), TokenKind::And) => {
                    operands.extend(inner);
                }
                (expr, _) => operands.push(expr),
            }
        };
        push(&mut operands, first);
        while self.eat(&operator) {
            let next = operand(self)?;
            require_boolean(&next)?;
            push(&mut operands, next);
        }
        let expr = if operator == TokenKind::Or {
            Expr::Or(operands)
        } else {
            Expr::And(operands)
        };
        node(expr, position, height)
    }

    fn not(&mut self) -> Result<Parsed, SelectorError> {
        if self.peek() != &TokenKind::Not {
            return self.equality();
        }
        let position = self.advance().position;
        self.enter()?;
        let operand = self.not()?;
        self.leave();
        require_boolean(&operand)?;
        node(Expr::Not(Box::new(operand.expr)), position, operand.height)
    }

    fn equality(&mut self) -> Result<Parsed, SelectorError> {
        let mut left = self.comparison()?;
        loop {
            let op = match self.peek() {
                TokenKind::Eq => CmpOp::Eq,
                TokenKind::Ne => CmpOp::Ne,
                TokenKind::Is => {
                    self.advance();
                    let negated = self.eat(&TokenKind::Not);
                    self.expect(&TokenKind::Null, "NULL after IS")?;
                    let (position, height) = (left.position, left.height);
                    let expr = Expr::IsNull {
                        operand: Box::new(left.expr),
                        negated,
                    };
                    left = node(expr, position, height)?;
                    continue;
                }
                _ => return Ok(left),
            };
            self.advance();
            let right = self.comparison()?;
            left = binary(left, right, |l, r| Expr::Compare(op, l, r))?;
        }
    }

    fn comparison(&mut self) -> Result<Parsed, SelectorError> {
        let mut left = self.additive()?;
        loop {
            let op = match self.peek() {
                TokenKind::Lt => CmpOp::Lt,
                TokenKind::Le => CmpOp::Le,
                TokenKind::Gt => CmpOp::Gt,
                TokenKind::Ge => CmpOp::Ge,
                TokenKind::Like | TokenKind::Between | TokenKind::In => {
                    left = self.predicate(left, false)?;
                    continue;
                }
                TokenKind::Not
                    if matches!(
                        self.peek_second(),
                        Some(TokenKind::Like | TokenKind::Between | TokenKind::In)
                    ) =>
                {
                    self.advance();
                    left = self.predicate(left, true)?;
                    continue;
                }
                _ => return Ok(left),
            };
            self.advance();
            let right = self.additive()?;
            left = binary(left, right, |l, r| Expr::Compare(op, l, r))?;
        }
    }

    /// `LIKE`, `BETWEEN` or `IN` applied to `operand`; the current token is the keyword.
    fn predicate(&mut self, operand: Parsed, negated: bool) -> Result<Parsed, SelectorError> {
        let keyword = self.advance();
        let (position, height) = (operand.position, operand.height);
        let operand_expr = Box::new(operand.expr);
        match keyword.kind {
            TokenKind::Like => {
                let pattern = self.string_literal("a string pattern after LIKE")?;
                let escape = if self.eat(&TokenKind::Escape) {
                    let at = self.position();
                    let escape = self.string_literal("a string after ESCAPE")?;
                    let mut chars = escape.chars();
                    match (chars.next(), chars.next()) {
                        (Some(c), None) => Some(c),
                        _ => {
                            return Err(SelectorError::syntax(
                                at,
                                format!(
                                    "ESCAPE must be a single character, found '{}'",
                                    escape.replace('\'', "''")
                                ),
                            ))
                        }
                    }
                } else {
                    None
                };
                let expr = Expr::Like {
                    operand: operand_expr,
                    pattern: LikePattern::new(&pattern, escape),
                    negated,
                };
                node(expr, position, height)
            }
            TokenKind::Between => {
                let low = self.additive()?;
                self.expect(&TokenKind::And, "AND between the BETWEEN bounds")?;
                let high = self.additive()?;
                let height = height.max(low.height).max(high.height);
                let expr = Expr::Between {
                    operand: operand_expr,
                    low: Box::new(low.expr),
                    high: Box::new(high.expr),
                    negated,
                };
                node(expr, position, height)
            }
            _ => {
                self.expect(&TokenKind::LParen, "`(` after IN")?;
                let mut list = vec![self.string_literal("a string literal in the IN list")?];
                while self.eat(&TokenKind::Comma) {
                    list.push(self.string_literal("a string literal in the IN list")?);
                }
                self.expect(&TokenKind::RParen, "`,` or `)` in the IN list")?;
                let expr = Expr::In {
                    operand: operand_expr,
                    list,
                    negated,
                };
                node(expr, position, height)
            }
        }
    }

    fn string_literal(&mut self, what: &str) -> Result<String, SelectorError> {
        if let TokenKind::Str(s) = self.peek() {
            let s = s.clone();
            self.advance();
            Ok(s)
        } else {
            Err(self.unexpected(what))
        }
    }

    fn additive(&mut self) -> Result<Parsed, SelectorError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                TokenKind::Plus => ArithOp::Add,
                TokenKind::Minus => ArithOp::Sub,
                _ => return Ok(left),
            };
            self.advance();
            let right = self.multiplicative()?;
            left = binary(left, right, |l, r| Expr::Arith(op, l, r))?;
        }
    }

    fn multiplicative(&mut self) -> Result<Parsed, SelectorError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                TokenKind::Star => ArithOp::Mul,
                TokenKind::Slash => ArithOp::Div,
                TokenKind::Percent => ArithOp::Rem,
                _ => return Ok(left),
            };
            self.advance();
            let right = self.unary()?;
            left = binary(left, right, |l, r| Expr::Arith(op, l, r))?;
        }
    }

    fn unary(&mut self) -> Result<Parsed, SelectorError> {
        let negate = match self.peek() {
            TokenKind::Minus => true,
            TokenKind::Plus => false,
            _ => return self.primary(),
        };
        let position = self.advance().position;
        // Folding the sign into a literal is what lets -9223372036854775808 be an exact i64.
        if negate {
            if let TokenKind::Int(magnitude) = *self.peek() {
                self.advance();
                let value = if magnitude == MIN_INT_MAGNITUDE {
                    Value::Int(i64::MIN)
                } else {
                    Value::Int(-int_literal(magnitude))
                };
                return node(Expr::Literal(value), position, 0);
            }
        }
        self.enter()?;
        let operand = self.unary()?;
        self.leave();
        let operand_expr = Box::new(operand.expr);
        let expr = if negate {
            Expr::Negate(operand_expr)
        } else {
            Expr::Plus(operand_expr)
        };
        node(expr, position, operand.height)
    }

    fn primary(&mut self) -> Result<Parsed, SelectorError> {
        let token = self.current().clone();
        let expr = match token.kind {
            TokenKind::LParen => {
                self.advance();
                self.enter()?;
                let mut inner = self.or()?;
                self.leave();
                self.expect(&TokenKind::RParen, "`)`")?;
                inner.position = token.position;
                return Ok(inner);
            }
            TokenKind::Ident(ref name) => {
                if self.peek_second() == Some(&TokenKind::LParen)
                    && (name.eq_ignore_ascii_case("XPATH") || name.eq_ignore_ascii_case("XQUERY"))
                {
                    return Err(SelectorError::syntax(
                        token.position,
                        format!("{name} selectors are not supported"),
                    ));
                }
                Expr::Ident(name.clone())
            }
            TokenKind::Str(ref s) => Expr::Literal(Value::Str(s.clone())),
            TokenKind::Int(magnitude) => {
                // 2^63 without a leading minus doesn't fit; degrade like other oversized decimals.
                if magnitude == MIN_INT_MAGNITUDE {
                    Expr::Literal(Value::Float(9_223_372_036_854_775_808.0))
                } else {
                    Expr::Literal(Value::Int(int_literal(magnitude)))
                }
            }
            TokenKind::Float(f) => Expr::Literal(Value::Float(f)),
            TokenKind::True => Expr::Literal(Value::Bool(true)),
            TokenKind::False => Expr::Literal(Value::Bool(false)),
            TokenKind::Null => Expr::Null,
            _ => return Err(self.unexpected("an expression")),
        };
        self.advance();
        node(expr, token.position, 0)
    }
}

/// Magnitudes below 2^63 always fit; the lexer never produces larger ones.
fn int_literal(magnitude: u64) -> i64 {
    i64::try_from(magnitude).unwrap_or(i64::MAX)
}

fn too_deep() -> SelectorError {
    SelectorError::TooComplex {
        what: format!("nesting depth exceeds {MAX_DEPTH}"),
    }
}

/// Wraps `expr` as one level above children of height `child_height`, enforcing [`MAX_DEPTH`].
fn node(expr: Expr, position: usize, child_height: usize) -> Result<Parsed, SelectorError> {
    let height = child_height + 1;
    if height > MAX_DEPTH {
        return Err(too_deep());
    }
    Ok(Parsed {
        expr,
        position,
        height,
    })
}

fn binary(
    left: Parsed,
    right: Parsed,
    build: impl FnOnce(Box<Expr>, Box<Expr>) -> Expr,
) -> Result<Parsed, SelectorError> {
    let height = left.height.max(right.height);
    node(
        build(Box::new(left.expr), Box::new(right.expr)),
        left.position,
        height,
    )
}

fn require_boolean(parsed: &Parsed) -> Result<(), SelectorError> {
    if parsed.expr.is_boolean() {
        Ok(())
    } else {
        Err(SelectorError::syntax(
            parsed.position,
            "expected a boolean expression (a comparison, LIKE, IN, BETWEEN, IS NULL, \
             identifier or TRUE/FALSE), found a value that cannot be true or false",
        ))
    }
}
