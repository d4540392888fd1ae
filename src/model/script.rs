//! The shell reading of a RUN's script that the rules share: every simple command, at any depth
//! (inside `if`, `for`, `while`, `case` branches, `{ }`, `( )` and function bodies; not inside
//! `$( )`, backticks or quoted strings), with its words and their byte spans in the text.
//!
//! It is a walk over the tree of the model's shell reader ([`super::shell`]): a script the reader
//! does not model (unbalanced quotes, a comment, a here-document, `select`, arrays, …) reads as
//! `None`, and rules then leave the RUN alone.

use super::shell::{Tree, WordNode};

/// A word of the script, with its byte range in the script's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Inline up to 24 bytes: most words are short, and a RUN has many.
    pub text: compact_str::CompactString,
    pub start: usize,
    pub end: usize,
}

/// One simple command found anywhere in the script (inside `if`, subshells and groups too, but
/// not inside `$( )`, backticks or quoted strings).
#[derive(Debug, Clone)]
pub struct Cmd {
    /// The words after assignments and reserved words, redirections removed.
    pub words: Vec<Word>,
    /// Nesting depth: 0 at the top level.
    pub depth: usize,
    /// Index of the program word in `words` after wrappers such as `sudo` and `env`.
    pub prog: usize,
    /// The program runs under `sudo`.
    pub sudo: bool,
    /// Where the program's name starts in its word (after the last `/`), worked out once: every
    /// pass asks for it.
    name_from: usize,
}

impl Cmd {
    /// The program name without its directory (`/usr/bin/pip3` → `pip3`).
    pub fn program(&self) -> &str {
        self.words
            .get(self.prog)
            .and_then(|w| w.text.get(self.name_from..))
            .unwrap_or("")
    }
    /// The words after the program.
    pub fn args(&self) -> &[Word] {
        self.words.get(self.prog + 1..).unwrap_or(&[])
    }
    /// The first argument that is not an option (the subcommand of `apt-get install`).
    pub fn subcommand(&self) -> Option<&Word> {
        self.args().iter().find(|w| !w.text.starts_with('-'))
    }
    /// The first argument equal to one of `names` (`install` in `apt-get -o X=1 install`).
    pub fn find_arg<S: AsRef<str>>(&self, names: &[S]) -> Option<&Word> {
        self.args()
            .iter()
            .find(|w| names.iter().any(|n| n.as_ref() == w.text))
    }
    /// Whether any argument equals `arg`.
    pub fn has_arg(&self, arg: &str) -> bool {
        self.args().iter().any(|w| w.text == arg)
    }
    /// The program and its words up to `last` (`python3 -m pip install`).
    pub fn up_to(&self, last: &Word) -> String {
        let mut s = self.program().to_string();
        for w in self.args().iter().take_while(|w| w.start <= last.start) {
            s.push(' ');
            s.push_str(&w.text);
        }
        s
    }
    /// The program and its arguments, joined by single spaces (for the data's regexes).
    pub fn line(&self) -> String {
        // Sized once: rules build this line for many commands, and growing it word by word
        // reallocated several times per command.
        let args = self.args();
        let len = self.program().len() + args.iter().map(|w| w.text.len() + 1).sum::<usize>();
        let mut s = String::with_capacity(len);
        s.push_str(self.program());
        for w in args {
            s.push(' ');
            s.push_str(&w.text);
        }
        s
    }
}

/// What the hygiene passes know of a RUN script.
#[derive(Debug, Clone)]
pub struct Script {
    pub cmds: Vec<Cmd>,
    /// Top-level separators, in order (`&&`, `||`, `;`, `|`, `&`, newline as `\n`).
    pub top_ops: Vec<&'static str>,
}

/// Reserved words a command's words may start with (`then`, `!`, …): no part of the command.
/// A `match` (by length, then bytes) instead of a list searched in order: every command asks.
fn is_reserved(w: &str) -> bool {
    matches!(
        w,
        "if" | "then"
            | "else"
            | "elif"
            | "fi"
            | "do"
            | "done"
            | "while"
            | "until"
            | "!"
            | "{"
            | "}"
            | "time"
    )
}

/// Reads the script with the model's shell reader ([`super::shell`]) and lists its simple
/// commands. `None` for anything the reader does not model: unbalanced quotes, `select`,
/// `function` (bash's keyword; `name() { …; }` is read), arrays, here-documents inside the text,
/// a comment (it would swallow appended text), text that is no valid shell. The commands of
/// `case` branches and of function bodies are nested commands like those of `if`.
pub fn parse(text: &str) -> Option<Script> {
    let tree = Tree::parse(text).ok()?;
    Some(of_tree(text, &tree))
}

/// The commands and top-level operators of `tree`, the reading of `text`.
pub fn of_tree(text: &str, tree: &Tree) -> Script {
    // About one command per top-level operator, plus the last: sized once instead of grown.
    let mut cmds = Vec::with_capacity(tree.top_ops.len() + 1);
    tree.walk(|v| {
        if let Some(c) = make_cmd(text, v.words, v.depth) {
            cmds.push(c);
        }
    });
    Script {
        cmds,
        top_ops: tree.top_ops.iter().map(|op| op.as_str()).collect(),
    }
}

/// The command of a simple command's words: reserved words and assignments before it dropped,
/// its program found after wrappers. Worked out on the words' text in `text`, before any word is
/// copied out: every RUN's every command goes through here.
fn make_cmd(text: &str, nodes: &[WordNode], depth: usize) -> Option<Cmd> {
    let lead = nodes
        .iter()
        .take_while(|w| {
            let t = w.span.of(text);
            is_reserved(t) || is_assignment(t)
        })
        .count();
    let nodes = nodes.get(lead..).unwrap_or(&[]);
    let word = |k: usize| nodes.get(k).map(|w| w.span.of(text));
    if word(0)? == "for" {
        return None;
    }
    let mut prog = 0;
    let mut sudo = false;
    loop {
        match word(prog)? {
            "sudo" => {
                sudo = true;
                prog += 1;
                while let Some(o) = word(prog) {
                    if !o.starts_with('-') {
                        break;
                    }
                    let takes_value = matches!(o, "-u" | "-g" | "-h" | "-p" | "-C");
                    prog += if takes_value { 2 } else { 1 };
                }
            }
            "env" | "nohup" | "command" | "nice" => {
                prog += 1;
                while let Some(o) = word(prog) {
                    if o.starts_with('-') || is_assignment(o) {
                        prog += 1;
                    } else {
                        break;
                    }
                }
            }
            _ => break,
        }
    }
    let name_from = word(prog)
        // By bytes: `rfind(char)` prepares a search that costs more than a short word's scan.
        .and_then(|w| w.bytes().rposition(|b| b == b'/'))
        .map_or(0, |i| i + 1);
    let words = nodes
        .iter()
        .map(|w| Word {
            text: w.span.of(text).into(),
            start: w.span.start,
            end: w.span.end,
        })
        .collect();
    Some(Cmd {
        words,
        depth,
        prog,
        sudo,
        name_from,
    })
}

/// A program's name without its directory (`/usr/bin/pip3` → `pip3`): the text after the last
/// `/`. By bytes: `rsplit('/')` prepares a search that costs more than a short word's scan, and
/// the readers ask this of nearly every command.
pub(crate) fn basename(w: &str) -> &str {
    match w.as_bytes().iter().rposition(|&b| b == b'/') {
        Some(i) => w.get(i + 1..).unwrap_or_default(),
        None => w,
    }
}

/// `NAME=value` or `NAME+=value`: a shell assignment word.
pub(crate) fn is_assignment(w: &str) -> bool {
    // One pass over the bytes: a name, any `+`, then the first `=`. Every reader asks this of
    // nearly every word, and most words fail at their first byte.
    let mut bytes = w.bytes();
    if !matches!(bytes.next(), Some(b) if b == b'_' || b.is_ascii_alphabetic()) {
        return false;
    }
    let mut in_plus = false;
    for b in bytes {
        match b {
            b'=' => return true,
            b'+' => in_plus = true,
            b'_' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' if !in_plus => {}
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progs(s: &str) -> Vec<String> {
        parse(s)
            .map(|p| p.cmds.iter().map(|c| c.line()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn commands_at_any_depth() {
        assert_eq!(
            progs("set -eux; if [ -x a ]; then sudo -E apt-get install x > /dev/null 2>&1; fi"),
            ["set -eux", "[ -x a ]", "apt-get install x"]
        );
        assert_eq!(
            progs("A=1 env B=2 pip install -r r.txt && (cd x && make) | tee log"),
            ["pip install -r r.txt", "cd x", "make", "tee log"]
        );
        assert_eq!(
            progs("for d in a b; do rm -rf \"$d\"; done"),
            ["rm -rf \"$d\""]
        );
        // `case`: the tested word and the patterns are not commands; the branches are nested.
        assert_eq!(
            progs(
                "dpkgArch=\"$(dpkg --print-architecture)\"; case \"$dpkgArch\" in \
                 amd64|arm64) apt-get update; apt-get install x ;; (i386) echo no;; \
                 *) exit 1 ;; esac && rm -rf /tmp/x"
            ),
            [
                "apt-get update",
                "apt-get install x",
                "echo no",
                "exit 1",
                "rm -rf /tmp/x"
            ]
        );
        let s = parse("case $a in x) case $b in y) echo in;; esac;; *) echo out; esac; echo end")
            .unwrap_or_else(|| panic!("nested case"));
        let depths: Vec<usize> = s.cmds.iter().map(|c| c.depth).collect();
        assert_eq!(depths, [2, 1, 0]);
        assert_eq!(s.top_ops, [";"]);
        assert!(parse("if true; then case $a in x) echo y;; esac; fi").is_some());
        assert!(parse("case $a in x) echo y;;").is_none(), "no esac");
        // Function definitions: the body is nested; the name is no command.
        let s = parse("_up() { dpkg-scanpackages . > P; apt-get update; }; _up; apt-get install x")
            .unwrap_or_else(|| panic!("function"));
        let lines: Vec<(String, usize)> = s.cmds.iter().map(|c| (c.line(), c.depth)).collect();
        assert_eq!(
            lines,
            [
                ("dpkg-scanpackages .".to_string(), 1),
                ("apt-get update".to_string(), 1),
                ("_up".to_string(), 0),
                ("apt-get install x".to_string(), 0)
            ]
        );
        assert!(parse("f(){ echo a; }").is_some());
        assert!(parse("a=(x y)").is_none(), "arrays are not modelled");
        assert!(parse("f(x) { echo; }").is_none());
        assert!(parse("function f { echo; }").is_none());
        assert!(
            parse("echo a;; echo b").is_none(),
            "terminator outside case"
        );
        assert!(parse("case $a x) echo y;; esac").is_none(), "no `in`");
        assert!(parse("case $a in x > y) echo;; esac").is_none());
        assert!(parse("cat <<EOF").is_none());
        assert!(parse("echo hi # c").is_none());
    }
}
