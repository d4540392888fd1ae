//! What a Dockerfile means beyond its syntax: stages, their bases, their shell, which of them ship.

use crate::syntax::{lex, Dockerfile, Form, Keyword};

/// The shell that runs shell-form RUN instructions of a stage, as the rules have classed it so far.
/// Derived from [`Shell`] (see [`Stage::shell_program`]) by [`StageShell::of`].
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

    /// The class of a stage's shell: `explicit` when a SHELL instruction (the stage's or an
    /// ancestor's) chose it rather than the image's default.
    pub fn of(shell: &Shell, explicit: bool) -> StageShell {
        match shell {
            Shell::Posix { argv, .. } | Shell::Unknown(argv) if explicit => {
                if is_posix_shell(argv) {
                    StageShell::PosixLike(argv.clone())
                } else {
                    StageShell::Other
                }
            }
            Shell::Posix { .. } => StageShell::Posix,
            Shell::Cmd | Shell::PowerShell { .. } | Shell::Unknown(_) => StageShell::Other,
        }
    }
}

/// The program a stage's shell-form RUN, CMD and ENTRYPOINT text is handed to: the image's default
/// (`/bin/sh -c` on Linux, `cmd /S /C` on Windows) or the last `SHELL` instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shell {
    /// A POSIX shell taking the command after `-c`, with the options its argv sets.
    Posix {
        argv: Vec<String>,
        options: ShellOptions,
    },
    /// cmd.exe.
    Cmd,
    /// Windows PowerShell or PowerShell Core.
    PowerShell {
        /// The argv sets `$ErrorActionPreference = 'Stop'`: a failing cmdlet stops the command
        /// (native programs' exit codes still do not).
        error_action_stop: bool,
    },
    /// Anything else: another program, a POSIX shell without `-c`, operands dfopt cannot place, or
    /// a SHELL not in JSON form (empty argv; Docker rejects it).
    Unknown(Vec<String>),
}

/// Which POSIX shell runs the text: their extensions differ (`[[`, arrays, `pipefail` in old dash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PosixProgram {
    /// `sh`: dash on Debian and Ubuntu, busybox ash on Alpine; only POSIX is certain.
    Sh,
    Dash,
    Bash,
    /// `ash`, or busybox's `sh`/`ash` applet.
    Ash,
    /// `ksh` or `mksh`.
    Ksh,
    Zsh,
}

/// The `set` options a POSIX shell's argv turns on (`-e`, `-o pipefail`, …) and where `-c` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShellOptions {
    pub program: PosixProgram,
    /// `-e` / `-o errexit`: a failing simple command ends the script.
    pub errexit: bool,
    /// `-o pipefail`: a pipeline fails when any part fails.
    pub pipefail: bool,
    /// `-u` / `-o nounset`: expanding an unset variable is an error.
    pub nounset: bool,
    /// `-x` / `-o xtrace`: commands are echoed to stderr.
    pub xtrace: bool,
    /// `-l` / `--login`: profile files run first (they may change PATH or the environment).
    pub login: bool,
    /// Index in argv of the argument carrying `c` (`-c`, `-ec`, …).
    pub command_flag: usize,
}

impl Shell {
    /// The image default: `/bin/sh -c` on Linux, `cmd /S /C` on Windows.
    pub fn default_for(windows: bool) -> Shell {
        if windows {
            return Shell::Cmd;
        }
        // Read once: every stage without a SHELL of its own starts from it.
        static POSIX: std::sync::OnceLock<Shell> = std::sync::OnceLock::new();
        POSIX
            .get_or_init(|| {
                let argv = vec!["/bin/sh".to_string(), "-c".to_string()];
                match parse_posix(&argv) {
                    Some(options) => Shell::Posix { argv, options },
                    None => Shell::Unknown(argv),
                }
            })
            .clone()
    }

    /// Reads a `SHELL` instruction's JSON argv.
    pub fn from_argv(argv: &[String]) -> Shell {
        let Some(first) = argv.first() else {
            return Shell::Unknown(Vec::new());
        };
        let program = program_name(first);
        match program.as_str() {
            "cmd" => Shell::Cmd,
            "powershell" | "pwsh" => Shell::PowerShell {
                error_action_stop: argv.iter().any(|a| sets_error_action_stop(a)),
            },
            _ => match parse_posix(argv) {
                Some(options) => Shell::Posix {
                    argv: argv.to_vec(),
                    options,
                },
                None => Shell::Unknown(argv.to_vec()),
            },
        }
    }

    /// The options of a POSIX shell; `None` for any other.
    pub fn posix_options(&self) -> Option<&ShellOptions> {
        match self {
            Shell::Posix { options, .. } => Some(options),
            _ => None,
        }
    }
}

/// `C:\Windows\System32\cmd.exe` → `cmd`, `/bin/bash` → `bash` (lower-cased, `.exe` dropped).
fn program_name(path: &str) -> String {
    let base = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let lower = base.to_ascii_lowercase();
    match lower.strip_suffix(".exe") {
        Some(stem) => stem.to_string(),
        None => lower,
    }
}

/// Whether a PowerShell argument sets `$ErrorActionPreference` to `Stop` (any case, any quotes).
fn sets_error_action_stop(arg: &str) -> bool {
    let lower = arg.to_ascii_lowercase();
    lower
        .match_indices("$erroractionpreference")
        .any(|(i, name)| {
            let rest = lower[i + name.len()..].trim_start();
            rest.strip_prefix('=')
                .map(|v| v.trim_start().trim_start_matches(['\'', '"']))
                .map(|v| v.starts_with("stop"))
                .unwrap_or(false)
        })
}

/// The options of a POSIX shell's argv, `None` when it is not one taking its command after `-c`.
/// Options are read the way `sh` reads them: bundles of letters after `-` (on) or `+` (off), `o`
/// taking the next argument as an option name, long options (`--login`); the first operand ends
/// them, and the argv must end there (Docker appends the command text after it).
fn parse_posix(argv: &[String]) -> Option<ShellOptions> {
    let first = argv.first()?;
    let mut rest = 1;
    let program = match program_name(first).as_str() {
        "sh" => PosixProgram::Sh,
        "dash" => PosixProgram::Dash,
        "bash" => PosixProgram::Bash,
        "ash" => PosixProgram::Ash,
        "ksh" | "mksh" => PosixProgram::Ksh,
        "zsh" => PosixProgram::Zsh,
        "busybox" => {
            // `busybox sh -c`: the applet comes first.
            match argv.get(1).map(|a| program_name(a)).as_deref() {
                Some("sh" | "ash") => {
                    rest = 2;
                    PosixProgram::Ash
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    let mut options = ShellOptions {
        program,
        errexit: false,
        pipefail: false,
        nounset: false,
        xtrace: false,
        login: false,
        command_flag: 0,
    };
    let mut command_flag = None;
    let mut i = rest;
    while let Some(arg) = argv.get(i) {
        let at = i;
        i += 1;
        if arg == "--login" {
            options.login = true;
            continue;
        }
        if arg.starts_with("--") {
            // `--norc`, `--noprofile`, `--posix`: nothing the options here describe. Long options
            // that take a value (`--rcfile FILE`) leave an operand behind and end in `None` below.
            continue;
        }
        let on = match arg.chars().next() {
            Some('-') => true,
            Some('+') => false,
            // An operand: Docker's command text would become `$0`, not the script.
            _ => return None,
        };
        for letter in arg.chars().skip(1) {
            match letter {
                'e' => options.errexit = on,
                'u' => options.nounset = on,
                'x' => options.xtrace = on,
                'l' if on => options.login = true,
                'c' if on => command_flag = Some(at),
                'o' | 'O' => {
                    // `-o NAME` (set option) or bash's `-O NAME` (shopt): the name is the next
                    // argument.
                    let name = argv.get(i)?;
                    i += 1;
                    if letter == 'o' {
                        match name.as_str() {
                            "errexit" => options.errexit = on,
                            "pipefail" => options.pipefail = on,
                            "nounset" => options.nounset = on,
                            "xtrace" => options.xtrace = on,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }
    options.command_flag = command_flag?;
    Some(options)
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
    /// The class of [`Stage::shell_program`] the rules have used so far.
    pub shell: StageShell,
    /// The program shell-form RUN, CMD and ENTRYPOINT text is handed to, with its options.
    pub shell_program: Shell,
    /// The SHELL instruction in effect (this stage's or an ancestor's); `None` for the image's
    /// default shell.
    pub shell_instruction: Option<usize>,
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
                    let (shell_program, shell_instruction) = match parent {
                        Some(p) => (stages[p].shell_program.clone(), stages[p].shell_instruction),
                        None => (Shell::default_for(windows), None),
                    };
                    stages.push(Stage {
                        from: i,
                        end: doc.instructions.len(),
                        base,
                        alias,
                        parent,
                        shell: StageShell::of(&shell_program, shell_instruction.is_some()),
                        shell_program,
                        shell_instruction,
                        windows,
                    });
                }
                Keyword::Shell => {
                    if let Some(last) = stages.last_mut() {
                        last.shell_program = match &ins.command.form {
                            Form::Exec(argv) => Shell::from_argv(argv),
                            _ => Shell::Unknown(Vec::new()),
                        };
                        last.shell_instruction = Some(i);
                        last.shell = StageShell::of(&last.shell_program, true);
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

    /// The stage a `COPY --from=` value names: a stage name (any case) or a stage's index. `None`
    /// when it names an image. BuildKit looks names up among all stages, not only earlier ones.
    pub fn stage_named(&self, reference: &str) -> Option<usize> {
        if let Ok(n) = reference.parse::<usize>() {
            return (n < self.stages.len()).then_some(n);
        }
        let lower = reference.to_ascii_lowercase();
        self.stages
            .iter()
            .position(|s| s.alias.as_deref() == Some(lower.as_str()))
    }

    /// Which stages ship (indexed like `stages`): their files end up in the image the build
    /// produces. The final stage ships (the build's default target), so do the stages a shipping
    /// stage is built `FROM`, and the stages copied wholesale into a shipping stage
    /// (`COPY --from=<stage> / /`, or any other copy of its whole root). A stage only partly
    /// copied does not ship: the copied files do, as part of the stage they land in.
    pub fn shipping(&self, doc: &Dockerfile) -> Vec<bool> {
        let mut ships = vec![false; self.stages.len()];
        let mut pending: Vec<usize> = self.stages.len().checked_sub(1).into_iter().collect();
        while let Some(i) = pending.pop() {
            let Some(stage) = self.stages.get(i) else {
                continue;
            };
            if std::mem::replace(&mut ships[i], true) {
                continue;
            }
            pending.extend(stage.parent);
            for ins in doc
                .instructions
                .get(stage.from + 1..stage.end)
                .unwrap_or(&[])
            {
                if ins.kind() != Keyword::Copy || !ins.heredocs.is_empty() {
                    continue;
                }
                let Some(from) = ins.command.flag("from").and_then(|f| f.value()) else {
                    continue;
                };
                let Some(source_stage) = self.stage_named(from) else {
                    continue;
                };
                let words = match &ins.command.form {
                    Form::Exec(argv) => argv.clone(),
                    _ => lex::parse_words(&ins.command.args, doc.escape),
                };
                let sources = words.split_last().map(|(_, s)| s).unwrap_or(&[]);
                if sources.iter().any(|s| is_whole_root(s)) {
                    pending.push(source_stage);
                }
            }
        }
        ships
    }
}

/// `/`, `.`, `/.`, `./`, `/*`: a COPY source that is a stage's whole root.
fn is_whole_root(source: &str) -> bool {
    let parts: Vec<&str> = source
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    matches!(parts.as_slice(), [] | ["*"])
}

fn is_windows_image(image: &str) -> bool {
    /// Any of the names Windows images carry: one search instead of one per name.
    static NAMES: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    const KEYS: [&str; 6] = [
        "windows",
        "servercore",
        "nanoserver",
        "ltsc20",
        "powershell",
        "mcr.microsoft.com/dotnet/framework",
    ];
    let l = image.to_ascii_lowercase();
    let names = NAMES.get_or_init(|| {
        let alternatives: Vec<String> = KEYS.iter().map(|k| regex::escape(k)).collect();
        regex::Regex::new(&alternatives.join("|")).ok()
    });
    match names {
        Some(any) => any.is_match(&l),
        None => KEYS.iter().any(|k| l.contains(k)),
    }
}

/// `["/bin/bash", "-o", "pipefail", "-c"]` and the like: a POSIX shell taking the command after `-c`.
/// The test [`StageShell::PosixLike`] has always used (a short option word with an `e` counts as
/// errexit and makes the shell `Other`): kept as it is so that no rule's output changes.
fn is_posix_shell(argv: &[String]) -> bool {
    let Some(first) = argv.first() else {
        return false;
    };
    let name = super::script::basename(first);
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

    fn shell_of(argv: &[&str]) -> Shell {
        let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
        Shell::from_argv(&argv)
    }

    fn options_of(argv: &[&str]) -> ShellOptions {
        match shell_of(argv) {
            Shell::Posix { options, .. } => options,
            other => panic!("{argv:?} read as {other:?}"),
        }
    }

    #[test]
    fn shell_options_from_bundles_and_names() {
        let o = options_of(&["/bin/bash", "-euxo", "pipefail", "-c"]);
        assert_eq!(o.program, PosixProgram::Bash);
        assert!(o.errexit && o.nounset && o.xtrace && o.pipefail && !o.login);
        assert_eq!(o.command_flag, 3);

        let o = options_of(&["/bin/bash", "-o", "errexit", "-c"]);
        assert!(o.errexit && !o.pipefail && !o.nounset && !o.xtrace);

        let o = options_of(&["/bin/sh", "-c"]);
        assert_eq!(o.program, PosixProgram::Sh);
        assert!(!o.errexit && !o.pipefail && !o.nounset && !o.xtrace && !o.login);
        assert_eq!(o.command_flag, 1);

        let o = options_of(&["/bin/bash", "--login", "-c"]);
        assert!(o.login && !o.errexit);
        assert!(options_of(&["bash", "-lc"]).login);

        let o = options_of(&["/bin/ash", "-e", "-c"]);
        assert_eq!(o.program, PosixProgram::Ash);
        assert!(o.errexit);

        let o = options_of(&["/bin/bash", "-o", "pipefail", "-ec"]);
        assert!(o.errexit && o.pipefail);
        assert_eq!(o.command_flag, 3);
    }

    #[test]
    fn shell_options_turned_off_and_programs() {
        let o = options_of(&["bash", "-e", "+e", "-o", "pipefail", "+o", "pipefail", "-c"]);
        assert!(!o.errexit && !o.pipefail);
        let o = options_of(&["/bin/zsh", "-u", "-c"]);
        assert_eq!(o.program, PosixProgram::Zsh);
        assert!(o.nounset);
        let o = options_of(&["/bin/busybox", "sh", "-c"]);
        assert_eq!(o.program, PosixProgram::Ash);
        assert_eq!(o.command_flag, 2);
        assert_eq!(options_of(&["dash", "-c"]).program, PosixProgram::Dash);
        assert_eq!(options_of(&["/bin/mksh", "-c"]).program, PosixProgram::Ksh);
        // bash's `-O NAME` (shopt) takes the next word, which is no operand.
        let o = options_of(&["bash", "-O", "extglob", "-c"]);
        assert!(!o.errexit);
    }

    #[test]
    fn shells_that_are_not_posix_with_c() {
        assert_eq!(shell_of(&["cmd", "/S", "/C"]), Shell::Cmd);
        assert_eq!(
            shell_of(&["C:\\Windows\\System32\\CMD.EXE", "/S", "/C"]),
            Shell::Cmd
        );
        assert_eq!(
            shell_of(&["powershell", "-Command", "$ErrorActionPreference = 'Stop';"]),
            Shell::PowerShell {
                error_action_stop: true
            }
        );
        assert_eq!(
            shell_of(&["pwsh", "-Command", "$ErrorActionPreference='Continue';"]),
            Shell::PowerShell {
                error_action_stop: false
            }
        );
        assert_eq!(
            shell_of(&["powershell.exe", "-NoLogo", "-Command"]),
            Shell::PowerShell {
                error_action_stop: false
            }
        );
        // No `-c`: Docker's text would be read as a script file name.
        assert!(matches!(shell_of(&["/bin/bash"]), Shell::Unknown(_)));
        // An operand before the text: the text would become `$0`.
        assert!(matches!(
            shell_of(&["/bin/sh", "-c", "set -e; eval"]),
            Shell::Unknown(_)
        ));
        assert!(matches!(
            shell_of(&["/usr/bin/python3", "-c"]),
            Shell::Unknown(_)
        ));
        assert!(matches!(shell_of(&["busybox", "wget"]), Shell::Unknown(_)));
        assert!(matches!(shell_of(&["bash", "-o"]), Shell::Unknown(_)));
        assert_eq!(shell_of(&[]), Shell::Unknown(Vec::new()));
    }

    #[test]
    fn stage_shells_default_inherit_and_keep_the_old_class() {
        let d = Dockerfile::parse(
            "FROM alpine AS a\nRUN x\nFROM a AS b\nSHELL [\"/bin/ash\", \"-eo\", \"pipefail\", \"-c\"]\nFROM b\nFROM debian\nSHELL [\"/bin/sh\", \"-c\"]\nFROM mcr.microsoft.com/windows/servercore\nSHELL [\"powershell\", \"-Command\"]\nFROM alpine\nSHELL /bin/sh -c\n",
        )
        .unwrap();
        let a = Analysis::new(&d);
        let st = &a.stages;
        assert_eq!(st[0].shell_instruction, None);
        assert_eq!(st[0].shell, StageShell::Posix);
        assert!(st[0].shell_program.posix_options().is_some());
        // `-eo` is errexit: the old class sets such shells apart.
        assert_eq!(st[1].shell, StageShell::Other);
        assert!(
            st[1]
                .shell_program
                .posix_options()
                .map(|o| o.errexit && o.pipefail)
                == Some(true)
        );
        assert_eq!(st[2].shell_program, st[1].shell_program);
        assert_eq!(st[2].shell_instruction, Some(3));
        // An explicit `/bin/sh -c` is `PosixLike`, as before.
        assert!(matches!(st[3].shell, StageShell::PosixLike(_)));
        assert_eq!(st[4].shell, StageShell::Other);
        assert_eq!(
            st[4].shell_program,
            Shell::PowerShell {
                error_action_stop: false
            }
        );
        // A SHELL not in JSON form.
        assert_eq!(st[5].shell_program, Shell::Unknown(Vec::new()));
        assert_eq!(st[5].shell, StageShell::Other);
        let w = Analysis::new(
            &Dockerfile::parse("FROM mcr.microsoft.com/windows/nanoserver\n").unwrap(),
        );
        assert_eq!(w.stages[0].shell_program, Shell::Cmd);
    }

    fn shipping_of(text: &str) -> Vec<bool> {
        let d = Dockerfile::parse(text).unwrap();
        Analysis::new(&d).shipping(&d)
    }

    #[test]
    fn the_final_stage_and_its_from_ancestors_ship() {
        assert_eq!(shipping_of("FROM alpine\nRUN x\n"), vec![true]);
        assert_eq!(
            shipping_of("FROM golang AS build\nRUN go build\nFROM alpine\nCOPY --from=build /out/app /app\n"),
            vec![false, true]
        );
        assert_eq!(
            shipping_of("FROM alpine AS base\nFROM golang AS build\nFROM BASE AS final\nRUN x\n"),
            vec![true, false, true]
        );
    }

    #[test]
    fn stages_copied_wholesale_ship() {
        // By name (any case), with their own ancestors.
        assert_eq!(
            shipping_of("FROM debian AS root\nFROM root AS rootfs\nRUN x\nFROM scratch\nCOPY --from=RootFS / /\n"),
            vec![true, true, true]
        );
        // By index, exec form, `/.` and `/*` sources, any destination.
        assert_eq!(
            shipping_of("FROM a\nFROM b\nFROM c\nFROM d\nFROM scratch\nCOPY --from=0 [\"/\", \"/\"]\nCOPY --from=1 /. /x\nCOPY --from=2 /* /\n"),
            vec![true, true, true, false, true]
        );
        // Through a chain of wholesale copies.
        assert_eq!(
            shipping_of("FROM a AS one\nFROM b AS two\nCOPY --from=one / /\nFROM scratch\nCOPY --from=two ./ /\n"),
            vec![true, true, true]
        );
    }

    #[test]
    fn partial_copies_images_and_unknown_stages_do_not_ship() {
        assert_eq!(
            shipping_of("FROM a AS build\nFROM scratch\nCOPY --from=build /app /\nCOPY --from=nginx:1 / /\nCOPY --from=7 / /\nCOPY --from=$S / /\n"),
            vec![false, true]
        );
        // ONBUILD COPY runs in the images built on this one, not here.
        assert_eq!(
            shipping_of("FROM a AS build\nFROM scratch\nONBUILD COPY --from=build / /\n"),
            vec![false, true]
        );
        assert!(shipping_of("ARG X=1\n").is_empty());
    }
}
