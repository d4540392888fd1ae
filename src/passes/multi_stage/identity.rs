//! What the runtime stage keeps of the original stage's identity that needs working out: a named
//! USER as the numeric `uid:gid` the build gave it (a distroless or freshly pulled image has no
//! passwd entry for the name, and files and volumes belong to numbers, not names).

use crate::model::images::Runtime;
use crate::model::runtime_data::RuntimeData;
use crate::model::stage_facts::{RunCmd, StageFacts};
use crate::model::start::{basename, healthcheck_tools};
use crate::syntax::{Dockerfile, Instruction};

/// Tools the HEALTHCHECK runs (`curl -f …`) that the build installed with the OS package manager:
/// an image with a package manager installs them again, so the health check still runs.
pub(super) fn healthcheck_packages(
    doc: &Dockerfile,
    facts: &StageFacts,
    data: &RuntimeData,
) -> Vec<String> {
    let Some(ins) = facts.healthcheck.and_then(|i| doc.instructions.get(i)) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for t in healthcheck_tools(ins) {
        let shell = matches!(t.as_str(), "sh" | "bash");
        if data.shell_tools.contains(&t)
            && !shell
            && facts.os_packages.contains(&t)
            && !out.contains(&t)
        {
            out.push(t);
        }
    }
    out
}

/// Why the runtime stage installs `packages`: the app may use them, the HEALTHCHECK runs them.
pub(super) fn why_installed(packages: &[String], for_health: &[String]) -> String {
    let app: Vec<&String> = packages.iter().filter(|p| !for_health.contains(p)).collect();
    let mut why = Vec::new();
    if !app.is_empty() {
        why.push(format!(
            "the app may use {} at run time",
            if app.len() == 1 { "it" } else { "them" }
        ));
    }
    if !for_health.is_empty() {
        why.push(format!("the HEALTHCHECK runs {}", for_health.join(", ")));
    }
    why.join("; ")
}

/// `packages` followed by those of `more` it does not have.
pub(super) fn joined(mut packages: Vec<String>, more: &[String]) -> Vec<String> {
    for p in more {
        if !packages.contains(p) {
            packages.push(p.clone());
        }
    }
    packages
}

/// The name the split gives the build stage: `build`, or `<name>-build` when the stage was named
/// (the name stays with the runtime stage, which is what `--target <name>` should build).
pub(super) fn build_stage_name(doc: &Dockerfile, from: &Instruction, named: bool) -> String {
    match written_name(doc, from).filter(|_| named) {
        Some(name) => format!("{name}-build"),
        None => "build".to_string(),
    }
}

/// ` named <name>`, for the finding, when the runtime stage keeps the stage's name.
pub(super) fn keeps_name(doc: &Dockerfile, from: &Instruction, named: bool) -> String {
    written_name(doc, from)
        .filter(|_| named)
        .map(|n| format!(" named `{n}` as before (`--target {n}` builds the runtime image)"))
        .unwrap_or_default()
}

/// The stage name as the FROM writes it (its last word).
fn written_name<'a>(doc: &'a Dockerfile, from: &Instruction) -> Option<&'a str> {
    doc.text(from.command.args_span).split_whitespace().last()
}

/// A user or group id, with where dfopt read it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Id {
    number: u32,
    source: String,
}

/// The numeric `uid:gid` of a USER written with a name (`nodeuser`, `app:app`, `1001:app`), and
/// how dfopt knows it; an error says why it cannot be told.
pub(super) fn numeric_user(
    spec: &str,
    facts: &StageFacts,
    rt: Option<Runtime>,
) -> Result<(String, String), String> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if spec.contains('$') {
        return Err(format!(
            "USER {spec} is set from a variable, so dfopt cannot tell its numeric uid:gid, which the runtime image needs"
        ));
    }
    let accounts = Accounts::read(facts);
    let uid = match user.parse::<u32>() {
        Ok(n) => Id {
            number: n,
            source: String::new(),
        },
        Err(_) => accounts.uid(user, rt)?,
    };
    let gid = match group {
        Some(g) => match g.parse::<u32>() {
            Ok(n) => Id {
                number: n,
                source: String::new(),
            },
            Err(_) => accounts.gid_of_group(g, rt)?,
        },
        None => accounts.primary_gid(user, &uid, rt)?,
    };
    let sources: Vec<String> = [uid.source, gid.source]
        .into_iter()
        .filter(|s| !s.is_empty())
        .fold(Vec::new(), |mut v, s| {
            if !v.contains(&s) {
                v.push(s);
            }
            v
        });
    Ok((
        format!("{}:{}", uid.number, gid.number),
        sources.join(", "),
    ))
}

/// A user the build creates.
#[derive(Debug, Default)]
struct NewUser {
    name: String,
    uid: Option<u32>,
    /// The primary group as written (`-g`, `-G` for busybox, `--gid`, `--ingroup`).
    group: Option<String>,
    /// Whether the tool gives the user a group of its own numbered like the uid when free
    /// (`useradd` without `-g`/`-N`, busybox `adduser` without `-G`).
    own_group_like_uid: bool,
    command: String,
}

/// A group the build creates.
#[derive(Debug)]
struct NewGroup {
    name: String,
    gid: Option<u32>,
    command: String,
}

/// The users and groups the build's RUN commands create.
#[derive(Debug, Default)]
struct Accounts {
    users: Vec<NewUser>,
    groups: Vec<NewGroup>,
}

/// The value of an option: `-u 1001`, `-u1001`, `--uid 1001`, `--uid=1001`, also inside a
/// cluster of short flags (`-Su 1001`). `short_with_value` lists the tool's short options that take
/// a value, so a cluster is read as getopt does.
fn option_value(words: &[String], short: char, long: &str, short_with_value: &str) -> Option<String> {
    let mut i = 0;
    let mut found = None;
    while i < words.len() {
        let w = &words[i];
        if let Some(rest) = w.strip_prefix("--") {
            if rest.is_empty() {
                break;
            }
            if let Some(v) = rest.strip_prefix(long).and_then(|r| r.strip_prefix('=')) {
                found = Some(v.to_string());
            } else if rest == long {
                found = words.get(i + 1).cloned();
                i += 1;
            }
        } else if let Some(cluster) = w.strip_prefix('-').filter(|c| !c.is_empty()) {
            for (at, c) in cluster.char_indices() {
                if short_with_value.contains(c) {
                    let attached = &cluster[at + c.len_utf8()..];
                    let value = if attached.is_empty() {
                        i += 1;
                        words.get(i).cloned()
                    } else {
                        Some(attached.to_string())
                    };
                    if c == short {
                        found = value;
                    }
                    break;
                }
            }
        }
        i += 1;
    }
    found
}

/// Whether a flag is present (`-N`, `--no-user-group`, or inside a cluster of short flags).
fn has_flag(words: &[String], short: Option<char>, long: &str, short_with_value: &str) -> bool {
    let mut skip = false;
    for w in words {
        if skip {
            skip = false;
            continue;
        }
        if w == &format!("--{long}") {
            return true;
        }
        if let (Some(s), Some(cluster)) = (short, w.strip_prefix('-')) {
            if cluster.starts_with('-') {
                continue;
            }
            for c in cluster.chars() {
                if c == s {
                    return true;
                }
                if short_with_value.contains(c) {
                    skip = cluster.ends_with(c);
                    break;
                }
            }
        }
    }
    false
}

/// The last word that is no option nor an option's value: the name a tool creates.
fn operand(words: &[String], short_with_value: &str, long_with_value: &[&str]) -> Option<String> {
    operands(words, short_with_value, long_with_value).pop()
}

/// The words after the tool that are no options nor options' values.
fn operands(words: &[String], short_with_value: &str, long_with_value: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let mut i = 1;
    while i < words.len() {
        let w = &words[i];
        if let Some(rest) = w.strip_prefix("--") {
            if !rest.contains('=') && long_with_value.contains(&rest) {
                i += 1;
            }
        } else if let Some(cluster) = w.strip_prefix('-').filter(|c| !c.is_empty()) {
            if let Some(c) = cluster.chars().find(|c| short_with_value.contains(*c)) {
                if cluster.ends_with(c) {
                    i += 1;
                }
            }
        } else {
            found.push(w.clone());
        }
        i += 1;
    }
    found
}

// The options of each tool that take a value.
const USERADD_SHORT: &str = "bcdefgGkKpsuRPZ";
const USERADD_LONG: &[&str] = &[
    "base-dir",
    "comment",
    "home-dir",
    "expiredate",
    "inactive",
    "gid",
    "groups",
    "skel",
    "key",
    "password",
    "shell",
    "uid",
    "root",
    "prefix",
    "selinux-user",
];
const BUSYBOX_ADDUSER_SHORT: &str = "hgsGuk";
const DEBIAN_ADDUSER_LONG: &[&str] = &[
    "home",
    "shell",
    "ingroup",
    "uid",
    "gid",
    "gecos",
    "comment",
    "firstuid",
    "lastuid",
    "firstgid",
    "lastgid",
    "conf",
    "add-extra-groups",
    "extrausers",
];
const GROUPADD_SHORT: &str = "gKpR";
const GROUPADD_LONG: &[&str] = &["gid", "key", "password", "root", "prefix", "users"];

fn number(v: Option<String>) -> Option<u32> {
    v.and_then(|v| v.parse().ok())
}

impl Accounts {
    fn read(facts: &StageFacts) -> Accounts {
        let mut a = Accounts::default();
        for r in &facts.runs {
            a.note(r);
        }
        a
    }

    fn note(&mut self, r: &RunCmd) {
        let w = &r.words;
        let Some(tool) = w.first().map(|t| basename(t)) else {
            return;
        };
        let command = w.join(" ");
        match tool {
            "useradd" => {
                let Some(name) = operand(w, USERADD_SHORT, USERADD_LONG) else {
                    return;
                };
                let group = option_value(w, 'g', "gid", USERADD_SHORT);
                let no_own = has_flag(w, Some('N'), "no-user-group", USERADD_SHORT);
                self.users.push(NewUser {
                    name,
                    uid: number(option_value(w, 'u', "uid", USERADD_SHORT)),
                    own_group_like_uid: group.is_none() && !no_own,
                    group,
                    command,
                });
            }
            "adduser" => {
                // Debian's adduser takes long options; busybox's (alpine) short ones.
                let debian = w.iter().any(|x| x.starts_with("--"));
                let Some(name) = (if debian {
                    operand(w, "", DEBIAN_ADDUSER_LONG)
                } else {
                    operand(w, BUSYBOX_ADDUSER_SHORT, &[])
                }) else {
                    return;
                };
                let (uid, group) = if debian {
                    (
                        number(option_value(w, '\0', "uid", "")),
                        option_value(w, '\0', "gid", "")
                            .or_else(|| option_value(w, '\0', "ingroup", "")),
                    )
                } else {
                    (
                        number(option_value(w, 'u', "uid", BUSYBOX_ADDUSER_SHORT)),
                        option_value(w, 'G', "ingroup", BUSYBOX_ADDUSER_SHORT),
                    )
                };
                // Debian's adduser picks the group's id from its own ranges; busybox numbers the
                // user's own group like the uid.
                self.users.push(NewUser {
                    name,
                    uid,
                    own_group_like_uid: !debian && group.is_none(),
                    group,
                    command,
                });
            }
            "groupadd" | "addgroup" => {
                let debian = tool == "addgroup" && w.iter().any(|x| x.starts_with("--"));
                let (short, long): (&str, &[&str]) = if tool == "groupadd" {
                    (GROUPADD_SHORT, GROUPADD_LONG)
                } else if debian {
                    ("", &["gid", "conf", "firstgid", "lastgid"])
                } else {
                    ("g", &[])
                };
                // `addgroup USER GROUP` adds a user to a group: it creates nothing.
                let names = operands(w, short, long);
                if tool == "addgroup" && names.len() > 1 {
                    return;
                }
                let Some(name) = names.last().cloned() else {
                    return;
                };
                self.groups.push(NewGroup {
                    name,
                    gid: number(option_value(w, 'g', "gid", short)),
                    command,
                });
            }
            _ => {}
        }
    }

    fn user(&self, name: &str) -> Option<&NewUser> {
        self.users.iter().rev().find(|u| u.name == name)
    }

    fn uid(&self, name: &str, rt: Option<Runtime>) -> Result<Id, String> {
        match self.user(name) {
            Some(NewUser {
                uid: Some(n),
                command,
                ..
            }) => Ok(Id {
                number: *n,
                source: format!("`{command}`"),
            }),
            Some(u) => Err(format!(
                "USER {name} is created by `{}` without a fixed uid: its number is the next free one in the build image's /etc/passwd, which dfopt does not guess, and the runtime image knows the user only by number (give it one: `useradd -u 1001 …`)",
                u.command
            )),
            None if name == "node" && rt == Some(Runtime::Node) => Ok(Id {
                number: 1000,
                source: "the node image's own `node` user".into(),
            }),
            None => Err(format!(
                "USER {name} is not created in the Dockerfile with a fixed uid, so dfopt cannot tell its number, and the runtime image knows the user only by number"
            )),
        }
    }

    fn gid_of_group(&self, name: &str, rt: Option<Runtime>) -> Result<Id, String> {
        if let Some(g) = self.groups.iter().rev().find(|g| g.name == name) {
            return match g.gid {
                Some(n) => Ok(Id {
                    number: n,
                    source: format!("`{}`", g.command),
                }),
                None => Err(format!(
                    "group {name} is created by `{}` without a fixed gid, which dfopt does not guess (give it one: `groupadd -g 1001 …`)",
                    g.command
                )),
            };
        }
        // A user's own group, created with it, is named like the user.
        if let Some(u) = self.user(name).filter(|u| u.own_group_like_uid) {
            let uid = self.uid(&u.name, rt)?;
            return Ok(uid);
        }
        if name == "node" && rt == Some(Runtime::Node) {
            return Ok(Id {
                number: 1000,
                source: "the node image's own `node` group".into(),
            });
        }
        Err(format!(
            "group {name} is not created in the Dockerfile with a fixed gid, so dfopt cannot tell its number"
        ))
    }

    fn primary_gid(&self, name: &str, uid: &Id, rt: Option<Runtime>) -> Result<Id, String> {
        let Some(u) = self.user(name) else {
            // A numeric USER without a group, or the image's own user.
            return match (name.parse::<u32>(), name, rt) {
                (Ok(_), _, _) => Ok(uid.clone()),
                (_, "node", Some(Runtime::Node)) => Ok(Id {
                    number: 1000,
                    source: uid.source.clone(),
                }),
                _ => Err(format!("dfopt cannot tell the group of USER {name}")),
            };
        };
        match &u.group {
            Some(g) => match g.parse::<u32>() {
                Ok(n) => Ok(Id {
                    number: n,
                    source: format!("`{}`", u.command),
                }),
                Err(_) => self.gid_of_group(g, rt),
            },
            // useradd and busybox adduser give the user's own group the uid's number when no
            // group has it (the build images have no group past 1000 but `node`'s).
            None if u.own_group_like_uid => Ok(uid.clone()),
            None => Err(format!(
                "USER {name} is created by `{}` without a fixed group id, which dfopt does not guess (add `--gid N`)",
                u.command
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::Dockerfile;

    fn user_of(text: &str) -> Result<(String, String), String> {
        let doc = Dockerfile::parse(text).map_err(|_| "parse".to_string())?;
        let facts = StageFacts::scan(&doc, 0, doc.instructions.len(), "/");
        let spec = facts.user.as_ref().map(|(_, u)| u.clone()).unwrap_or_default();
        numeric_user(&spec, &facts, Some(Runtime::Node)).map(|(ids, _)| (ids, spec))
    }

    #[test]
    fn named_users_get_their_numbers() {
        let ids = |t: &str| user_of(t).map(|(ids, _)| ids);
        assert_eq!(
            ids("FROM node:22\nRUN groupadd -g 1500 app && useradd -u 1001 -g app -m app\nUSER app\n"),
            Ok("1001:1500".into())
        );
        assert_eq!(
            ids("FROM node:22\nRUN useradd --uid=1001 -r nodeuser\nUSER nodeuser\n"),
            Ok("1001:1001".into())
        );
        assert_eq!(
            ids("FROM node:22-alpine\nRUN addgroup -S -g 2000 web && adduser -S -u 1001 -G web web\nUSER web:web\n"),
            Ok("1001:2000".into())
        );
        assert_eq!(
            ids("FROM node:22-alpine\nRUN adduser -D -u 1001 app\nUSER app\n"),
            Ok("1001:1001".into())
        );
        assert_eq!(ids("FROM node:22\nUSER node\n"), Ok("1000:1000".into()));
        assert_eq!(
            ids("FROM node:22\nRUN adduser --disabled-password --uid 1001 --gid 1001 app\nUSER app\n"),
            Ok("1001:1001".into())
        );
        assert_eq!(ids("FROM node:22\nUSER 1001:node\n"), Ok("1001:1000".into()));
    }

    #[test]
    fn unknown_numbers_are_refused() {
        let err = |t: &str| user_of(t).err().unwrap_or_default();
        assert!(err("FROM node:22\nRUN useradd -m app\nUSER app\n").contains("without a fixed uid"));
        assert!(err("FROM node:22\nUSER www\n").contains("not created in the Dockerfile"));
        assert!(err("FROM node:22\nRUN useradd -u 1001 -N app\nUSER app\n")
            .contains("without a fixed group id"));
        assert!(
            err("FROM node:22\nRUN adduser --system --uid 1001 --group app\nUSER app\n")
                .contains("without a fixed group id")
        );
        assert!(err("FROM node:22\nARG U=app\nUSER $U\n").contains("variable"));
    }
}
