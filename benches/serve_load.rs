//! A load test of `nbkf serve`'s analyse route on loopback: the release `nbkf serve` in its
//! own process, the titanic example of the corpus, and blocking keep-alive clients (one
//! ureq agent per client thread).
//!
//! Scenarios: the same notebook again (cached: inline, and by path) and a notebook changed
//! on every request (uncached: a comment with a counter appended to a code cell, inline),
//! each at 1, 8 and 64 concurrent clients, bounded by a request count and a time (whichever
//! comes first) after a warm-up. Then a memory run: mixed load (three requests in four
//! uncached) at 8 clients for `NBKF_LOAD_SECONDS` (60 by default), sampling the server's
//! resident memory every second.
//!
//! Run with `cargo bench --bench serve_load`. Settings (environment):
//! `NBKF_LOAD_SECONDS` (memory run, default 60), `NBKF_LOAD_SCENARIO_SECONDS` (the most a
//! scenario lasts, default 5), `NBKF_LOAD_REQUESTS` (the most requests of a scenario,
//! default 50000), `NBKF_SHARED` (the folder holding `corpus/`, default `../shared`).
//! The results are printed and written to `<target>/serve_load.json`; the exit status is
//! 1 when any request failed (anything but 200) or came back from the wrong side of the
//! cache.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const NOTEBOOK: &str = "kubeflow-kale__kale__examples__titanic-ml-dataset__titanic_dataset_ml.ipynb";
const TOKEN: &str = "nbkf-load-test-token-0123456789";
/// Where the counter goes in the uncached bodies.
const MARK: &str = "NBKF_LOAD_COUNTER_MARK";
const CLIENTS: [usize; 3] = [1, 8, 64];
/// Requests each client makes before a scenario's clock starts.
const WARM_UP_PER_CLIENT: usize = 3;

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a whole number")),
        Err(_) => default,
    }
}

/// `../shared` next to the crate (as the tests find it), or `$NBKF_SHARED`.
fn shared() -> PathBuf {
    std::env::var_os("NBKF_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("shared"))
}

/// A running `nbkf serve`; stopped when dropped.
struct Server {
    child: Child,
    base: String,
    _root: tempfile::TempDir,
}

impl Server {
    fn start(notebook: &Path) -> Server {
        let root = tempfile::tempdir().expect("a temporary folder");
        std::fs::copy(notebook, root.path().join("titanic.ipynb")).expect("copy the notebook");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nbkf"));
        cmd.args(["serve", "--port", "0", "--token", TOKEN, "--root"])
            .arg(root.path())
            .env("NBKF_CONFIG", root.path().join("no-config.toml"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for var in ["KF_PIPELINES_ENDPOINT", "KF_PIPELINES_TOKEN", "NBKF_PROFILE", "KUBECONFIG", "NBKF_SERVE_TOKEN"] {
            cmd.env_remove(var);
        }
        let mut child = cmd.spawn().expect("cannot start nbkf serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("the address");
        let Some((base, _)) = line.trim().split_once("/?token=") else {
            let _ = child.kill();
            panic!("nbkf serve did not start: {line:?}");
        };
        Server { base: base.to_string(), child, _root: root }
    }

    /// (VmRSS, VmHWM) in KiB.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The request bodies.
struct Bodies {
    /// The notebook inline, always the same.
    cached_inline: Vec<u8>,
    /// The notebook by path.
    cached_path: Vec<u8>,
    /// The notebook inline with a changed code cell: `prefix`, a counter, `suffix`.
    prefix: Vec<u8>,
    suffix: Vec<u8>,
}

impl Bodies {
    fn new(notebook: &Path) -> Bodies {
        let text = std::fs::read_to_string(notebook).expect("the titanic notebook");
        let nb: Value = serde_json::from_str(&text).expect("notebook JSON");
        let cached_inline = json!({ "notebook": nb, "path": "titanic.ipynb" }).to_string().into_bytes();
        let cached_path = json!({ "path": "titanic.ipynb" }).to_string().into_bytes();
        // The last code cell gets a comment line whose counter changes every request.
        let mut changed = nb.clone();
        let cells = changed["cells"].as_array_mut().expect("cells");
        let cell = cells.iter_mut().rev().find(|c| c["cell_type"] == "code").expect("a code cell");
        let source = match &cell["source"] {
            Value::Array(lines) => lines.iter().filter_map(Value::as_str).collect::<String>(),
            Value::String(s) => s.clone(),
            _ => String::new(),
        };
        cell["source"] = Value::String(format!("{source}\n# load request {MARK}\n"));
        let text = json!({ "notebook": changed, "path": "titanic.ipynb" }).to_string();
        let (prefix, suffix) = text.split_once(MARK).expect("the mark");
        Bodies { cached_inline, cached_path, prefix: prefix.into(), suffix: suffix.into() }
    }

    fn uncached(&self, n: u64, into: &mut Vec<u8>) {
        into.clear();
        into.extend_from_slice(&self.prefix);
        into.extend_from_slice(n.to_string().as_bytes());
        into.extend_from_slice(&self.suffix);
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    CachedInline,
    CachedPath,
    Uncached,
    /// Three in four uncached, the rest cached (inline and by path).
    Mixed,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::CachedInline => "cached (inline)",
            Kind::CachedPath => "cached (path)",
            Kind::Uncached => "uncached (inline)",
            Kind::Mixed => "mixed (3/4 uncached)",
        }
    }
}

/// A counter shared by every uncached request of the whole run, so no notebook repeats.
static UNIQUE: AtomicU64 = AtomicU64::new(0);

/// One client: a keep-alive agent and its buffers.
struct Client<'a> {
    agent: ureq::Agent,
    url: String,
    auth: String,
    bodies: &'a Bodies,
    body: Vec<u8>,
    sent: u64,
}

/// What one request gave: its time and, if it failed, why.
struct Answer {
    micros: u32,
    error: Option<String>,
    /// The answer said it came from the cache when it should not have, or the other way.
    wrong_cache: bool,
}

impl<'a> Client<'a> {
    fn new(base: &str, bodies: &'a Bodies) -> Client<'a> {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .max_idle_connections_per_host(1)
            .build();
        Client {
            agent: config.into(),
            url: format!("{base}/api/v1/analyze"),
            auth: format!("token {TOKEN}"),
            bodies,
            body: Vec::new(),
            sent: 0,
        }
    }

    fn request(&mut self, kind: Kind) -> Answer {
        let kind = match kind {
            Kind::Mixed => match self.sent % 8 {
                0 => Kind::CachedPath,
                4 => Kind::CachedInline,
                _ => Kind::Uncached,
            },
            k => k,
        };
        self.sent += 1;
        let body: &[u8] = match kind {
            Kind::CachedInline => &self.bodies.cached_inline,
            Kind::CachedPath => &self.bodies.cached_path,
            _ => {
                self.bodies.uncached(UNIQUE.fetch_add(1, Ordering::Relaxed), &mut self.body);
                &self.body
            }
        };
        let start = Instant::now();
        let result = self
            .agent
            .post(&self.url)
            .header("Authorization", &self.auth)
            .header("Content-Type", "application/json")
            .send(body)
            .and_then(|mut r| Ok((r.status().as_u16(), r.body_mut().with_config().limit(64 << 20).read_to_vec()?)));
        let micros = start.elapsed().as_micros().min(u32::MAX as u128) as u32;
        match result {
            Ok((200, answer)) => {
                let cached = find(&answer, b"\"cached\":true");
                Answer { micros, error: None, wrong_cache: kind == Kind::Uncached && cached }
            }
            Ok((status, answer)) => Answer {
                micros,
                error: Some(format!("{status}: {}", String::from_utf8_lossy(&answer[..answer.len().min(300)]))),
                wrong_cache: false,
            },
            Err(e) => Answer { micros, error: Some(e.to_string()), wrong_cache: false },
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The outcome of a scenario.
#[derive(Debug)]
struct Outcome {
    scenario: &'static str,
    clients: usize,
    requests: usize,
    errors: usize,
    wrong_cache: usize,
    first_error: Option<String>,
    seconds: f64,
    rps: f64,
    /// Latency percentiles in milliseconds.
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

impl Outcome {
    fn json(&self) -> Value {
        json!({
            "scenario": self.scenario, "clients": self.clients, "requests": self.requests,
            "errors": self.errors, "wrong_cache": self.wrong_cache, "first_error": self.first_error,
            "seconds": self.seconds, "rps": self.rps,
            "latency_ms": {"p50": self.p50, "p90": self.p90, "p99": self.p99, "max": self.max},
        })
    }
}

/// What a client measured: its latencies (µs), errors, answers from the wrong side of the
/// cache, and its first error.
type ClientResult = (Vec<u32>, usize, usize, Option<String>);

/// Runs `kind` at `clients` clients after a warm-up, until `max_requests` requests or
/// `max_time`, whichever comes first. `on_start` is called once the clock starts.
fn load(
    server: &Server,
    bodies: &Bodies,
    kind: Kind,
    clients: usize,
    max_requests: u64,
    max_time: Duration,
    on_start: &(dyn Fn() + Sync),
) -> Outcome {
    let issued = AtomicU64::new(0);
    let barrier = Barrier::new(clients + 1);
    let start_at: Mutex<Option<Instant>> = Mutex::new(None);
    let warm_up_errors = AtomicU64::new(0);
    let results: Mutex<Vec<ClientResult>> = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    let t0 = std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| {
                let mut client = Client::new(&server.base, bodies);
                for _ in 0..WARM_UP_PER_CLIENT {
                    if client.request(kind).error.is_some() {
                        warm_up_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                // Once all are warm, the clock starts; then they go.
                barrier.wait();
                barrier.wait();
                let started = start_at.lock().unwrap().expect("the start");
                let mut times = Vec::with_capacity(4096);
                let (mut errors, mut wrong, mut first) = (0, 0, None);
                while !stop.load(Ordering::Relaxed)
                    && issued.fetch_add(1, Ordering::Relaxed) < max_requests
                    && started.elapsed() < max_time
                {
                    let answer = client.request(kind);
                    times.push(answer.micros);
                    if let Some(e) = answer.error {
                        errors += 1;
                        first.get_or_insert(e);
                    }
                    wrong += usize::from(answer.wrong_cache);
                }
                stop.store(true, Ordering::Relaxed);
                results.lock().unwrap().push((times, errors, wrong, first));
            });
        }
        barrier.wait();
        // Every client is warm: start the clock.
        let t0 = Instant::now();
        *start_at.lock().unwrap() = Some(t0);
        on_start();
        barrier.wait();
        t0
    });
    let seconds = t0.elapsed().as_secs_f64();
    let mut times = Vec::new();
    let (mut errors, mut wrong, mut first_error) = (warm_up_errors.into_inner() as usize, 0, None);
    for (t, e, w, f) in results.into_inner().unwrap() {
        times.extend(t);
        errors += e;
        wrong += w;
        if first_error.is_none() {
            first_error = f;
        }
    }
    times.sort_unstable();
    let pct = |p: f64| -> f64 {
        if times.is_empty() {
            return 0.0;
        }
        let i = ((p / 100.0) * times.len() as f64).ceil() as usize;
        times[i.clamp(1, times.len()) - 1] as f64 / 1000.0
    };
    Outcome {
        scenario: kind.name(),
        clients,
        requests: times.len(),
        errors,
        wrong_cache: wrong,
        first_error,
        seconds,
        rps: times.len() as f64 / seconds,
        p50: pct(50.0),
        p90: pct(90.0),
        p99: pct(99.0),
        max: pct(100.0),
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    let notebook = shared().join("corpus").join(NOTEBOOK);
    assert!(notebook.exists(), "the titanic example is missing at {} (set NBKF_SHARED)", notebook.display());
    let scenario_time = Duration::from_secs(env_number("NBKF_LOAD_SCENARIO_SECONDS", 5));
    let max_requests = env_number("NBKF_LOAD_REQUESTS", 50_000);
    let memory_seconds = env_number("NBKF_LOAD_SECONDS", 60).max(4);

    let bodies = Bodies::new(&notebook);
    let server = Server::start(&notebook);
    let (rss0, _) = server.memory();
    println!(
        "nbkf serve load test: {} ({} KiB inline bodies), server pid {}, {} cores; each scenario: {} warm-up requests per client, then up to {max_requests} requests or {}s",
        NOTEBOOK,
        bodies.cached_inline.len() / 1024,
        server.child.id(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        WARM_UP_PER_CLIENT,
        scenario_time.as_secs(),
    );

    let mut outcomes = Vec::new();
    for kind in [Kind::CachedInline, Kind::CachedPath, Kind::Uncached] {
        for clients in CLIENTS {
            let o = load(&server, &bodies, kind, clients, max_requests, scenario_time, &|| {});
            eprintln!("  {} at {} clients: {:.0} req/s", o.scenario, o.clients, o.rps);
            outcomes.push(o);
        }
    }

    // The memory run: a warm-up long enough to fill the analysis cache, then samples every
    // second.
    let warm_up = Duration::from_secs((memory_seconds / 6).clamp(2, 10));
    eprintln!("  memory run: {}s warm-up, then {memory_seconds}s of mixed load at 8 clients", warm_up.as_secs());
    let warm = load(&server, &bodies, Kind::Mixed, 8, u64::MAX, warm_up, &|| {});
    let samples: Mutex<Vec<(f64, u64, u64)>> = Mutex::new(Vec::new());
    let done = AtomicBool::new(false);
    let started: Mutex<Option<Instant>> = Mutex::new(None);
    let memory_run = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            while started.lock().unwrap().is_none() {
                std::thread::sleep(Duration::from_millis(5));
            }
            let t0 = started.lock().unwrap().unwrap();
            let mut next = t0;
            while !done.load(Ordering::Relaxed) {
                let (rss, hwm) = server.memory();
                samples.lock().unwrap().push((t0.elapsed().as_secs_f64(), rss, hwm));
                next += Duration::from_secs(1);
                while Instant::now() < next && !done.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        });
        let o = load(&server, &bodies, Kind::Mixed, 8, u64::MAX, Duration::from_secs(memory_seconds), &|| {
            *started.lock().unwrap() = Some(Instant::now());
        });
        done.store(true, Ordering::Relaxed);
        let _ = sampler.join();
        o
    });
    let samples = samples.into_inner().unwrap();
    let (_, end_rss, hwm) = samples.last().copied().unwrap_or_default();
    let start_rss = samples.first().map(|s| s.1).unwrap_or_default();
    let max_rss = samples.iter().map(|s| s.1).max().unwrap_or_default();
    // Flat: the mean of the last quarter of the samples within 10% (or 8 MiB) of the first
    // quarter's.
    let quarter = (samples.len() / 4).max(1);
    let mean = |s: &[(f64, u64, u64)]| s.iter().map(|x| x.1 as f64).sum::<f64>() / s.len().max(1) as f64;
    let first_q = mean(&samples[..quarter.min(samples.len())]);
    let last_q = mean(&samples[samples.len().saturating_sub(quarter)..]);
    let growth = last_q - first_q;
    let flat = growth <= (first_q * 0.10).max(8.0 * 1024.0);

    // The table.
    println!();
    println!(
        "{:<22} {:>7} {:>9} {:>6} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "scenario", "clients", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for o in outcomes.iter().chain([&memory_run]) {
        println!(
            "{:<22} {:>7} {:>9} {:>6} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            o.scenario,
            o.clients,
            o.requests,
            o.errors + o.wrong_cache,
            o.rps,
            o.p50,
            o.p90,
            o.p99,
            o.max
        );
    }
    println!();
    println!(
        "server memory (RSS): {:.1} MiB idle; over the {}s run: {:.1} MiB at the start (after {} warm-up requests), {:.1} MiB at the end, {:.1} MiB at most (high-water mark {:.1} MiB); first/last quarter means {:.1}/{:.1} MiB: {}",
        mib(rss0),
        memory_seconds,
        mib(start_rss),
        warm.requests,
        mib(end_rss),
        mib(max_rss),
        mib(hwm),
        mib(first_q as u64),
        mib(last_q as u64),
        if flat { "flat" } else { "GROWING" }
    );

    // The goals of the issue, on the machine it was written for (2 cores).
    let get = |kind: Kind, clients: usize| outcomes.iter().find(|o| o.scenario == kind.name() && o.clients == clients);
    let uncached8 = get(Kind::Uncached, 8).map(|o| o.p99).unwrap_or(f64::INFINITY);
    let cached_best = outcomes
        .iter()
        .filter(|o| o.scenario == Kind::CachedInline.name() || o.scenario == Kind::CachedPath.name())
        .map(|o| o.rps)
        .fold(0.0, f64::max);
    let all: Vec<&Outcome> = outcomes.iter().chain([&warm, &memory_run]).collect();
    let errors: usize = all.iter().map(|o| o.errors + o.wrong_cache).sum();
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("goal: uncached p99 under 25 ms at 8 clients: {uncached8:.2} ms, {}", verdict(uncached8 < 25.0));
    println!("goal: cached over 5000 requests/s: best {cached_best:.0} req/s, {}", verdict(cached_best > 5000.0));
    println!("goal: no errors: {errors}, {}", verdict(errors == 0));
    println!("goal: memory flat over the run: {}", verdict(flat));
    for o in &all {
        if let Some(e) = &o.first_error {
            println!("first error of {} at {} clients: {e}", o.scenario, o.clients);
        }
        if o.wrong_cache > 0 {
            println!("{} at {} clients: {} answers came from the cache", o.scenario, o.clients, o.wrong_cache);
        }
    }

    let report = json!({
        "notebook": NOTEBOOK,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "scenarios": outcomes.iter().map(Outcome::json).collect::<Vec<_>>(),
        "memory": {
            "seconds": memory_seconds,
            "load": memory_run.json(),
            "warm_up_requests": warm.requests,
            "idle_rss_kib": rss0,
            "start_rss_kib": start_rss,
            "end_rss_kib": end_rss,
            "max_rss_kib": max_rss,
            "hwm_kib": hwm,
            "flat": flat,
            "samples": samples.iter().map(|(t, rss, _)| json!([(t * 10.0).round() / 10.0, rss])).collect::<Vec<_>>(),
        },
        "goals": {
            "uncached_p99_ms_at_8": uncached8,
            "cached_best_rps": cached_best,
            "errors": errors,
            "memory_flat": flat,
        },
    });
    // `<target>/release/nbkf` → `<target>/serve_load.json`.
    let target = Path::new(env!("CARGO_BIN_EXE_nbkf")).parent().and_then(Path::parent).map(Path::to_path_buf);
    if let Some(target) = target {
        let file = target.join("serve_load.json");
        match std::fs::write(&file, serde_json::to_string_pretty(&report).unwrap_or_default()) {
            Ok(()) => println!("results: {}", file.display()),
            Err(e) => eprintln!("cannot write {}: {e}", file.display()),
        }
    }
    drop(server);
    if errors > 0 {
        std::process::exit(1);
    }
}
