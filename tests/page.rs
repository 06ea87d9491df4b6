//! The pipeline page of `nbkf serve` in a real browser: headless system Chromium (Debian
//! `chromium`, never a downloaded one) driven by Playwright from the Python test environment
//! (`tests/support/page_test.py`). It picks fixture notebooks, checks the drawing against
//! the analysis (a node per step, edges labelled with their variables, the parameters), a
//! step's details, a local run followed live to every node succeeded, and a 40-step
//! notebook. Screenshots are kept in `<target>/page-screenshots/`.
//!
//! Without Chromium the test fails when `CI` or `NBKF_REQUIRE_CHROMIUM` is set
//! (`scripts/test` installs Chromium and sets the latter); elsewhere it says so and returns.

mod common;
#[allow(dead_code)]
#[path = "common/generated.rs"]
mod generated;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{chromium, fixture, nbkf, python, repo, screenshots};

/// The steps of the generated notebook.
const LONG_STEPS: usize = 40;

/// A running `nbkf serve`; stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(root: &Path) -> Server {
        let mut cmd = nbkf();
        cmd.args(["serve", "--port", "0", "--root"])
            .arg(root)
            .arg("--python")
            .arg(python())
            .env("NBKF_CONFIG", root.join("no-config.toml"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in ["KF_PIPELINES_ENDPOINT", "KF_PIPELINES_TOKEN", "NBKF_PROFILE", "KUBECONFIG", "NBKF_SERVE_TOKEN"] {
            cmd.env_remove(var);
        }
        let mut child = cmd.spawn().expect("cannot start nbkf serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        if !line.contains("/?token=") {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            let _ = child.kill();
            panic!("nbkf serve did not start: {line:?} {err}");
        }
        Server { child, url: line.trim().to_string() }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_page_draws_the_plan_shows_steps_and_follows_a_run() {
    let Some(chromium) = chromium() else { return };
    let python = python();

    let root = tempfile::tempdir().unwrap();
    let drawn = ["parameters.ipynb", "metrics.ipynb", "prev_ordering.ipynb"];
    let run = "steps_and_continuation.ipynb";
    for name in drawn.iter().chain([&run]) {
        std::fs::copy(fixture(name), root.path().join(name)).unwrap();
    }
    let long = format!("generated_{LONG_STEPS}_steps.ipynb");
    std::fs::write(root.path().join(&long), generated::notebook(LONG_STEPS).to_string()).unwrap();
    let server = Server::start(root.path());

    let shots = screenshots("page-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let out = Command::new(&python)
        .arg(repo().join("tests/support/page_test.py"))
        .arg(&server.url)
        .arg(&shots)
        .arg("--chromium")
        .arg(&chromium)
        .args(["--run", run, "--long", &long, "--long-steps", &LONG_STEPS.to_string(), "--draw"])
        .args(drawn)
        .output()
        .expect("cannot run tests/support/page_test.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    println!("screenshots: {}", shots.display());
    assert!(out.status.success(), "the page test failed:\n{stdout}\n{stderr}\nscreenshots: {}", shots.display());
    assert!(stdout.contains("page: ok"), "{stdout}");
    for shot in ["run-succeeded.png", "details.png", "long.png"] {
        assert!(shots.join(shot).is_file(), "no screenshot {shot} in {}", shots.display());
    }
}
