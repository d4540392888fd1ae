//! A minimal HTTP client over TcpStream: one GET, HTTP/1.0, Connection: close.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Status and body of a raw HTTP response; `None` when it is not one (e.g. empty: the port is
/// published but nothing listens yet).
pub fn parse_http_response(raw: &[u8]) -> Option<(i32, Vec<u8>)> {
    let head_end = find(raw, b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| find(raw, b"\n\n").map(|i| (i, i + 2)))?;
    let head = String::from_utf8_lossy(raw.get(..head_end.0)?);
    let mut lines = head.lines();
    let status_line = lines.next()?;
    let mut parts = status_line.split_whitespace();
    let proto = parts.next()?;
    if !proto.starts_with("HTTP/") {
        return None;
    }
    let status: i32 = parts.next()?.parse().ok()?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = raw.get(head_end.1..).unwrap_or_default();
    let body = if chunked {
        dechunk(body).unwrap_or_else(|| body.to_vec())
    } else {
        body.to_vec()
    };
    Some((status, body))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = find(body, b"\r\n")?;
        let size_text = String::from_utf8_lossy(body.get(..eol)?).to_string();
        let size_text = size_text.split(';').next()?.trim().to_string();
        let size = usize::from_str_radix(&size_text, 16).ok()?;
        body = body.get(eol + 2..)?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size..)?;
        body = body.strip_prefix(b"\r\n").unwrap_or(body);
    }
}

pub(super) fn http_get(port: u16, path: &str, timeout: Duration) -> Result<(i32, Vec<u8>), String> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    let req = format!(
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: dfopt-verify\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    parse_http_response(&raw).ok_or_else(|| {
        if raw.is_empty() {
            "empty reply".to_string()
        } else {
            "not an HTTP response".to_string()
        }
    })
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_responses() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nHello World!";
        assert_eq!(
            parse_http_response(raw),
            Some((200, b"Hello World!".to_vec()))
        );
        let chunked = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n1\r\n!\r\n0\r\n\r\n";
        assert_eq!(
            parse_http_response(chunked),
            Some((404, b"Hello!".to_vec()))
        );
        assert_eq!(parse_http_response(b""), None);
        assert_eq!(parse_http_response(b"garbage\r\n\r\n"), None);
        assert_eq!(parse_http_response(b"HTTP/1.0 abc\r\n\r\n"), None);
        assert_eq!(
            parse_http_response(b"HTTP/1.0 204 No Content\n\n"),
            Some((204, vec![]))
        );
        // broken chunking: keep the raw body rather than fail
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert_eq!(parse_http_response(bad), Some((200, b"zz\r\n".to_vec())));
    }
}
