//! The java planner: the jar `java -jar` runs is what ships.

use crate::config::FinalImage;
use crate::model::images::Choice;
use crate::model::stage_facts::{resolve, StageFacts};
use crate::model::start::{java_jar, java_start, StartOut};

/// The jar to copy (absolute) and how the runtime stage starts it.
pub(super) fn plan_jar(
    argv: &[String],
    facts: &StageFacts,
    choice: &Choice,
    build_alpine: bool,
    notes: &mut Vec<String>,
) -> Result<(String, StartOut), String> {
    let (jar, opts, args) = java_jar(argv)?;
    let cwd = facts.final_workdir.clone().unwrap_or_else(|| "/".into());
    let path = resolve(&cwd, &jar).ok_or("the jar path uses variables")?;
    if choice.family == FinalImage::Alpine && !build_alpine {
        notes.push(
            "a jar with native libraries (JNI) built for glibc may not load on alpine".into(),
        );
    }
    let start = if choice.interpreter_entrypoint {
        java_start(jar, opts, args)
    } else {
        StartOut::Verbatim
    };
    notes.push("only the jar is copied: files it reads beside it must be copied by hand".into());
    Ok((path, start))
}
