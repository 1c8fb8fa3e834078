//! The STOMP [`Frame`] and the codec's [`Item`] (a frame or a heart-beat).

use bytes::Bytes;

use crate::Command;

/// One STOMP frame. Headers keep wire order and may repeat; [`Frame::header`] returns
/// the first occurrence, as STOMP 1.2 requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub command: Command,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Frame {
    /// A frame with no headers and an empty body.
    pub fn new(command: Command) -> Frame {
        Frame {
            command,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// The value of the first header called `name` (first occurrence wins).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Appends a header (builder style).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Frame {
        self.push_header(name, value);
        self
    }

    /// Appends a header.
    pub fn push_header(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.headers.push((name.into(), value.into()));
    }

    /// Replaces the body (builder style). Does not touch `content-length`; see
    /// [`Frame::set_content_length`].
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Frame {
        self.body = body.into();
        self
    }

    /// Removes every header called `name`.
    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| n != name);
    }

    /// Sets `content-length` to the body length, replacing any existing occurrences
    /// (the new header keeps the position of the first old one, or is appended).
    pub fn set_content_length(&mut self) {
        let len = self.body.len().to_string();
        match self.headers.iter().position(|(n, _)| n == "content-length") {
            Some(i) => {
                self.headers[i].1 = len;
                let mut seen = 0usize;
                self.headers.retain(|(n, _)| {
                    if n == "content-length" {
                        seen += 1;
                        seen == 1
                    } else {
                        true
                    }
                });
            }
            None => self.push_header("content-length", len),
        }
    }
}

/// What the codec yields and accepts: a frame, or a heart-beat (an EOL between frames).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Frame(Frame),
    HeartBeat,
}

impl From<Frame> for Item {
    fn from(f: Frame) -> Item {
        Item::Frame(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_header_wins() {
        let f = Frame::new(Command::Send)
            .with_header("a", "1")
            .with_header("b", "2")
            .with_header("a", "3");
        assert_eq!(f.header("a"), Some("1"));
        assert_eq!(f.header("b"), Some("2"));
        assert_eq!(f.header("c"), None);
    }

    #[test]
    fn set_content_length_replaces() {
        let mut f = Frame::new(Command::Send)
            .with_header("x", "y")
            .with_header("content-length", "99")
            .with_header("content-length", "7")
            .with_body("hello");
        f.set_content_length();
        assert_eq!(
            f.headers,
            vec![
                ("x".to_string(), "y".to_string()),
                ("content-length".to_string(), "5".to_string())
            ]
        );
        let mut g = Frame::new(Command::Send).with_body(&b"\0\0"[..]);
        g.set_content_length();
        assert_eq!(g.header("content-length"), Some("2"));
        g.remove_header("content-length");
        assert!(g.headers.is_empty());
    }
}
