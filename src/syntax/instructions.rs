//! The checks BuildKit makes after parsing, when it turns the syntax tree into typed instructions
//! (`frontend/dockerfile/instructions/parse.go`, `Parse` and `ParseInstruction`). BuildKit's parser
//! accepts `RUNN x`, a bare `ENV` or `FROM x AS`, but every build of such a file fails before
//! anything runs, so dfopt refuses them too rather than rewrite a file that cannot be built.
//!
//! Only the checks below are made; `instructions.Parse` has more (flags, argument counts of other
//! instructions, ONBUILD triggers) that dfopt does not model yet.

use super::lex::{parse_words, split_token_ws};
use super::{Command, Instruction, Keyword, ParseError};

/// `instructions.Parse`: BuildKit walks the instructions in order once the whole file has parsed
/// (so a parser error anywhere wins over these), and fails the build on the first bad one, at its
/// first line.
pub(super) fn check_instructions(
    instructions: &[Instruction],
    escape: char,
) -> Result<(), ParseError> {
    for instruction in instructions {
        if let Err(message) = check_command(&instruction.command, escape) {
            return Err(ParseError::at(instruction.start_line, 1, message));
        }
    }
    Ok(())
}

/// `ParseInstruction` for one instruction. An ONBUILD trigger is not checked here: BuildKit stores it
/// as text and only parses it when a later build uses the image as its base (so `ONBUILD RUNN x`
/// builds).
fn check_command(command: &Command, escape: char) -> Result<(), String> {
    match command.kind {
        // `suggest.WrapError(&UnknownInstructionError{...})`; BuildKit names the keyword as written.
        Keyword::Unknown => Err(format!("unknown instruction: {}", command.keyword)),
        Keyword::Env => check_kvps(command, escape, "ENV"),
        Keyword::Label => check_kvps(command, escape, "LABEL"),
        Keyword::From => check_build_stage_name(&command.args),
        _ => Ok(()),
    }
}

/// `parseKvps`: ENV and LABEL need at least one `name=value` pair (or legacy `name value`). Their
/// arguments come from `parseNameVal`, which finds no word at all only in an empty argument string or
/// in a lone escape character (`parseWords` drops an escape at the end of the line).
fn check_kvps(command: &Command, escape: char, name: &str) -> Result<(), String> {
    let args = command.args.as_str();
    if args.is_empty() || (args.starts_with(escape) && parse_words(args, escape).is_empty()) {
        return Err(format!("{name} requires at least one argument"));
    }
    Ok(())
}

/// `parseBuildStageName`: FROM takes `image` or `image AS name` (its arguments split by
/// `parseStringsWhitespaceDelimited`), and a stage name must match `^[a-z][a-z0-9-_.]*$` once
/// lower-cased.
fn check_build_stage_name(args: &str) -> Result<(), String> {
    let words = if args.is_empty() {
        Vec::new()
    } else {
        split_token_ws(args)
    };
    match words.as_slice() {
        [_] => Ok(()),
        [_, as_word, name] if as_word.eq_ignore_ascii_case("as") => {
            if is_valid_stage_name(name) {
                Ok(())
            } else {
                Err(format!(
                    "invalid name for build stage: {name:?}, name can't start with a number or contain symbols"
                ))
            }
        }
        _ => Err("FROM requires either one or three arguments".to_string()),
    }
}

/// `validStageName` applied to `strings.ToLower(name)`. Go lower-cases rune by rune with the simple
/// case mapping, so the Kelvin sign becomes `k` and U+0130 becomes `i` (Rust's full mapping would
/// give `i` plus a combining dot); every other rune that does not lower-case to ASCII is a symbol.
fn is_valid_stage_name(name: &str) -> bool {
    let lower = |c: char| match c {
        '\u{0130}' => 'i',
        '\u{212a}' => 'k',
        c => c.to_ascii_lowercase(),
    };
    let mut chars = name.chars().map(lower);
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_names_like_go() {
        for ok in ["b", "Build", "a-b_c.d", "x1", "\u{212a}elvin", "\u{0130}x"] {
            assert!(is_valid_stage_name(ok), "{ok}");
        }
        for bad in ["", "1b", "-b", "a$b", "\u{e9}t\u{e9}", "a/b", "a:b"] {
            assert!(!is_valid_stage_name(bad), "{bad}");
        }
    }
}
