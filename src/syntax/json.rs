//! The JSON decoding behind exec form (`RUN ["a", "b"]`): BuildKit's `parseJSON` hands the
//! arguments to Go's `encoding/json` decoder, and this reproduces what that decoder accepts, without
//! recursion.

/// Go's `encoding/json` maximum nesting depth.
const JSON_MAX_DEPTH: usize = 10_000;

pub(super) struct JsonArray {
    /// The top-level elements: `Some` for a string, `None` for anything else.
    pub(super) items: Vec<Option<String>>,
    /// A number somewhere did not fit a float64 (Go reports an error after decoding).
    pub(super) overflow: bool,
}

/// Scans the first JSON value of `b` (which starts with `[`) without recursion. `None` on a syntax
/// error or an unfinished value.
pub(super) fn go_json_array(b: &[u8]) -> Option<JsonArray> {
    #[derive(PartialEq)]
    enum Ctx {
        Arr,
        Obj,
    }
    let skip_ws = |mut i: usize| {
        while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        i
    };
    let mut stack: Vec<Ctx> = Vec::new();
    let mut out = JsonArray {
        items: Vec::new(),
        overflow: false,
    };
    let mut i = 0usize;
    'value: loop {
        i = skip_ws(i);
        // One value; `item` is what a top-level element records.
        let item: Option<String> = match *b.get(i)? {
            b'[' | b'{' => {
                let ctx = if b[i] == b'[' { Ctx::Arr } else { Ctx::Obj };
                if stack.len() >= JSON_MAX_DEPTH {
                    return None;
                }
                i = skip_ws(i + 1);
                let close = if ctx == Ctx::Arr { b']' } else { b'}' };
                if b.get(i) == Some(&close) {
                    i += 1;
                    if stack.is_empty() {
                        return Some(out);
                    }
                    None
                } else {
                    if ctx == Ctx::Obj {
                        i = json_object_key(b, i)?;
                    }
                    stack.push(ctx);
                    continue 'value;
                }
            }
            b'"' => {
                let (s, next) = json_string(b, i)?;
                i = next;
                Some(s)
            }
            b't' | b'f' | b'n' => {
                let lit: &[u8] = match b[i] {
                    b't' => b"true",
                    b'f' => b"false",
                    _ => b"null",
                };
                if b.get(i..i + lit.len())? != lit {
                    return None;
                }
                i += lit.len();
                None
            }
            b'-' | b'0'..=b'9' => {
                let end = json_number(b, i)?;
                let text = std::str::from_utf8(b.get(i..end)?).ok()?;
                if text.parse::<f64>().map(f64::is_infinite).unwrap_or(true) {
                    out.overflow = true;
                }
                i = end;
                None
            }
            _ => return None,
        };
        // A value ended at the current depth: record it, then close containers as far as we can.
        let mut item = Some(item);
        loop {
            if let Some(it) = item.take() {
                if stack.len() == 1 {
                    out.items.push(it);
                }
            }
            i = skip_ws(i);
            let ctx = stack.last()?;
            match (ctx, *b.get(i)?) {
                (_, b',') => {
                    i += 1;
                    if *ctx == Ctx::Obj {
                        i = json_object_key(b, skip_ws(i))?;
                    }
                    continue 'value;
                }
                (Ctx::Arr, b']') | (Ctx::Obj, b'}') => {
                    i += 1;
                    stack.pop();
                    if stack.is_empty() {
                        return Some(out);
                    }
                    item = Some(None);
                }
                _ => return None,
            }
        }
    }
}

/// An object key and its colon, starting at `i`; returns the offset after the colon.
fn json_object_key(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let (_, mut j) = json_string(b, i)?;
    while matches!(b.get(j), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        j += 1;
    }
    (b.get(j) == Some(&b':')).then_some(j + 1)
}

/// A JSON string starting at the quote at `i`, decoded like Go's `unquote`; returns it and the offset
/// after the closing quote.
fn json_string(b: &[u8], i: usize) -> Option<(String, usize)> {
    let hex4 = |at: usize| -> Option<u32> {
        let h = std::str::from_utf8(b.get(at..at + 4)?).ok()?;
        if !h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(h, 16).ok()
    };
    let mut out: Vec<u8> = Vec::new();
    let mut j = i + 1;
    loop {
        let c = *b.get(j)?;
        match c {
            b'"' => {
                // The text between the quotes and escapes is taken whole from the input, which
                // comes from a `str`, so this holds UTF-8 already (checked once, not copied).
                let text = String::from_utf8(out)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                return Some((text, j + 1));
            }
            0..=0x1f => return None,
            b'\\' => {
                let e = *b.get(j + 1)?;
                j += 2;
                let ch = match e {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'u' => {
                        let r = hex4(j)?;
                        j += 4;
                        if (0xd800..0xe000).contains(&r) {
                            // A valid pair is consumed whole; anything else is U+FFFD.
                            let low = if b.get(j..j + 2) == Some(b"\\u") {
                                hex4(j + 2)
                            } else {
                                None
                            };
                            match low {
                                Some(lo)
                                    if (0xd800..0xdc00).contains(&r)
                                        && (0xdc00..0xe000).contains(&lo) =>
                                {
                                    j += 6;
                                    char::from_u32(0x10000 + ((r - 0xd800) << 10) + (lo - 0xdc00))
                                        .unwrap_or('\u{fffd}')
                                }
                                _ => '\u{fffd}',
                            }
                        } else {
                            char::from_u32(r).unwrap_or('\u{fffd}')
                        }
                    }
                    _ => return None,
                };
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            _ => {
                // The run of bytes up to the next quote, escape or control byte, in one copy.
                let run = b
                    .get(j..)
                    .and_then(|rest| {
                        rest.iter()
                            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                    })
                    .map_or(b.len(), |k| j + k);
                out.extend_from_slice(b.get(j..run).unwrap_or_default());
                j = run.max(j + 1);
            }
        }
    }
}

/// The end of a JSON number starting at `i` (`-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`).
fn json_number(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |mut k: usize| {
        let s = k;
        while b.get(k).is_some_and(u8::is_ascii_digit) {
            k += 1;
        }
        (k > s).then_some(k)
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => i = digits(i)?,
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i = digits(i + 1)?;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = digits(i)?;
    }
    Some(i)
}
