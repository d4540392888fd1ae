//! How the container starts: CMD and ENTRYPOINT as argv.

use crate::syntax::{Form, Instruction};

/// Shell-form text as argv when it is plain words (no quoting, expansion or operators).
pub fn plain_words(s: &str) -> Option<Vec<String>> {
    if s.chars().any(|c| "$;&|<>()`*?~'\"{}\\#\n\r".contains(c)) {
        return None;
    }
    let w: Vec<String> = s.split_whitespace().map(str::to_string).collect();
    (!w.is_empty()).then_some(w)
}

/// An exec-form array as Dockerfile JSON.
pub fn json_array(args: &[String]) -> String {
    let items: Vec<String> = args
        .iter()
        .map(|a| serde_json::to_string(a).unwrap_or_else(|_| "\"\"".to_string()))
        .collect();
    format!("[{}]", items.join(", "))
}

/// How the container starts.
#[derive(Debug, Clone, Default)]
pub struct Start {
    pub entrypoint: Option<usize>,
    pub cmd: Option<usize>,
}

/// The command line of an instruction as argv: exec form as is, plain shell form split.
pub fn argv_of(ins: &Instruction) -> Option<Vec<String>> {
    match &ins.command.form {
        Form::Exec(a) => Some(a.clone()),
        Form::Shell => plain_words(&ins.command.args),
        Form::Empty => Some(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_only() {
        assert_eq!(
            plain_words("node  index.js"),
            Some(vec!["node".into(), "index.js".into()])
        );
        assert_eq!(plain_words("node $X"), None);
    }
}
