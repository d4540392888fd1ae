//! A RUN step and the comparison views made with system calls instead of helper programs.
//!
//! `step.sh run` (with `timeout`, `unshare`, `mount` ×4, `chroot` and `env` around it) costs about
//! ten program starts per RUN, most of a generated case's time on a loaded machine. For the common
//! RUN (no `--mount`, a shell or program named by an absolute path) [`run_command`] does the same
//! work from a forked child of the test process:
//!
//! - the child ("keeper") unshares mount, PID and network namespaces, makes its mounts private,
//!   mounts the stage's overlay at the stage root and binds `/dev` into it (as `step.sh` does);
//! - it forks the step's process, PID 1 of the new PID namespace, which mounts a fresh `/proc`,
//!   chroots, creates the WORKDIR (`mkdir -p`), enters it, and execs the argv with exactly the
//!   given environment (as `chroot ROOT env -i -C WORKDIR NAME=VALUE... ARGV` does);
//! - the keeper waits for it and exits with its status; after `timeout` seconds SIGALRM ends the
//!   keeper, and PID 1, which asked for SIGKILL when its parent dies (`unshare --kill-child`), goes
//!   with it. When PID 1 ends, the kernel kills every process left in its namespace, so background
//!   jobs end with their RUN, as with `unshare --pid --fork`.
//!
//! Between `fork` and `exec`/`_exit` the children only make system calls on memory prepared before
//! the fork (no allocation, no locks), which is what a forked child of a threaded process may do.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// Exit status for a failure of the harness itself (as `step.sh`'s `infra`).
use super::INFRA_STATUS;

fn c_string(s: &str) -> Result<CString, String> {
    CString::new(s).map_err(|_| format!("NUL byte in {s:?}"))
}

fn c_path(p: &Path) -> Result<CString, String> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| format!("NUL byte in {}", p.display()))
}

/// A NULL-terminated array of pointers into `strings` (which must outlive it).
fn pointers(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// Everything the two children need, made before the fork.
struct Prepared {
    root: CString,
    overlay_options: CString,
    dev_source: CString,
    dev_target: CString,
    proc_target: CString,
    /// `/a`, `/a/b`, … for `mkdir -p WORKDIR`, then the WORKDIR itself to enter.
    workdir_prefixes: Vec<CString>,
    workdir: CString,
    /// Owns the strings the pointer arrays point into.
    _strings: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    /// `/bin/sh PROGRAM ARGS...`: execvp's fallback for a program without a `#!` line (ENOEXEC).
    sh_argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    timeout: libc::c_uint,
}

// The raw pointers point into `_strings`, owned by the same value and never changed.
unsafe impl Send for Prepared {}
unsafe impl Sync for Prepared {}

/// Whether [`run_command`] can run this RUN: no mounts of its own (`step.sh` sets those up) and a
/// program named by an absolute path (`env`'s `PATH` search is `step.sh`'s too).
pub fn can_run_directly(mount_options: &[String], argv: &[String]) -> bool {
    mount_options.is_empty() && argv.first().is_some_and(|p| p.starts_with('/'))
}

/// The command for one RUN of a stage: `lowers` below `upper` (with overlay `work` dir) mounted at
/// `root`, `argv` run in `workdir` with exactly `env` (`NAME=VALUE`), killed after `timeout` s.
#[allow(clippy::too_many_arguments)]
pub fn run_command(
    timeout: u64,
    lowers: &str,
    upper: &Path,
    work: &Path,
    root: &Path,
    workdir: &str,
    env: &[String],
    argv: &[String],
) -> Result<Command, String> {
    let mut prefixes = Vec::new();
    let mut prefix = String::new();
    for part in workdir.split('/').filter(|p| !p.is_empty()) {
        prefix.push('/');
        prefix.push_str(part);
        prefixes.push(c_string(&prefix)?);
    }
    let argv_strings: Vec<CString> = argv.iter().map(|a| c_string(a)).collect::<Result<_, _>>()?;
    let env_strings: Vec<CString> = env.iter().map(|e| c_string(e)).collect::<Result<_, _>>()?;
    let sh = c_string("/bin/sh")?;
    let argv_ptrs = pointers(&argv_strings);
    let env_ptrs = pointers(&env_strings);
    let sh_argv: Vec<*const libc::c_char> = std::iter::once(sh.as_ptr())
        .chain(argv_ptrs.iter().copied())
        .collect();
    let mut strings = argv_strings;
    strings.extend(env_strings);
    strings.push(sh);
    let prepared = Prepared {
        root: c_path(root)?,
        overlay_options: c_string(&format!(
            "lowerdir={lowers},upperdir={},workdir={}",
            upper.display(),
            work.display()
        ))?,
        dev_source: c_string("/dev")?,
        dev_target: c_path(&root.join("dev"))?,
        proc_target: c_path(&root.join("proc"))?,
        workdir: c_string(if workdir.is_empty() { "/" } else { workdir })?,
        workdir_prefixes: prefixes,
        _strings: strings,
        argv: argv_ptrs,
        sh_argv,
        envp: env_ptrs,
        timeout: timeout.clamp(1, u64::from(libc::c_uint::MAX)) as libc::c_uint,
    };
    // Never executed: the keeper exits from `pre_exec` with the step's status.
    let mut cmd = Command::new("/bin/true");
    cmd.env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // `timeout` puts the step in a process group of its own; so does this.
        .process_group(0);
    // SAFETY: the closure runs in the forked child and only makes system calls on `prepared`.
    unsafe {
        cmd.pre_exec(move || keeper(&prepared));
    }
    Ok(cmd)
}

fn say(message: &[u8]) {
    // SAFETY: write(2) of a valid buffer.
    unsafe {
        libc::write(2, message.as_ptr().cast(), message.len());
    }
}

fn infra(message: &[u8]) -> ! {
    say(b"oracle step: ");
    say(message);
    say(b"\n");
    // SAFETY: _exit ends this forked child without running the parent's destructors.
    unsafe { libc::_exit(INFRA_STATUS) }
}

fn keeper(p: &Prepared) -> std::io::Result<()> {
    // SAFETY: system calls on NUL-terminated strings owned by `p`; see the module comment.
    unsafe {
        // The keeper never execs, so it must close what the test process would have closed on
        // exec, above all the pipe on which `Command::spawn` waits for the exec: held open, spawn
        // would wait for the whole step while nobody reads the step's stdout.
        // (the system call, not glibc's wrapper, which needs glibc 2.34)
        if libc::syscall(libc::SYS_close_range, 3, libc::c_uint::MAX, 0) != 0 {
            for fd in 3..4096 {
                libc::close(fd);
            }
        }
        if libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWNET) != 0 {
            infra(b"unshare");
        }
        let none = std::ptr::null();
        if libc::mount(
            none,
            c"/".as_ptr(),
            none,
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            infra(b"make-rprivate");
        }
        if libc::mount(
            c"overlay".as_ptr(),
            p.root.as_ptr(),
            c"overlay".as_ptr(),
            0,
            p.overlay_options.as_ptr().cast(),
        ) != 0
        {
            infra(b"overlay mount");
        }
        if libc::mount(
            p.dev_source.as_ptr(),
            p.dev_target.as_ptr(),
            none,
            libc::MS_BIND,
            std::ptr::null(),
        ) != 0
        {
            infra(b"bind /dev");
        }
        match libc::fork() {
            -1 => infra(b"fork"),
            0 => step_process(p),
            child => {
                libc::alarm(p.timeout);
                let mut status = 0;
                while libc::waitpid(child, &mut status, 0) == -1 {
                    if *libc::__errno_location() != libc::EINTR {
                        infra(b"waitpid");
                    }
                }
                let code = if libc::WIFEXITED(status) {
                    libc::WEXITSTATUS(status)
                } else {
                    128 + libc::WTERMSIG(status)
                };
                libc::_exit(code)
            }
        }
    }
}

/// PID 1 of the step's namespaces: `/proc`, chroot, WORKDIR, exec.
unsafe fn step_process(p: &Prepared) -> ! {
    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
        infra(b"prctl");
    }
    if libc::mount(
        c"proc".as_ptr(),
        p.proc_target.as_ptr(),
        c"proc".as_ptr(),
        0,
        std::ptr::null(),
    ) != 0
    {
        infra(b"proc");
    }
    if libc::chroot(p.root.as_ptr()) != 0 || libc::chdir(c"/".as_ptr()) != 0 {
        infra(b"chroot");
    }
    for prefix in &p.workdir_prefixes {
        if libc::mkdir(prefix.as_ptr(), 0o777) != 0 && *libc::__errno_location() != libc::EEXIST {
            infra(b"mkdir WORKDIR");
        }
    }
    if libc::chdir(p.workdir.as_ptr()) != 0 {
        infra(b"mkdir WORKDIR (not a folder)");
    }
    libc::execve(p.argv[0], p.argv.as_ptr(), p.envp.as_ptr());
    let error = *libc::__errno_location();
    if error == libc::ENOEXEC {
        libc::execve(p.sh_argv[0], p.sh_argv.as_ptr(), p.envp.as_ptr());
    }
    say(b"exec: ");
    let message = libc::strerror(error);
    say(std::ffi::CStr::from_ptr(message).to_bytes());
    say(b"\n");
    libc::_exit(if error == libc::ENOENT { 127 } else { 126 })
}

/// A read-only overlay of `lowers` (top first, `:`-joined) mounted at `at`, for comparing.
pub fn mount_view(lowers: &str, at: &Path) -> Result<(), String> {
    let target = c_path(at)?;
    let options = c_string(&format!("lowerdir={lowers}"))?;
    // SAFETY: mount(2) on NUL-terminated strings.
    let status = unsafe {
        libc::mount(
            c"overlay".as_ptr(),
            target.as_ptr(),
            c"overlay".as_ptr(),
            libc::MS_RDONLY,
            options.as_ptr().cast(),
        )
    };
    if status != 0 {
        return Err(format!(
            "mounting the view at {} failed: {}",
            at.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Lazily unmounts `at` (`umount -l`).
pub fn unmount(at: &Path) {
    if let Ok(target) = c_path(at) {
        // SAFETY: umount2(2) on a NUL-terminated string.
        unsafe {
            libc::umount2(target.as_ptr(), libc::MNT_DETACH);
        }
    }
}
