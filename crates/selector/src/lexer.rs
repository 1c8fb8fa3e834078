use std::fmt;

use crate::SelectorError;

/// What a token is; keywords are recognised case-insensitively.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    Ident(String),
    Str(String),
    /// Magnitude of an exact literal: at most `2^63`, which is only valid after a unary minus.
    Int(u64),
    Float(f64),
    And,
    Or,
    Not,
    Like,
    Escape,
    In,
    Between,
    Is,
    Null,
    True,
    False,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    LParen,
    RParen,
    Comma,
    Eof,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keyword = |f: &mut fmt::Formatter<'_>, k: &str| write!(f, "keyword {k}");
        match self {
            TokenKind::Ident(name) => write!(f, "identifier `{name}`"),
            TokenKind::Str(_) => f.write_str("a string literal"),
            TokenKind::Int(_) | TokenKind::Float(_) => f.write_str("a number"),
            TokenKind::And => keyword(f, "AND"),
            TokenKind::Or => keyword(f, "OR"),
            TokenKind::Not => keyword(f, "NOT"),
            TokenKind::Like => keyword(f, "LIKE"),
            TokenKind::Escape => keyword(f, "ESCAPE"),
            TokenKind::In => keyword(f, "IN"),
            TokenKind::Between => keyword(f, "BETWEEN"),
            TokenKind::Is => keyword(f, "IS"),
            TokenKind::Null => keyword(f, "NULL"),
            TokenKind::True => keyword(f, "TRUE"),
            TokenKind::False => keyword(f, "FALSE"),
            TokenKind::Eq => f.write_str("`=`"),
            TokenKind::Ne => f.write_str("`<>`"),
            TokenKind::Lt => f.write_str("`<`"),
            TokenKind::Le => f.write_str("`<=`"),
            TokenKind::Gt => f.write_str("`>`"),
            TokenKind::Ge => f.write_str("`>=`"),
            TokenKind::Plus => f.write_str("`+`"),
            TokenKind::Minus => f.write_str("`-`"),
            TokenKind::Star => f.write_str("`*`"),
            TokenKind::Slash => f.write_str("`/`"),
            TokenKind::Percent => f.write_str("`%`"),
            TokenKind::LParen => f.write_str("`(`"),
            TokenKind::RParen => f.write_str("`)`"),
            TokenKind::Comma => f.write_str("`,`"),
            TokenKind::Eof => f.write_str("end of input"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    /// Byte offset of the token's first character, for error reports.
    pub(crate) position: usize,
}

/// `2^63`: the one magnitude beyond `i64::MAX` an exact literal may have (as `-9223372036854775808`).
pub(crate) const MIN_INT_MAGNITUDE: u64 = 1 << 63;

/// Splits selector text into tokens, always ending with [`TokenKind::Eof`].
pub(crate) struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Lexer { text, pos: 0 }
    }

    /// # Errors
    /// A syntax error for unknown characters, unterminated strings or comments and malformed numbers.
    pub(crate) fn tokenize(mut self) -> Result<Vec<Token>, SelectorError> {
        let mut tokens = Vec::new();
        loop {
            self.skip_trivia()?;
            let position = self.pos;
            let Some(c) = self.peek() else {
                tokens.push(Token {
                    kind: TokenKind::Eof,
                    position,
                });
                return Ok(tokens);
            };
            let kind = match c {
                '\'' => self.string()?,
                '0'..='9' => self.number()?,
                '.' if self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) => self.number()?,
                c if is_ident_start(c) => self.word(),
                _ => self.operator(c)?,
            };
            tokens.push(Token { kind, position });
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.text[self.pos..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    /// Whitespace plus ActiveMQ's `--` line comments and `/* */` block comments.
    fn skip_trivia(&mut self) -> Result<(), SelectorError> {
        loop {
            let rest = self.rest();
            if rest.starts_with("--") {
                let len = rest.find('\n').unwrap_or(rest.len());
                self.pos += len;
            } else if let Some(body) = rest.strip_prefix("/*") {
                match body.find("*/") {
                    Some(end) => self.pos += end + 4,
                    None => {
                        return Err(SelectorError::syntax(
                            self.pos,
                            "unterminated block comment",
                        ))
                    }
                }
            } else if let Some(c) = self
                .peek()
                .filter(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c'))
            {
                self.pos += c.len_utf8();
            } else {
                return Ok(());
            }
        }
    }

    fn string(&mut self) -> Result<TokenKind, SelectorError> {
        let start = self.pos;
        self.bump();
        let mut value = String::new();
        loop {
            match self.bump() {
                Some('\'') => {
                    if self.peek() == Some('\'') {
                        self.bump();
                        value.push('\'');
                    } else {
                        return Ok(TokenKind::Str(value));
                    }
                }
                Some(c) => value.push(c),
                None => {
                    return Err(SelectorError::syntax(
                        start,
                        "unterminated string literal (missing closing `'`)",
                    ))
                }
            }
        }
    }

    fn word(&mut self) -> TokenKind {
        let start = self.pos;
        while self.peek().is_some_and(is_ident_part) {
            self.bump();
        }
        let word = &self.text[start..self.pos];
        let keywords = [
            ("AND", TokenKind::And),
            ("OR", TokenKind::Or),
            ("NOT", TokenKind::Not),
            ("LIKE", TokenKind::Like),
            ("ESCAPE", TokenKind::Escape),
            ("IN", TokenKind::In),
            ("BETWEEN", TokenKind::Between),
            ("IS", TokenKind::Is),
            ("NULL", TokenKind::Null),
            ("TRUE", TokenKind::True),
            ("FALSE", TokenKind::False),
        ];
        keywords
            .into_iter()
            .find(|(k, _)| word.eq_ignore_ascii_case(k))
            .map_or_else(|| TokenKind::Ident(word.to_owned()), |(_, kind)| kind)
    }

    /// Java-style numeric literals as ActiveMQ accepts them: decimal, `0x` hex, leading-zero
    /// octal (all with an optional `L`), and decimal floats with optional exponent and `F`/`D`.
    fn number(&mut self) -> Result<TokenKind, SelectorError> {
        let start = self.pos;
        let rest = self.rest();
        if (rest.starts_with("0x") || rest.starts_with("0X"))
            && rest[2..].starts_with(|c: char| c.is_ascii_hexdigit())
        {
            self.pos += 2;
            let digits_start = self.pos;
            self.eat_while(|c| c.is_ascii_hexdigit());
            let digits = &self.text[digits_start..self.pos];
            let value = parse_radix(digits, 16, start)?;
            self.eat_long_suffix();
            self.reject_trailing_ident(start)?;
            return Ok(TokenKind::Int(value));
        }

        self.eat_while(|c| c.is_ascii_digit());
        let int_end = self.pos;
        let mut is_float = false;
        if self.peek() == Some('.') {
            is_float = true;
            self.bump();
            self.eat_while(|c| c.is_ascii_digit());
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let exponent_at = self.pos;
            self.bump();
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Err(SelectorError::syntax(
                    exponent_at,
                    "malformed number: exponent has no digits",
                ));
            }
            self.eat_while(|c| c.is_ascii_digit());
            is_float = true;
        }
        let literal_end = self.pos;
        if matches!(self.peek(), Some('f' | 'F' | 'd' | 'D')) {
            self.bump();
            is_float = true;
        }

        if is_float {
            let literal = &self.text[start..literal_end];
            // Rust's float grammar wants a digit on each side of the point.
            let normalized = format!("0{}", literal.replace(".e", ".0e").replace(".E", ".0E"));
            let normalized = if normalized.ends_with('.') {
                normalized + "0"
            } else {
                normalized
            };
            let value = normalized.parse::<f64>().map_err(|_| {
                SelectorError::syntax(start, format!("malformed number `{literal}`"))
            })?;
            self.reject_trailing_ident(start)?;
            return Ok(TokenKind::Float(value));
        }

        let digits = &self.text[start..int_end];
        let kind = if digits.len() > 1 && digits.starts_with('0') {
            if let Some(bad) = digits.find(['8', '9']) {
                return Err(SelectorError::syntax(
                    start + bad,
                    format!("invalid digit in octal literal `{digits}`"),
                ));
            }
            TokenKind::Int(parse_radix(&digits[1..], 8, start)?)
        } else {
            match digits.parse::<u64>() {
                Ok(v) if v <= MIN_INT_MAGNITUDE => TokenKind::Int(v),
                // Like ActiveMQ's BigDecimal fallback, oversized decimals degrade to approximate.
                _ => TokenKind::Float(digits.parse::<f64>().map_err(|_| {
                    SelectorError::syntax(start, format!("malformed number `{digits}`"))
                })?),
            }
        };
        self.eat_long_suffix();
        self.reject_trailing_ident(start)?;
        Ok(kind)
    }

    fn eat_while(&mut self, pred: impl Fn(char) -> bool) {
        while self.peek().is_some_and(&pred) {
            self.bump();
        }
    }

    fn eat_long_suffix(&mut self) {
        if matches!(self.peek(), Some('l' | 'L')) {
            self.bump();
        }
    }

    /// `12abc` is almost certainly a typo, so report it at the number rather than at `abc`.
    fn reject_trailing_ident(&self, start: usize) -> Result<(), SelectorError> {
        match self.peek() {
            Some(c) if is_ident_part(c) => Err(SelectorError::syntax(
                self.pos,
                format!(
                    "malformed number `{}`: unexpected `{c}`",
                    &self.text[start..self.pos]
                ),
            )),
            _ => Ok(()),
        }
    }

    fn operator(&mut self, c: char) -> Result<TokenKind, SelectorError> {
        let position = self.pos;
        self.bump();
        let kind = match c {
            '=' => TokenKind::Eq,
            '<' => match self.peek() {
                Some('>') => {
                    self.bump();
                    TokenKind::Ne
                }
                Some('=') => {
                    self.bump();
                    TokenKind::Le
                }
                _ => TokenKind::Lt,
            },
            '>' => {
                if self.peek() == Some('=') {
                    self.bump();
                    TokenKind::Ge
                } else {
                    TokenKind::Gt
                }
            }
            '+' => TokenKind::Plus,
            '-' => TokenKind::Minus,
            '*' => TokenKind::Star,
            '/' => TokenKind::Slash,
            '%' => TokenKind::Percent,
            '(' => TokenKind::LParen,
            ')' => TokenKind::RParen,
            ',' => TokenKind::Comma,
            '!' if self.peek() == Some('=') => {
                return Err(SelectorError::syntax(
                    position,
                    "unexpected `!=`; use `<>` for not-equal",
                ))
            }
            '"' => {
                return Err(SelectorError::syntax(
                    position,
                    "unexpected `\"`; string literals use single quotes",
                ))
            }
            other => {
                return Err(SelectorError::syntax(
                    position,
                    format!("unexpected character `{}`", other.escape_debug()),
                ))
            }
        };
        Ok(kind)
    }
}

fn parse_radix(digits: &str, radix: u32, start: usize) -> Result<u64, SelectorError> {
    // Java's Long.parseLong rejects hex and octal beyond Long.MAX_VALUE, and so does ActiveMQ.
    match u64::from_str_radix(digits, radix) {
        Ok(v) if i64::try_from(v).is_ok() => Ok(v),
        _ => Err(SelectorError::syntax(
            start,
            "integer literal out of range for a 64-bit integer",
        )),
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

fn is_ident_part(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        match Lexer::new(text).tokenize() {
            Ok(tokens) => tokens.into_iter().map(|t| t.kind).collect(),
            Err(e) => panic!("lexing {text:?} failed: {e}"),
        }
    }

    fn one(text: &str) -> TokenKind {
        let mut k = kinds(text);
        assert_eq!(k.len(), 2, "{text:?} gave {k:?}");
        k.remove(0)
    }

    fn error_at(text: &str) -> usize {
        match Lexer::new(text).tokenize() {
            Err(SelectorError::Syntax { position, .. }) => position,
            other => panic!("expected a syntax error for {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn keywords_are_case_insensitive() {
        assert_eq!(one("and"), TokenKind::And);
        assert_eq!(one("AnD"), TokenKind::And);
        assert_eq!(one("between"), TokenKind::Between);
        assert_eq!(one("Escape"), TokenKind::Escape);
        assert_eq!(one("null"), TokenKind::Null);
        assert_eq!(one("True"), TokenKind::True);
        assert_eq!(one("fAlSe"), TokenKind::False);
    }

    #[test]
    fn identifiers() {
        assert_eq!(one("JMSType"), TokenKind::Ident("JMSType".into()));
        assert_eq!(one("_a$b9"), TokenKind::Ident("_a$b9".into()));
        assert_eq!(one("$x"), TokenKind::Ident("$x".into()));
        assert_eq!(one("andy"), TokenKind::Ident("andy".into()));
        assert_eq!(one("caf\u{e9}"), TokenKind::Ident("caf\u{e9}".into()));
    }

    #[test]
    fn strings_with_doubled_quotes() {
        assert_eq!(one("'abc'"), TokenKind::Str("abc".into()));
        assert_eq!(one("''"), TokenKind::Str(String::new()));
        assert_eq!(one("'it''s'"), TokenKind::Str("it's".into()));
        assert_eq!(one("''''"), TokenKind::Str("'".into()));
        assert_eq!(error_at("a = 'open"), 4);
    }

    #[test]
    fn exact_numbers() {
        assert_eq!(one("0"), TokenKind::Int(0));
        assert_eq!(one("42"), TokenKind::Int(42));
        assert_eq!(one("42L"), TokenKind::Int(42));
        assert_eq!(one("0x1F"), TokenKind::Int(31));
        assert_eq!(one("0X1fl"), TokenKind::Int(31));
        assert_eq!(one("017"), TokenKind::Int(15));
        assert_eq!(one("00"), TokenKind::Int(0));
        assert_eq!(
            one("9223372036854775808"),
            TokenKind::Int(MIN_INT_MAGNITUDE)
        );
        assert_eq!(one("99999999999999999999"), TokenKind::Float(1e20));
        assert_eq!(error_at("018"), 2);
        assert_eq!(error_at("x = 0x8000000000000000"), 4);
    }

    #[test]
    fn approximate_numbers() {
        assert_eq!(one("1.5"), TokenKind::Float(1.5));
        assert_eq!(one(".5"), TokenKind::Float(0.5));
        assert_eq!(one("7."), TokenKind::Float(7.0));
        assert_eq!(one("1e3"), TokenKind::Float(1000.0));
        assert_eq!(one("1.5E-2"), TokenKind::Float(0.015));
        assert_eq!(one("1.e2"), TokenKind::Float(100.0));
        assert_eq!(one("2.5F"), TokenKind::Float(2.5));
        assert_eq!(one("2d"), TokenKind::Float(2.0));
        assert_eq!(one("09.5"), TokenKind::Float(9.5));
        assert_eq!(error_at("1e"), 1);
        assert_eq!(error_at("1e+"), 1);
        assert_eq!(error_at("12abc"), 2);
    }

    #[test]
    fn operators() {
        assert_eq!(
            kinds("= <> < <= > >= + - * / % ( ) ,"),
            vec![
                TokenKind::Eq,
                TokenKind::Ne,
                TokenKind::Lt,
                TokenKind::Le,
                TokenKind::Gt,
                TokenKind::Ge,
                TokenKind::Plus,
                TokenKind::Minus,
                TokenKind::Star,
                TokenKind::Slash,
                TokenKind::Percent,
                TokenKind::LParen,
                TokenKind::RParen,
                TokenKind::Comma,
                TokenKind::Eof,
            ]
        );
        assert_eq!(error_at("a != 1"), 2);
        assert_eq!(error_at("a = \"x\""), 4);
        assert_eq!(error_at("a # 1"), 2);
    }

    #[test]
    fn comments_and_whitespace_are_skipped() {
        assert_eq!(
            kinds(" a\t/* c */=\r\n1 -- trailing"),
            vec![
                TokenKind::Ident("a".into()),
                TokenKind::Eq,
                TokenKind::Int(1),
                TokenKind::Eof
            ]
        );
        assert_eq!(error_at("a /* open"), 2);
    }

    #[test]
    fn positions_are_byte_offsets() {
        let tokens = Lexer::new("\u{e9}t\u{e9} = 'x'")
            .tokenize()
            .unwrap_or_default();
        let positions: Vec<usize> = tokens.iter().map(|t| t.position).collect();
        assert_eq!(positions, vec![0, 6, 8, 11]);
    }
}
