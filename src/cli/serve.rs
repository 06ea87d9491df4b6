//! `nbkf serve`: the local HTTP service and pipeline page.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use nbkf::serve::{self, ServeError, ServeOptions};

use super::{io_error, usage_error};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The folder whose notebooks the server reads and writes; nothing outside it is
    /// touched.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub root: PathBuf,
    /// The address to listen on. Anything but a loopback address needs `--token`.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// The port (0: any free port).
    #[arg(long, value_name = "N", default_value_t = 8765)]
    pub port: u16,
    /// The token every request must carry (at least 16 characters). [default: a new
    /// random one, printed in the address to open]
    #[arg(long, value_name = "TOKEN", env = "NBKF_SERVE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A web page origin allowed to call the API (`https://lab.example.com`; repeatable).
    /// CORS is closed to every other origin.
    #[arg(long, value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,
    /// A host name requests may be addressed to besides loopback names and `--host`
    /// (repeatable), e.g. the name a proxy forwards.
    #[arg(long, value_name = "NAME")]
    pub allow_host: Vec<String>,
    /// Where local runs keep their files. [default: <root>/.nbkf]
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<PathBuf>,
    /// The Python interpreter that runs the steps of local runs.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    pub python: PathBuf,
    /// The largest request body, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 32)]
    pub max_body_mib: usize,
    /// The longest a request may take (event streams excepted).
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,
    /// The profile (`nbkf config`) the cluster routes reach KFP with; the `KF_PIPELINES_*`
    /// environment variables and the configuration's current profile apply as for
    /// `nbkf submit`. [env: NBKF_PROFILE]
    #[arg(long, value_name = "NAME")]
    pub kfp_profile: Option<String>,
}

pub fn serve(args: ServeArgs) -> ExitCode {
    if args.max_body_mib == 0 {
        return usage_error("`--max-body-mib` must be at least 1");
    }
    let python = if args.python.components().count() > 1 {
        std::path::absolute(&args.python).unwrap_or_else(|_| args.python.clone())
    } else {
        args.python.clone()
    };
    let options = ServeOptions {
        root: args.root.clone(),
        host: args.host,
        port: args.port,
        token: args.token.clone(),
        allow_origins: args.allow_origin.clone(),
        allow_hosts: args.allow_host.clone(),
        workdir: args.workdir.clone(),
        python,
        max_body: args.max_body_mib * 1024 * 1024,
        timeout: args.request_timeout,
        kfp: nbkf::submit::connection::Flags { profile: args.kfp_profile.clone(), ..Default::default() },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return io_error(&format!("cannot start the server's threads: {e}")),
    };
    runtime.block_on(async move {
        let bound = match serve::bind(options).await {
            Ok(b) => b,
            Err(ServeError::Usage(m)) => return usage_error(&m),
            Err(ServeError::Io(m)) => return io_error(&m),
        };
        // The address to open on standard output (for people and for programs that start
        // the server), the rest on standard error.
        println!("{}", bound.url);
        eprintln!(
            "nbkf serve: serving {} on {}; open the address above (Ctrl-C stops)",
            args.root.display(),
            bound.address
        );
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!("nbkf serve: stopping");
        };
        match bound.serve(shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(ServeError::Usage(m)) => usage_error(&m),
            Err(ServeError::Io(m)) => io_error(&m),
        }
    })
}
