//! Answers `GET /digest/<text>` with the SHA-256 of <text>, computed by the system OpenSSL
//! (openssl-sys links libssl.so.3 / libcrypto.so.3 found with pkg-config).
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

use openssl::hash::{hash, MessageDigest};

fn answer(path: &str) -> (u16, String) {
    match path.strip_prefix("/digest/") {
        Some(text) => match hash(MessageDigest::sha256(), text.as_bytes()) {
            Ok(d) => (
                200,
                format!(
                    "sha256={} openssl_major={}\n",
                    hex::encode(d),
                    openssl::version::number() >> 28
                ),
            ),
            Err(e) => (500, format!("{e}\n")),
        },
        None => (404, "not found\n".to_string()),
    }
}

fn serve(stream: TcpStream) -> std::io::Result<()> {
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let (code, body) = answer(&path);
    let mut out = &stream;
    write!(
        out,
        "HTTP/1.1 {code} OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind("0.0.0.0:7878")?;
    eprintln!("digestd on :7878");
    for stream in listener.incoming() {
        if let Err(e) = stream.and_then(serve) {
            eprintln!("request failed: {e}");
        }
    }
    Ok(())
}
