//! package-cache-cleanup and the consumers model (src/model/consumers.rs): a cleanup runs as the
//! user that filled the cache, and is not added when a later step may read the cache.

use dfopt::config::Settings;
use dfopt::engine::fix_source;
use dfopt::passes::Registry;

fn fixed(src: &str) -> String {
    let s = Settings {
        select: Some(vec!["package-cache-cleanup".to_string()]),
        ..Settings::default()
    };
    let reg = Registry::new(&s).unwrap_or_else(|e| panic!("{e}"));
    fix_source(src, &reg, &s, None)
        .unwrap_or_else(|e| panic!("{e:?}"))
        .fixed
}

#[test]
fn the_cleanup_runs_as_the_user_that_filled_the_cache() {
    let out = fixed("FROM node:20\nRUN sudo -u node npm install\n");
    assert!(
        out.contains("sudo -u node npm install && sudo -u node npm cache clean --force"),
        "{out}"
    );
    let out = fixed("FROM debian\nRUN sudo apt-get update && sudo apt-get install -y x\n");
    assert!(out.contains("&& sudo rm -rf /var/lib/apt/lists/*"), "{out}");
}

#[test]
fn a_later_reader_keeps_the_cache() {
    for later in [
        "RUN npm ci --offline",
        "RUN sudo -u node npm ci --prefer-offline",
        "RUN sh -c 'npm cache verify'",
        "RUN ./install.sh",
        "RUN make",
    ] {
        let src = format!("FROM node:20\nRUN npm install\nCOPY . .\n{later}\n");
        let out = fixed(&src);
        assert!(out.contains("RUN npm install\n"), "{later}: {out}");
    }
    let src =
        "FROM fedora\nRUN dnf install -y gcc\nCOPY . .\nRUN timeout 60 dnf -C install -y make\n";
    assert!(fixed(src).contains("RUN dnf install -y gcc\n"));
    let src = "FROM node:20\nRUN npm install\nCOPY . .\nRUN npm ci\n";
    let out = fixed(src);
    assert!(
        out.contains("RUN npm install && npm cache clean --force\n"),
        "a plain `npm ci` does not read the cache: {out}"
    );
}
