/// One element of a compiled LIKE pattern.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(char),
    /// `_`: exactly one character.
    AnyOne,
    /// `%`: any run of characters, including none.
    AnyRun,
}

/// A compiled `LIKE` pattern.
///
/// Matching is the classic single-backtrack-point wildcard algorithm: O(text × pattern) in the
/// worst case, never exponential, and iterative so hostile patterns cannot exhaust the stack.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LikePattern {
    pieces: Vec<Piece>,
}

impl LikePattern {
    /// Compiles `pattern`. As in ActiveMQ, the escape character only escapes a following `%`,
    /// `_` or escape character; anywhere else (including at the very end) it stands for itself.
    pub(crate) fn new(pattern: &str, escape: Option<char>) -> LikePattern {
        let mut pieces = Vec::with_capacity(pattern.len());
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            if Some(c) == escape {
                if let Some(&next) = chars.peek() {
                    if next == '%' || next == '_' || Some(next) == escape {
                        chars.next();
                        pieces.push(Piece::Literal(next));
                        continue;
                    }
                }
                pieces.push(Piece::Literal(c));
                continue;
            }
            match c {
                '%' => {
                    // Consecutive runs are equivalent to one and would only add backtracking work.
                    if pieces.last() != Some(&Piece::AnyRun) {
                        pieces.push(Piece::AnyRun);
                    }
                }
                '_' => pieces.push(Piece::AnyOne),
                _ => pieces.push(Piece::Literal(c)),
            }
        }
        LikePattern { pieces }
    }

    pub(crate) fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let pieces = &self.pieces;
        let (mut p, mut t) = (0usize, 0usize);
        // Where the most recent `%` was seen and how much text it has swallowed so far; on a
        // mismatch only this one `%` needs to grow, because earlier ones can't do better.
        let mut backtrack: Option<(usize, usize)> = None;
        while t < text.len() {
            match pieces.get(p) {
                Some(Piece::AnyRun) => {
                    backtrack = Some((p, t));
                    p += 1;
                }
                Some(Piece::AnyOne) => {
                    p += 1;
                    t += 1;
                }
                Some(Piece::Literal(c)) if text.get(t) == Some(c) => {
                    p += 1;
                    t += 1;
                }
                _ => match backtrack {
                    Some((run_at, swallowed_to)) => {
                        p = run_at + 1;
                        t = swallowed_to + 1;
                        backtrack = Some((run_at, t));
                    }
                    None => return false,
                },
            }
        }
        pieces[p.min(pieces.len())..]
            .iter()
            .all(|piece| *piece == Piece::AnyRun)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(pattern: &str, text: &str) -> bool {
        LikePattern::new(pattern, None).matches(text)
    }

    fn like_esc(pattern: &str, escape: char, text: &str) -> bool {
        LikePattern::new(pattern, Some(escape)).matches(text)
    }

    #[test]
    fn literal_patterns() {
        assert!(like("abc", "abc"));
        assert!(!like("abc", "abcd"));
        assert!(!like("abc", "ab"));
        assert!(!like("abc", "ABC"));
        assert!(like("", ""));
        assert!(!like("", "a"));
    }

    #[test]
    fn underscore_matches_exactly_one_char() {
        assert!(like("a_c", "abc"));
        assert!(like("a_c", "a\u{e9}c"));
        assert!(!like("a_c", "ac"));
        assert!(!like("a_c", "abbc"));
        assert!(like("___", "xyz"));
        assert!(like("_", "\n"));
    }

    #[test]
    fn percent_matches_any_run() {
        assert!(like("%", ""));
        assert!(like("%", "anything"));
        assert!(like("a%", "a"));
        assert!(like("a%", "abc"));
        assert!(like("%c", "abc"));
        assert!(like("a%c", "ac"));
        assert!(like("a%c", "abbbc"));
        assert!(!like("a%c", "abbbd"));
        assert!(like("%b%", "abc"));
        assert!(like("a%b%c", "aXbYc"));
        assert!(!like("a%b%c", "aXcYb"));
        assert!(like("%%a%%", "bab"));
        assert!(like("12%3", "123"));
        assert!(like("12%3", "12993"));
        assert!(!like("12%3", "1234"));
        assert!(like("%_", "x"));
        assert!(!like("%_", ""));
        assert!(like("%ab", "aab"));
    }

    #[test]
    fn escape_makes_wildcards_literal() {
        assert!(like_esc("\\_%", '\\', "_foo"));
        assert!(!like_esc("\\_%", '\\', "bar"));
        assert!(like_esc("100!%", '!', "100%"));
        assert!(!like_esc("100!%", '!', "1000"));
        assert!(like_esc("a!!b", '!', "a!b"));
        // Escape before an ordinary character, or at the end, stands for itself.
        assert!(like_esc("a!b", '!', "a!b"));
        assert!(like_esc("ab!", '!', "ab!"));
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let pattern = "%a".repeat(50) + "b";
        let text = "a".repeat(5000);
        assert!(!like(&pattern, &text));
    }
}
