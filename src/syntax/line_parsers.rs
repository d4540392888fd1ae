//! Per-instruction argument parsing, after BuildKit's `frontend/dockerfile/parser/line_parsers.go`:
//! which instructions take JSON (exec form), which take `name=value` pairs, and the errors those
//! parsers raise. dfopt keeps the argument text and only records the form (and fails where BuildKit
//! fails).

use super::json::{go_json_array, JsonArray};
use super::lex::{
    blank_separated, has_quote_or_escape, is_go_space, is_token_ws, parse_word_spans,
    trim_start_go_space,
};
use super::{Form, Keyword};

const NOT_STRING_ARRAY: &str =
    "when using JSON array syntax, arrays must be comprised of strings only";

/// The form of an instruction's arguments, chosen per keyword the way BuildKit's `dispatch` table in
/// `parser.go` picks a line parser (`parseMaybeJSON`, `parseMaybeJSONToList`, `parseNameVal`,
/// `parseHealthConfig`, ...), with the same errors.
pub(super) fn parse_args_form(kind: Keyword, args: &str, escape: char) -> Result<Form, String> {
    let form = match kind {
        Keyword::Run | Keyword::Cmd | Keyword::Entrypoint | Keyword::Shell => {
            parse_maybe_json(args)?
        }
        Keyword::Add | Keyword::Copy | Keyword::Volume => match parse_json(args) {
            JsonResult::Array(v) => Form::Exec(v),
            JsonResult::NotStrings => return Err(NOT_STRING_ARRAY.into()),
            JsonResult::NotJson => {
                if args.is_empty() {
                    Form::Empty
                } else {
                    Form::Shell
                }
            }
        },
        Keyword::Healthcheck => {
            let b = args.as_bytes();
            let sep = b
                .iter()
                .position(|&c| is_go_space(c as char))
                .unwrap_or(b.len());
            let mut next = sep;
            while next < b.len() && is_go_space(b[next] as char) {
                next += 1;
            }
            if sep == 0 {
                Form::Empty
            } else {
                parse_maybe_json(args.get(next..).unwrap_or(""))?
            }
        }
        Keyword::Env | Keyword::Label => {
            parse_name_val(
                args,
                if kind == Keyword::Env { "ENV" } else { "LABEL" },
                escape,
            )?;
            if args.is_empty() {
                Form::Empty
            } else {
                Form::Shell
            }
        }
        _ => {
            if args.is_empty() {
                Form::Empty
            } else {
                Form::Shell
            }
        }
    };
    Ok(form)
}

enum JsonResult {
    Array(Vec<String>),
    NotStrings,
    NotJson,
}

/// BuildKit's `parseJSON`: a JSON array of strings at the start of the arguments, decoded the way
/// Go's `json.Decoder` does it (anything after the first value is ignored; nesting up to 10,000
/// levels; a lone UTF-16 surrogate escape becomes U+FFFD; a number too large for a float64 makes the
/// whole decode fail).
fn parse_json(rest: &str) -> JsonResult {
    let rest = trim_start_go_space(rest);
    if !rest.starts_with('[') {
        return JsonResult::NotJson;
    }
    match go_json_array(rest.as_bytes()) {
        Some(JsonArray {
            items,
            overflow: false,
        }) => match items.into_iter().collect() {
            // (Collected in place: the strings stay in the decoder's vector.)
            Some(strings) => JsonResult::Array(strings),
            None => JsonResult::NotStrings,
        },
        _ => JsonResult::NotJson,
    }
}

fn parse_maybe_json(rest: &str) -> Result<Form, String> {
    if rest.is_empty() {
        return Ok(Form::Empty);
    }
    match parse_json(rest) {
        JsonResult::Array(v) => Ok(Form::Exec(v)),
        JsonResult::NotStrings => Err(NOT_STRING_ARRAY.into()),
        JsonResult::NotJson => Ok(Form::Shell),
    }
}

/// BuildKit's `parseNameVal`, for its errors only: `ENV a` and `ENV a=1 b` are rejected.
fn parse_name_val(rest: &str, key: &str, escape: char) -> Result<(), String> {
    if !has_quote_or_escape(rest, escape) {
        // Without quotes or escapes the words are the runs of non-blanks (as `parse_words` finds
        // them): looked at in place, without a copy of each.
        return name_val_errors(rest, key, &mut blank_separated(rest));
    }
    let words = parse_word_spans(rest, escape);
    name_val_errors(rest, key, &mut words.iter().copied())
}

/// The errors of `parseNameVal` for the `words` of `rest`.
fn name_val_errors(
    rest: &str,
    key: &str,
    words: &mut dyn Iterator<Item = &str>,
) -> Result<(), String> {
    let Some(first) = words.next() else {
        return Ok(());
    };
    if !first.contains('=') {
        // `len(reWhitespace.Split(rest, -1)) < 2`: no blank to split at.
        if !rest.bytes().any(is_token_ws) {
            return Err(format!("{key} must have two arguments"));
        }
        return Ok(());
    }
    for w in words {
        if !w.contains('=') {
            return Err(format!(
                "Syntax error - can't find = in {w:?}. Must be of the form: name=value"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::lex::{parse_words, split_token_ws};
    use super::*;

    /// `parseNameVal`'s errors from the words as `parse_words` copies them: the oracle of the
    /// in-place reading.
    fn parse_name_val_copied(rest: &str, key: &str, escape: char) -> Result<(), String> {
        let words = parse_words(rest, escape);
        let Some(first) = words.first() else {
            return Ok(());
        };
        if !first.contains('=') {
            if split_token_ws(rest).len() < 2 {
                return Err(format!("{key} must have two arguments"));
            }
            return Ok(());
        }
        for w in &words {
            if !w.contains('=') {
                return Err(format!(
                    "Syntax error - can't find = in {w:?}. Must be of the form: name=value"
                ));
            }
        }
        Ok(())
    }

    #[test]
    fn name_val_errors_read_in_place_as_from_the_copies() {
        for args in [
            "",
            "a",
            "a b",
            "a=1",
            "a=1 b",
            "a=1 b=2",
            "a=1 \u{a0}b",
            "a\u{a0}b",
            "\"a b\"=1 c",
            "a='x y' b",
            "a=1 \\",
            "a \tb",
            "x=\u{2028}y z=1",
        ] {
            for key in ["ENV", "LABEL"] {
                assert_eq!(
                    parse_name_val(args, key, '\\'),
                    parse_name_val_copied(args, key, '\\'),
                    "{args:?}"
                );
            }
        }
    }

    #[test]
    fn json_like_go() {
        let form = |args: &str| match parse_json(args) {
            JsonResult::Array(v) => Ok(v),
            JsonResult::NotStrings => Err("not strings"),
            JsonResult::NotJson => Err("not json"),
        };
        assert_eq!(
            form(r#"["\ud800", "\ud83d\ude00"]"#),
            Ok(vec!["\u{fffd}".into(), "\u{1f600}".into()])
        );
        assert_eq!(form(r#"["a"] trailing"#), Ok(vec!["a".into()]));
        assert_eq!(form("[]"), Ok(vec![]));
        assert_eq!(form(r#"["a", 1]"#), Err("not strings"));
        assert_eq!(form(r#"["a", {"k": [1]}]"#), Err("not strings"));
        assert_eq!(form(r#"["a", 1e999]"#), Err("not json"));
        assert_eq!(form(r#"["a",]"#), Err("not json"));
        assert_eq!(form("[\"a\",\u{b}\"b\"]"), Err("not json"));
        let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
        assert_eq!(form(&deep), Err("not strings"));
        let too_deep = format!("{}{}", "[".repeat(10_001), "]".repeat(10_001));
        assert_eq!(form(&too_deep), Err("not json"));
    }
}
