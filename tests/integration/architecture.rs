//! The layers point down only, and the pure layers do no I/O: a test reads the sources and
//! fails when a forbidden import crosses a boundary (DESIGN.md §3).

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
}

fn check(layer: &str, forbidden: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(layer);
    assert!(
        root.is_dir(),
        "layer `{layer}` has no folder {}",
        root.display()
    );
    let mut files = Vec::new();
    sources(&root, &mut files);
    assert!(!files.is_empty(), "layer `{layer}` has no sources");
    for (path, text) in files {
        // Test modules may use the clock and files; only product code is checked.
        let product = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in product.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for f in forbidden {
                assert!(
                    !code.contains(f),
                    "{path}:{}: layer `{layer}` must not use `{f}`:\n{line}",
                    n + 1
                );
            }
        }
    }
}

const IO: &[&str] = &[
    "std::fs",
    "tokio",
    "std::net::TcpStream",
    "std::net::TcpListener",
    "std::process",
    "egui",
    "eframe",
    "SystemTime::now",
    "now_utc()",
    "Instant::now",
];

#[test]
fn pure_layers_do_no_io_and_read_no_clock() {
    for layer in ["config", "pki", "smtp", "policy"] {
        check(layer, IO);
    }
}

#[test]
fn layers_only_point_down() {
    check(
        "config",
        &[
            "crate::pki",
            "crate::smtp",
            "crate::policy",
            "crate::store",
            "crate::engine",
            "crate::admin",
            "crate::ui",
        ],
    );
    check(
        "pki",
        &[
            "crate::smtp",
            "crate::policy",
            "crate::store",
            "crate::engine",
            "crate::admin",
            "crate::ui",
        ],
    );
    check(
        "smtp",
        &[
            "crate::policy",
            "crate::store",
            "crate::engine",
            "crate::admin",
            "crate::ui",
        ],
    );
    check(
        "policy",
        &["crate::store", "crate::engine", "crate::admin", "crate::ui"],
    );
    check(
        "store",
        &["crate::engine", "crate::admin", "crate::ui", "egui"],
    );
    check("engine", &["crate::ui", "egui", "eframe"]);
    check("admin", &["crate::ui", "egui"]);
}

#[test]
fn the_console_never_touches_sockets_or_tokio() {
    // DESIGN.md §3: the UI sends commands and reads snapshots; disk work runs on its workers.
    // Its tests (src/ui/tests) drive real relays over loopback, so only product code counts.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join("ui");
    let mut files = Vec::new();
    sources(&root, &mut files);
    for (path, text) in files {
        if path.contains("/src/ui/tests/") {
            continue;
        }
        let product = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in product.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for f in ["tokio", "TcpStream", "TcpListener", "UdpSocket"] {
                assert!(
                    !code.contains(f),
                    "{path}:{}: the console must not use `{f}`:\n{line}",
                    n + 1
                );
            }
        }
    }
}

/// Product code (each file up to its first `#[cfg(test)]`, test-only files left out) of all
/// of `src/` where `needle` appears, as `path:line`.
fn product_uses(needle: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut found = Vec::new();
    for (path, text) in files {
        let unix = path.replace('\\', "/");
        if unix.ends_with("_tests.rs") || unix.contains("/tests/") {
            continue;
        }
        let product = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in product.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains(needle) {
                found.push(format!("{unix}:{}", n + 1));
            }
        }
    }
    found
}

/// A verifier that accepts any certificate lives only in `engine::tls::danger`, where the
/// comments say why that is safe (issue 10 §4); the one other verifier that vouches for a
/// certificate is DANE's, in `engine::tls::dane`, and only after the TLSA match.
#[test]
fn certificates_are_accepted_unjudged_only_in_the_danger_module() {
    for (needle, homes) in [
        (
            "ServerCertVerified::assertion",
            &["src/engine/tls/danger.rs:", "src/engine/tls/dane.rs:"][..],
        ),
        (
            "ClientCertVerified::assertion",
            &["src/engine/tls/danger.rs:"][..],
        ),
    ] {
        let found = product_uses(needle);
        assert!(
            !found.is_empty(),
            "`{needle}` is used nowhere: update this test"
        );
        for at in found {
            assert!(
                homes.iter().any(|home| at.contains(home)),
                "`{needle}` outside {homes:?} at {at}"
            );
        }
    }
}

/// Replies with an enhanced code are named in the one table `smtp::replies` (issue 10 §4): no
/// product code builds one from loose numbers.
#[test]
fn replies_are_built_only_from_the_named_table() {
    let found = product_uses("Reply::new(");
    for at in found {
        assert!(
            at.contains("src/smtp/replies.rs:") || at.contains("src/smtp/reply.rs:"),
            "`Reply::new(` outside smtp/replies.rs at {at}: add a named row to smtp::replies"
        );
    }
}
