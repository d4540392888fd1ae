//! What a Dockerfile means beyond its syntax: stages, their bases, their shell.

use crate::syntax::{Dockerfile, Form, Keyword};

/// The shell that runs shell-form RUN instructions of a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageShell {
    /// `/bin/sh -c` (Linux default).
    Posix,
    /// A `SHELL` instruction chose another POSIX-compatible shell (bash, ash, …).
    PosixLike(Vec<String>),
    /// PowerShell, cmd.exe, or anything whose `&&` and quoting rules we do not model.
    Other,
}

impl StageShell {
    pub fn is_posix(&self) -> bool {
        !matches!(self, StageShell::Other)
    }
}

#[derive(Debug, Clone)]
pub struct Stage {
    /// Index of the FROM instruction.
    pub from: usize,
    /// Index one past the stage's last instruction.
    pub end: usize,
    /// The image named by FROM (`node:18`, `$BASE`, or another stage's name).
    pub base: String,
    pub alias: Option<String>,
    /// Index of the stage this one is built on, when FROM names an earlier stage.
    pub parent: Option<usize>,
    pub shell: StageShell,
    pub windows: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub stages: Vec<Stage>,
    /// Instructions before the first FROM (global ARGs).
    pub preamble_end: usize,
}

impl Analysis {
    pub fn new(doc: &Dockerfile) -> Analysis {
        let mut stages: Vec<Stage> = Vec::new();
        let escape_windows = doc.escape == '`';
        let mut preamble_end = doc.instructions.len();
        for (i, ins) in doc.instructions.iter().enumerate() {
            match ins.kind() {
                Keyword::From => {
                    if stages.is_empty() {
                        preamble_end = i;
                    }
                    if let Some(last) = stages.last_mut() {
                        last.end = i;
                    }
                    let words: Vec<&str> = ins.command.args.split_whitespace().collect();
                    let base = words.first().copied().unwrap_or("").to_string();
                    let alias = match words.as_slice() {
                        [_, as_kw, name, ..] if as_kw.eq_ignore_ascii_case("as") => {
                            Some(name.to_ascii_lowercase())
                        }
                        _ => None,
                    };
                    let parent = stages.iter().position(|s| {
                        s.alias.as_deref() == Some(base.to_ascii_lowercase().as_str())
                    });
                    let windows = escape_windows
                        || is_windows_image(&base)
                        || parent.map(|p| stages[p].windows).unwrap_or(false);
                    let shell = match parent {
                        Some(p) => stages[p].shell.clone(),
                        None if windows => StageShell::Other,
                        None => StageShell::Posix,
                    };
                    stages.push(Stage {
                        from: i,
                        end: doc.instructions.len(),
                        base,
                        alias,
                        parent,
                        shell,
                        windows,
                    });
                }
                Keyword::Shell => {
                    if let Some(last) = stages.last_mut() {
                        last.shell = match &ins.command.form {
                            Form::Exec(argv) if is_posix_shell(argv) => {
                                StageShell::PosixLike(argv.clone())
                            }
                            _ => StageShell::Other,
                        };
                    }
                }
                _ => {}
            }
        }
        Analysis {
            stages,
            preamble_end,
        }
    }

    /// The stage an instruction belongs to.
    pub fn stage_of(&self, index: usize) -> Option<&Stage> {
        self.stages
            .iter()
            .find(|s| s.from <= index && index < s.end)
    }
}

fn is_windows_image(image: &str) -> bool {
    let l = image.to_ascii_lowercase();
    [
        "windows",
        "servercore",
        "nanoserver",
        "ltsc20",
        "powershell",
        "mcr.microsoft.com/dotnet/framework",
    ]
    .iter()
    .any(|k| l.contains(k))
}

/// `["/bin/bash", "-o", "pipefail", "-c"]` and the like: a POSIX shell taking the command after `-c`.
fn is_posix_shell(argv: &[String]) -> bool {
    let Some(first) = argv.first() else {
        return false;
    };
    let name = first.rsplit('/').next().unwrap_or(first);
    let posix = matches!(
        name,
        "sh" | "bash" | "dash" | "ash" | "ksh" | "mksh" | "zsh" | "busybox"
    );
    let ends_with_c = argv
        .last()
        .map(|a| a.starts_with('-') && a.ends_with('c'))
        .unwrap_or(false);
    posix
        && ends_with_c
        && !argv.iter().any(|a| {
            a == "-e"
                || (a.starts_with('-') && !a.starts_with("--") && a.contains('e') && a.len() <= 4)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_and_shells() {
        let d = Dockerfile::parse(
            "FROM golang AS build\nRUN go build\nFROM build AS t\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nFROM mcr.microsoft.com/windows/servercore\nRUN dir\n",
        )
        .unwrap();
        let a = Analysis::new(&d);
        assert_eq!(a.stages.len(), 3);
        assert_eq!(a.stages[1].parent, Some(0));
        assert!(matches!(a.stages[1].shell, StageShell::PosixLike(_)));
        assert_eq!(a.stages[2].shell, StageShell::Other);
        assert_eq!(a.stage_of(1).map(|s| s.from), Some(0));
    }
}
