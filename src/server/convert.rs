//! Between dfopt's byte offsets and LSP's positions, and between `file:` URIs and paths.
//!
//! dfopt's spans and edits are byte ranges into the UTF-8 text. LSP positions are (line, character)
//! with the character counted in UTF-16 code units (the encoding every client must support), and a
//! line ends at `\n`, `\r\n` or a lone `\r`. Offsets that fall inside a character, and positions
//! past the end of a line or of the file, are clamped rather than rejected: a client that is one
//! edit behind must not make the server fail.

use lsp_types::{Position, Range};
use std::path::{Path, PathBuf};

/// The line starts of one text, for converting in both directions.
pub struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset of the first character of each line; the first is 0.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => starts.push(i + 1),
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                    starts.push(i + 2);
                    i += 1;
                }
                b'\r' => starts.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        LineIndex { text, starts }
    }

    /// The byte range of line `line`'s content, without its line terminator.
    fn line_content(&self, line: usize) -> (usize, usize) {
        let start = self.starts[line];
        let mut end = self
            .starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len());
        let bytes = self.text.as_bytes();
        if end > start && bytes[end - 1] == b'\n' {
            end -= 1;
        }
        if end > start && bytes[end - 1] == b'\r' {
            end -= 1;
        }
        (start, end)
    }

    /// The LSP position of a byte offset (clamped to the text, and back to a character boundary).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let (start, end) = self.line_content(line);
        // An offset between `\r` and `\n` is still on this line, at its end.
        let upto = offset.min(end);
        let character: usize = self.text[start..upto].chars().map(char::len_utf16).sum();
        Position::new(line as u32, character as u32)
    }

    pub fn range(&self, start: usize, end: usize) -> Range {
        Range::new(self.position(start), self.position(end))
    }

    /// The byte offset of an LSP position. A line past the last is the end of the text; a
    /// character past the end of its line is the end of the line; a character in the middle of a
    /// surrogate pair is the start of that character.
    pub fn offset(&self, position: Position) -> usize {
        let line = position.line as usize;
        if line >= self.starts.len() {
            return self.text.len();
        }
        let (start, end) = self.line_content(line);
        let wanted = position.character as usize;
        let mut units = 0;
        for (i, c) in self.text[start..end].char_indices() {
            if units + c.len_utf16() > wanted {
                return start + i;
            }
            units += c.len_utf16();
        }
        end
    }

    /// Byte offsets of an LSP range, in order.
    pub fn offsets(&self, range: Range) -> (usize, usize) {
        let a = self.offset(range.start);
        let b = self.offset(range.end);
        (a.min(b), a.max(b))
    }
}

/// The path of a `file:` URI; `None` for any other scheme (an unsaved buffer, say).
pub fn uri_to_path(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://").or_else(|| {
        // `file:/path` (no authority) is valid too.
        uri.strip_prefix("file:").filter(|r| r.starts_with('/'))
    })?;
    // The authority, if any, is empty or `localhost` for local files.
    let path = match rest.find('/') {
        Some(0) => rest,
        Some(i) if rest[..i].eq_ignore_ascii_case("localhost") => &rest[i..],
        _ => return None,
    };
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let decoded = percent_decode(path)?;
    // `file:///C:/x` names `C:/x` on Windows.
    #[cfg(windows)]
    let decoded = match decoded.as_bytes() {
        [b'/', d, b':', ..] if d.is_ascii_alphabetic() => decoded[1..].to_string(),
        _ => decoded,
    };
    Some(PathBuf::from(decoded))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The file name of a URI's path (for telling Dockerfiles by name), whatever its scheme.
pub fn uri_file_name(uri: &str) -> &str {
    let path = uri.split(['?', '#']).next().unwrap_or(uri);
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// A `file:` URI for a path (for tests and for clients that send only a root path).
pub fn path_to_uri(path: &Path) -> String {
    let mut out = String::from("file://");
    let s = path.to_string_lossy().replace('\\', "/");
    if !s.starts_with('/') {
        out.push('/');
    }
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns_and_line_endings() {
        // "é" is 2 bytes / 1 unit, "🐳" 4 bytes / 2 units; lines end with \r\n, \n and \r.
        let text = "a é🐳b\r\nx\ny\rz";
        let idx = LineIndex::new(text);
        let b = text.find('b').unwrap_or(0);
        assert_eq!(idx.position(b), Position::new(0, 5));
        assert_eq!(idx.offset(Position::new(0, 5)), b);
        // Inside the whale's surrogate pair: the whale's start.
        assert_eq!(
            idx.offset(Position::new(0, 4)),
            text.find('🐳').unwrap_or(0)
        );
        // Past the end of the line: before the \r\n.
        assert_eq!(
            idx.offset(Position::new(0, 99)),
            text.find('\r').unwrap_or(0)
        );
        assert_eq!(
            idx.position(text.find('x').unwrap_or(0)),
            Position::new(1, 0)
        );
        assert_eq!(
            idx.position(text.find('z').unwrap_or(0)),
            Position::new(3, 0)
        );
        assert_eq!(idx.position(text.len()), Position::new(3, 1));
        assert_eq!(idx.offset(Position::new(40, 0)), text.len());
        // The \n of a \r\n is on the line it ends.
        assert_eq!(
            idx.position(text.find('\n').unwrap_or(0)),
            Position::new(0, 6)
        );
        // An offset inside a character moves back to its start.
        assert_eq!(idx.position(3), Position::new(0, 2));
    }

    #[test]
    fn every_offset_round_trips() {
        let text = "FROM a\r\nRUN echo 'ü 🐳' \\\r\n  && x\n\nLABEL k=\"ß\"";
        let idx = LineIndex::new(text);
        for (offset, _) in text.char_indices() {
            let p = idx.position(offset);
            let back = idx.offset(p);
            // Offsets of a line terminator map to the line's end.
            let is_terminator = matches!(text.as_bytes()[offset], b'\r' | b'\n');
            assert!(
                back == offset || is_terminator,
                "{offset} -> {p:?} -> {back}"
            );
        }
    }

    #[test]
    fn file_uris() {
        assert_eq!(
            uri_to_path("file:///home/u/My%20App/Dockerfile"),
            Some(PathBuf::from("/home/u/My App/Dockerfile"))
        );
        assert_eq!(
            uri_to_path("file://localhost/x/Dockerfile"),
            Some(PathBuf::from("/x/Dockerfile"))
        );
        assert_eq!(uri_to_path("untitled:Untitled-1"), None);
        assert_eq!(uri_to_path("file:///bad%zz"), None);
        assert_eq!(
            uri_file_name("file:///a/b/Dockerfile.dev"),
            "Dockerfile.dev"
        );
        let p = Path::new("/tmp/a b/Dockerfile");
        assert_eq!(uri_to_path(&path_to_uri(p)), Some(p.to_path_buf()));
    }
}
