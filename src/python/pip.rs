//! `pip install` (and `conda install`) commands in notebook cells, parsed as the shell and
//! pip parse them: `!pip3 install -q PyGithub 'pandas>=2' > /dev/null 2>&1 && echo done`,
//! `%pip install --index-url URL -r requirements.txt`, `!{sys.executable} -m pip install x`.
//!
//! A shell command is first cut into simple commands at `&&`, `||`, `;`, `|` and `&`
//! (outside quotes), with redirections (`> f`, `2>&1`, `&>/dev/null`, `< f`) removed. Each
//! simple command that runs `pip install` (or `python -m pip install`, `uv pip install`,
//! `conda install`, ...) gives requirements and options; the rest of the command still runs
//! in the step. Requirements are checked against PEP 508 (`pep508_rs`); what cannot be
//! installed in a step (local paths, words pip would refuse, values that come from variables)
//! gives a warning instead of a package.

use std::str::FromStr;

/// What the `pip install` commands of one shell command ask for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipCommands {
    /// Requirements as pip takes them (`pandas>=2`, `scikit-learn`, `name @ https://...`,
    /// `git+https://...`), in order, without duplicates.
    pub requirements: Vec<String>,
    /// Options of `pip install` that change what is installed, passed on to the step's
    /// install command (`--index-url URL`, `--pre`, `--no-deps`, ...).
    pub options: Vec<String>,
    /// Requirement files named with `-r FILE` (read by the planner when they sit beside the
    /// notebook).
    pub requirement_files: Vec<String>,
    /// Problems worth a warning: (message, hint).
    pub warnings: Vec<(String, String)>,
    /// The part of the command that does something else than installing packages, to run
    /// in the step (`echo done` of `pip install x && echo done`), or `None`.
    pub rest: Option<String>,
}

/// Parses a shell command (as written after `!`, or `pip args` for `%pip args`). Returns
/// `None` when no part of it installs packages.
pub fn parse_shell(command: &str) -> Option<PipCommands> {
    let tokens = tokenize(command);
    let segments = simple_commands(&tokens);
    let mut out = PipCommands::default();
    let mut found = false;
    let mut kept: Vec<(Option<&'static str>, String)> = Vec::new();
    let mut previous_install = false;
    let mut i = 0;
    while i < segments.len() {
        // A pipeline (`a | b`) is one unit: `pip install x | tail -1` is an install.
        let mut end = i;
        while end + 1 < segments.len() && segments[end].op_after == Some("|") {
            end += 1;
        }
        let pipeline = &segments[i..=end];
        let op_before = if i == 0 { None } else { segments[i - 1].op_after };
        let install = pipeline.iter().find_map(|s| install_words(&s.words));
        match install {
            Some((tool, words)) => {
                if op_before == Some("||") && previous_install {
                    out.warnings.push((
                        format!(
                            "`{}` only runs when the install before it fails; its packages are not added to the step",
                            text_of(command, pipeline)
                        ),
                        "list the packages the step needs in one install command".into(),
                    ));
                } else {
                    found = true;
                    parse_install(tool, &words, &mut out);
                }
                previous_install = true;
            }
            None => {
                // `pip install x || echo failed`: the fallback never runs in a step whose
                // preamble installed the packages.
                if !(op_before == Some("||") && previous_install) {
                    kept.push((op_before, text_of(command, pipeline)));
                }
                previous_install = false;
            }
        }
        i = end + 1;
    }
    if !found {
        return None;
    }
    if !kept.is_empty() {
        let mut rest = String::new();
        for (k, (op, text)) in kept.iter().enumerate() {
            if k > 0 {
                rest.push_str(match op {
                    Some("||") => " || ",
                    Some("&") => " & ",
                    Some(";") => "; ",
                    _ => " && ",
                });
            }
            rest.push_str(text);
        }
        out.rest = Some(rest);
    }
    Some(out)
}

/// The source text of a run of simple commands.
fn text_of(command: &str, segments: &[Segment]) -> String {
    let start = segments.first().map_or(0, |s| s.start);
    let end = segments.last().map_or(0, |s| s.end);
    command.get(start..end).unwrap_or("").trim().to_string()
}

// ----- shell words ----------------------------------------------------------------------

/// A shell token: a word (quotes removed) or an operator.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word {
        text: String,
        /// Contains `$name`, `${..}`, `$(..)`, backticks or IPython's `{expr}`: its value is
        /// only known when the cell runs.
        dynamic: bool,
        start: usize,
        end: usize,
    },
    /// `&&`, `||`, `;`, `|`, `&`.
    Op { op: &'static str, start: usize },
    /// A redirection operator; the next word is its target (unless it names a descriptor).
    Redirect { takes_word: bool },
}

fn tokenize(cmd: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = cmd.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|c| c.1);
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            break; // a comment to the end of the line
        }
        // Operators.
        let two: String = chars[i..chars.len().min(i + 2)].iter().map(|c| c.1).collect();
        let op = match two.as_str() {
            "&&" => Some(("&&", 2)),
            "||" => Some(("||", 2)),
            "&>" => None,
            _ => match c {
                ';' => Some((";", 1)),
                '|' => Some(("|", 1)),
                '&' if at(i + 1) != Some('>') => Some(("&", 1)),
                _ => None,
            },
        };
        if let Some((op, len)) = op {
            tokens.push(Token::Op { op, start: pos });
            i += len;
            continue;
        }
        // Redirections: `[n]>`, `[n]>>`, `[n]<`, `&>`, `&>>`, `>&m`, `[n]>&m`.
        let mut j = i;
        while at(j).is_some_and(|c| c.is_ascii_digit()) {
            j += 1;
        }
        let redirect_at = if at(j).is_some_and(|c| c == '>' || c == '<') {
            Some(j)
        } else if c == '&' && at(i + 1) == Some('>') {
            Some(i + 1)
        } else {
            None
        };
        if let Some(r) = redirect_at {
            let mut k = r + 1;
            if at(k) == Some('>') || (at(r) == Some('<') && at(k) == Some('<')) {
                k += 1;
            }
            if at(k) == Some('&') {
                // `2>&1`, `>&2`: a descriptor, no file.
                k += 1;
                while at(k).is_some_and(|c| c.is_ascii_digit() || c == '-') {
                    k += 1;
                }
                tokens.push(Token::Redirect { takes_word: false });
                i = k;
                continue;
            }
            tokens.push(Token::Redirect { takes_word: true });
            i = k;
            continue;
        }
        // A word, with quotes and escapes.
        let mut text = String::new();
        let mut dynamic = false;
        let mut quote: Option<char> = None;
        let start = pos;
        let mut k = i;
        while k < chars.len() {
            let c = chars[k].1;
            match quote {
                Some('\'') if c == '\'' => quote = None,
                Some('\'') => {
                    // IPython expands `{expr}` before the shell sees the quotes.
                    if c == '{' {
                        dynamic = true;
                    }
                    text.push(c);
                }
                Some(_) if c == '"' => quote = None,
                Some(_) if c == '\\' && k + 1 < chars.len() => {
                    k += 1;
                    text.push(chars[k].1);
                }
                Some(_) => {
                    if matches!(c, '$' | '`' | '{') {
                        dynamic = true;
                    }
                    text.push(c);
                }
                None => {
                    if c.is_whitespace() || matches!(c, ';' | '|' | '&' | '<' | '>') {
                        break;
                    }
                    match c {
                        '\'' | '"' => quote = Some(c),
                        '\\' if k + 1 < chars.len() => {
                            k += 1;
                            text.push(chars[k].1);
                        }
                        _ => {
                            if matches!(c, '$' | '`' | '{') {
                                dynamic = true;
                            }
                            text.push(c);
                        }
                    }
                }
            }
            k += 1;
        }
        let end = chars.get(k).map_or(cmd.len(), |c| c.0);
        tokens.push(Token::Word { text, dynamic, start, end });
        i = k;
    }
    tokens
}

/// A simple command: its words (redirections removed), its extent in the command text,
/// and the operator that follows it.
#[derive(Debug)]
struct Segment {
    words: Vec<Word>,
    start: usize,
    end: usize,
    op_after: Option<&'static str>,
}

#[derive(Debug, Clone)]
struct Word {
    text: String,
    dynamic: bool,
}

fn simple_commands(tokens: &[Token]) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut current = Segment { words: Vec::new(), start: usize::MAX, end: 0, op_after: None };
    let mut skip_next_word = false;
    for t in tokens {
        match t {
            Token::Word { text, dynamic, start, end } => {
                current.start = current.start.min(*start);
                current.end = current.end.max(*end);
                if skip_next_word {
                    skip_next_word = false;
                } else {
                    current.words.push(Word { text: text.clone(), dynamic: *dynamic });
                }
            }
            Token::Redirect { takes_word } => skip_next_word = *takes_word,
            Token::Op { op, start } => {
                skip_next_word = false;
                current.op_after = Some(op);
                if current.start == usize::MAX {
                    current.start = *start;
                    current.end = *start;
                }
                segments.push(std::mem::replace(
                    &mut current,
                    Segment { words: Vec::new(), start: usize::MAX, end: 0, op_after: None },
                ));
            }
        }
    }
    if current.start != usize::MAX {
        segments.push(current);
    }
    segments
}

// ----- pip install --------------------------------------------------------------------

/// The installer a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Pip,
    Conda,
}

/// If the words run `pip install` (in any of its spellings) or `conda install`, the tool and
/// the words after `install`.
fn install_words(words: &[Word]) -> Option<(Tool, Vec<Word>)> {
    let mut i = 0;
    // `PIP_NO_CACHE_DIR=1 pip install x`, `sudo pip install x`.
    while i < words.len() {
        let w = words[i].text.as_str();
        let assignment = w
            .split_once('=')
            .is_some_and(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if assignment || w == "sudo" || w == "-H" || w == "-E" {
            i += 1;
        } else {
            break;
        }
    }
    let program = words.get(i)?.text.as_str();
    let base = program.rsplit('/').next().unwrap_or(program);
    let is_python = base.starts_with("python") || program.contains("sys.executable") || program == "$PYTHON";
    let tool =
        if base == "pip" || (base.starts_with("pip") && base[3..].chars().all(|c| c.is_ascii_digit() || c == '.')) {
            i += 1;
            Tool::Pip
        } else if base == "uv" && words.get(i + 1).is_some_and(|w| w.text == "pip") {
            i += 2;
            Tool::Pip
        } else if matches!(base, "conda" | "mamba" | "micromamba") {
            i += 1;
            Tool::Conda
        } else if is_python {
            // `python [-u ...] -m pip`
            i += 1;
            while i < words.len() && words[i].text.starts_with('-') && words[i].text != "-m" {
                i += 1;
            }
            if words.get(i).map(|w| w.text.as_str()) != Some("-m")
                || words.get(i + 1).map(|w| w.text.as_str()) != Some("pip")
            {
                return None;
            }
            i += 2;
            Tool::Pip
        } else {
            return None;
        };
    // Global options before the subcommand (`pip -q install`, `pip --proxy P install`).
    while i < words.len() && words[i].text.starts_with('-') {
        let takes_value = GLOBAL_VALUE_OPTIONS.contains(&words[i].text.as_str());
        i += if takes_value { 2 } else { 1 };
    }
    (words.get(i)?.text == "install").then(|| (tool, words[i + 1..].to_vec()))
}

/// pip's general options that take a value.
const GLOBAL_VALUE_OPTIONS: &[&str] =
    &["--proxy", "--retries", "--timeout", "--log", "--cert", "--client-cert", "--cache-dir", "--exists-action"];

/// What an option of `pip install` (or `conda install`) means for a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OptionKind {
    /// Changes how pip talks or prints, not what is installed: dropped.
    Ignored,
    /// Changes what is installed: passed on to the step's install command.
    PassOn,
    /// `-r FILE`: a requirements file.
    Requirements,
    /// `--dry-run`: nothing is installed.
    DryRun,
    /// `-e PATH|URL`: an editable install.
    Editable,
    /// `-c FILE`: constraints.
    Constraints,
    /// `--target`, `--prefix`, ...: another install location.
    Location,
    /// conda's `-c CHANNEL`.
    Channel,
}

/// Options of `pip install` / `conda install`: (names, takes a value, kind).
const INSTALL_OPTIONS: &[(&[&str], bool, OptionKind)] = &[
    (
        &["-q", "--quiet", "-v", "--verbose", "-U", "--upgrade", "--user", "-I", "--ignore-installed"],
        false,
        OptionKind::Ignored,
    ),
    (
        &["--force-reinstall", "--no-cache-dir", "--no-warn-script-location", "--no-warn-conflicts"],
        false,
        OptionKind::Ignored,
    ),
    (
        &["--disable-pip-version-check", "--no-input", "--isolated", "--no-color", "--compile", "--no-compile"],
        false,
        OptionKind::Ignored,
    ),
    (
        &["--break-system-packages", "--no-clean", "--require-hashes", "--require-virtualenv", "-y", "--yes"],
        false,
        OptionKind::Ignored,
    ),
    (
        &["--override-channels", "--freeze-installed", "--no-update-deps", "--update-deps", "--quiet-mode"],
        false,
        OptionKind::Ignored,
    ),
    (
        &["--upgrade-strategy", "--progress-bar", "--exists-action", "--log", "--cache-dir", "--retries", "--timeout"],
        true,
        OptionKind::Ignored,
    ),
    (
        &["--cert", "--client-cert", "--proxy", "--src", "--report", "-C", "--config-settings", "--global-option"],
        true,
        OptionKind::Ignored,
    ),
    (
        &["--root-user-action", "--python-version", "--platform", "--implementation", "--abi", "-n", "--name"],
        true,
        OptionKind::Ignored,
    ),
    (
        &["--pre", "--no-deps", "--prefer-binary", "--no-build-isolation", "--use-pep517", "--no-index"],
        false,
        OptionKind::PassOn,
    ),
    (
        &[
            "-i",
            "--index-url",
            "--extra-index-url",
            "-f",
            "--find-links",
            "--trusted-host",
            "--only-binary",
            "--no-binary",
        ],
        true,
        OptionKind::PassOn,
    ),
    (&["-r", "--requirement", "--file"], true, OptionKind::Requirements),
    (&["--dry-run"], false, OptionKind::DryRun),
    (&["-e", "--editable"], true, OptionKind::Editable),
    (&["--constraint"], true, OptionKind::Constraints),
    (&["-t", "--target", "--prefix", "--root", "--home", "-p"], true, OptionKind::Location),
    (&["--channel"], true, OptionKind::Channel),
];

fn option(name: &str, tool: Tool) -> Option<(bool, OptionKind)> {
    // `-c` is pip's constraints file and conda's channel.
    if name == "-c" {
        return Some((true, if tool == Tool::Conda { OptionKind::Channel } else { OptionKind::Constraints }));
    }
    INSTALL_OPTIONS.iter().find(|(names, _, _)| names.contains(&name)).map(|(_, value, kind)| (*value, *kind))
}

/// Short flags that take no value and may be combined (`-qU`).
const SHORT_FLAGS: &str = "qvUIy";

fn parse_install(tool: Tool, words: &[Word], out: &mut PipCommands) {
    let mut requirements = Vec::new();
    let mut options = Vec::new();
    let mut files = Vec::new();
    let mut dry_run = false;
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        let w = word.text.as_str();
        i += 1;
        if w.starts_with('-') && w.len() > 1 {
            let (name, attached) = match w.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
                _ => (w, None),
            };
            let (name, attached) = match option(name, tool) {
                Some(_) => (name.to_string(), attached),
                None if !name.starts_with("--") && name.chars().count() > 2 => {
                    // `-qU` (combined flags) or `-rfile.txt` (a value attached to a short option).
                    let split = name.char_indices().nth(2).map_or(name.len(), |(i, _)| i);
                    if name[1..].chars().all(|c| SHORT_FLAGS.contains(c)) {
                        continue;
                    }
                    (name[..split].to_string(), Some(name[split..].to_string()))
                }
                None => (name.to_string(), attached),
            };
            let Some((takes_value, kind)) = option(&name, tool) else {
                out.warnings.push((
                    format!(
                        "`{w}` is not an option nbkf knows for `{} install`; it is not passed to the step",
                        tool_name(tool)
                    ),
                    "remove it, or install the packages in the step image (`image:` tag or `--packages image`)".into(),
                ));
                continue;
            };
            let value = if takes_value {
                match attached {
                    Some(v) => Some(Word { text: v, dynamic: word.dynamic }),
                    None => {
                        i += 1;
                        words.get(i - 1).cloned()
                    }
                }
            } else {
                None
            };
            let value_text = value.as_ref().map(|v| v.text.clone()).unwrap_or_default();
            if value.as_ref().is_some_and(|v| v.dynamic) {
                out.warnings.push((
                    format!("the value of `{name}` (`{value_text}`) comes from a variable; the option is not passed to the step"),
                    "write it literally".into(),
                ));
                continue;
            }
            match kind {
                OptionKind::Ignored => {}
                OptionKind::PassOn => {
                    options.push(name.clone());
                    if takes_value {
                        options.push(value_text);
                    }
                }
                OptionKind::Requirements => files.push(value_text),
                OptionKind::DryRun => dry_run = true,
                OptionKind::Editable => {
                    if is_vcs(&value_text) || is_remote_url(&value_text) {
                        requirements.push(value_text);
                    } else {
                        out.warnings.push((
                            format!("`{name} {value_text}` installs a local folder, which a step's container does not have"),
                            "build the package into the step image, or publish it to a package index".into(),
                        ));
                    }
                }
                OptionKind::Constraints => out.warnings.push((
                    format!("the constraints file `{value_text}` is not applied in the step"),
                    "pin the versions on the install line instead (`pkg==1.2`)".into(),
                )),
                OptionKind::Location => out.warnings.push((
                    format!("`{name} {value_text}` installs somewhere else; the step installs into its Python's own packages"),
                    "drop the option, or install the packages in the step image".into(),
                )),
                OptionKind::Channel => out.warnings.push((
                    format!("conda channel `{value_text}` is not used: the step installs packages with pip"),
                    "check that the packages exist on PyPI under these names, or use an image that has them".into(),
                )),
            }
            continue;
        }
        // `name @ url` is three words.
        let mut text = w.to_string();
        let mut dynamic = word.dynamic;
        if words.get(i).is_some_and(|n| n.text == "@") {
            if let Some(url) = words.get(i + 1) {
                text = format!("{text} @ {}", url.text);
                dynamic |= url.dynamic;
                i += 2;
            }
        }
        if dynamic {
            out.warnings.push((
                format!("package `{text}` comes from a variable and cannot be added to the step"),
                "write the requirement literally".into(),
            ));
            continue;
        }
        match requirement(&text, tool) {
            Ok(r) => requirements.push(r),
            Err(message) => out.warnings.push(message),
        }
    }
    if dry_run {
        return;
    }
    if tool == Tool::Conda && !requirements.is_empty() {
        out.warnings.push((
            format!("conda packages are installed with pip in the step, under the same names: {}", requirements.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")),
            "check that these are the PyPI names, or use an image that has the packages (`image:` tag or `--packages image`)".into(),
        ));
    }
    for r in requirements {
        if !out.requirements.contains(&r) {
            out.requirements.push(r);
        }
    }
    for f in files {
        if !out.requirement_files.contains(&f) {
            out.requirement_files.push(f);
        }
    }
    // Options are kept in order (pairs stay together); repeated options are kept once.
    let mut k = 0;
    while k < options.len() {
        let pair = options[k].starts_with('-') && options.get(k + 1).is_some_and(|v| !v.starts_with('-'));
        let takes = option(&options[k], tool).is_some_and(|(v, _)| v) && pair;
        let chunk: Vec<String> = options[k..k + if takes { 2 } else { 1 }].to_vec();
        if !out.options.windows(chunk.len()).any(|w| w == chunk.as_slice()) {
            out.options.extend(chunk.iter().cloned());
        }
        k += chunk.len();
    }
}

fn tool_name(tool: Tool) -> &'static str {
    match tool {
        Tool::Pip => "pip",
        Tool::Conda => "conda",
    }
}

fn is_vcs(s: &str) -> bool {
    ["git+", "hg+", "svn+", "bzr+"].iter().any(|p| s.starts_with(p))
}

fn is_remote_url(s: &str) -> bool {
    ["https://", "http://", "ftp://"].iter().any(|p| s.starts_with(p))
}

/// Checks one requirement word: returns it as pip takes it, or a warning.
fn requirement(text: &str, tool: Tool) -> Result<String, (String, String)> {
    if is_vcs(text) || is_remote_url(text) {
        return Ok(text.to_string());
    }
    let direct_reference = text.contains(" @ ");
    let archive = [".whl", ".tar.gz", ".zip", ".tar.bz2", ".egg"].iter().any(|e| text.ends_with(e));
    let path_like = text.starts_with(['.', '/', '~']) || text.starts_with("file:") || text.contains('\\') || archive;
    if !direct_reference && (path_like || (text.contains('/') && tool == Tool::Pip)) {
        return Err((
            format!("`{text}` is a local file or folder, which a step's container does not have; it is not installed"),
            "build the package into the step image, or publish it to a package index".into(),
        ));
    }
    let text = match tool {
        Tool::Conda => conda_spec(text),
        Tool::Pip => text.to_string(),
    };
    if !valid_name_start(&text) {
        return Err((
            format!("`{text}` is not a requirement pip accepts (a package name is letters, digits, `.`, `_` and `-`, starting and ending with a letter or digit); it is not installed"),
            "write a package name with an optional version (`pandas>=2.1`)".into(),
        ));
    }
    match pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(&text) {
        Ok(_) => Ok(text),
        Err(e) => {
            let why = e.message.to_string();
            Err((
                format!(
                    "`{text}` is not a requirement pip accepts ({}); it is not installed",
                    why.trim_end_matches('.')
                ),
                "write a package name with an optional version (`pandas>=2.1`)".into(),
            ))
        }
    }
}

/// Whether a requirement starts with a valid PEP 508 project name (checked here first:
/// `pep508_rs` panics on some names it half-accepts, such as `a_(x)`).
pub fn valid_name_start(text: &str) -> bool {
    let name =
        text.trim_start().split(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c))).next().unwrap_or("");
    name.starts_with(|c: char| c.is_ascii_alphanumeric()) && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A conda match spec as a pip requirement: `conda-forge::numpy=1.26=py311_0` →
/// `numpy==1.26`.
fn conda_spec(spec: &str) -> String {
    let spec = spec.rsplit("::").next().unwrap_or(spec);
    if spec.contains(['<', '>', '!', '~']) || spec.contains("==") {
        return spec.to_string();
    }
    let mut parts = spec.splitn(3, '=');
    let name = parts.next().unwrap_or(spec);
    match parts.next() {
        Some("*") => name.to_string(),
        Some(version) if !version.is_empty() => format!("{name}=={version}"),
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reqs(cmd: &str) -> Vec<String> {
        parse_shell(cmd).map(|p| p.requirements).unwrap_or_default()
    }

    #[test]
    fn spellings_of_pip_install() {
        for cmd in [
            "pip install pandas==2.1 scikit-learn",
            "pip3 install pandas==2.1 scikit-learn",
            "pip3.11 install pandas==2.1 scikit-learn",
            "python -m pip install pandas==2.1 scikit-learn",
            "python3 -u -m pip install pandas==2.1 scikit-learn",
            "/usr/bin/python3 -m pip install pandas==2.1 scikit-learn",
            "{sys.executable} -m pip install pandas==2.1 scikit-learn",
            "uv pip install pandas==2.1 scikit-learn",
            "sudo -H pip install pandas==2.1 scikit-learn",
            "PIP_NO_CACHE_DIR=1 pip install pandas==2.1 scikit-learn",
            "pip -q install pandas==2.1 scikit-learn",
        ] {
            assert_eq!(reqs(cmd), ["pandas==2.1", "scikit-learn"], "{cmd}");
        }
        assert_eq!(parse_shell("pip list"), None);
        assert_eq!(parse_shell("pip uninstall -y x"), None);
        assert_eq!(parse_shell("echo pip install x"), None);
        assert_eq!(parse_shell("ls -la"), None);
    }

    #[test]
    fn redirections_are_not_packages() {
        // The corpus case (elyra's Part 1 - Data Cleaning).
        let p = parse_shell("pip3 install PyGithub pandas > /dev/null 2>&1").unwrap();
        assert_eq!(p.requirements, ["PyGithub", "pandas"]);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(p.rest, None);
        assert_eq!(reqs("pip install x>/dev/null"), ["x"]);
        assert_eq!(reqs("pip install x 2>/dev/null"), ["x"]);
        assert_eq!(reqs("pip install x &>/dev/null"), ["x"]);
        assert_eq!(reqs("pip install x >> log.txt 2>&1"), ["x"]);
        assert_eq!(reqs("pip install x < /dev/null"), ["x"]);
    }

    #[test]
    fn version_specifiers_and_extras_survive_quotes() {
        assert_eq!(reqs("pip install 'pandas>=2,<3' \"numpy~=1.26\""), ["pandas>=2,<3", "numpy~=1.26"]);
        assert_eq!(reqs("pip install 'pandas[excel,parquet]>=2'"), ["pandas[excel,parquet]>=2"]);
        assert_eq!(reqs("pip install \"numpy; python_version>'3.8'\""), ["numpy; python_version>'3.8'"]);
        assert_eq!(reqs("pip install 'requests==2.*'"), ["requests==2.*"]);
    }

    #[test]
    fn urls_and_vcs() {
        assert_eq!(
            reqs("pip install git+https://github.com/a/b.git@v1#egg=b"),
            ["git+https://github.com/a/b.git@v1#egg=b"]
        );
        assert_eq!(
            reqs("pip install https://example.org/x-1.0-py3-none-any.whl"),
            ["https://example.org/x-1.0-py3-none-any.whl"]
        );
        assert_eq!(reqs("pip install b @ https://example.org/b.tar.gz"), ["b @ https://example.org/b.tar.gz"]);
        assert_eq!(
            reqs("pip install -e git+https://github.com/a/b.git#egg=b"),
            ["git+https://github.com/a/b.git#egg=b"]
        );
    }

    #[test]
    fn local_paths_warn() {
        let p = parse_shell("pip install -e . ./dist/x-1.0.whl ../lib").unwrap();
        assert!(p.requirements.is_empty());
        assert_eq!(p.warnings.len(), 3, "{:?}", p.warnings);
        assert!(p.warnings[0].0.contains("`-e .`"), "{:?}", p.warnings);
    }

    #[test]
    fn options() {
        let p = parse_shell("pip install -q -U --upgrade --no-cache-dir -qU pandas").unwrap();
        assert_eq!(p.requirements, ["pandas"]);
        assert!(p.options.is_empty());
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);

        let p = parse_shell("pip install --index-url https://pypi.example/simple --trusted-host pypi.example --pre x")
            .unwrap();
        assert_eq!(
            p.options,
            ["--index-url", "https://pypi.example/simple", "--trusted-host", "pypi.example", "--pre"]
        );
        assert_eq!(p.requirements, ["x"]);
        let p = parse_shell("pip install --extra-index-url=https://e.example/simple -f https://f.example/wheels x")
            .unwrap();
        assert_eq!(p.options, ["--extra-index-url", "https://e.example/simple", "-f", "https://f.example/wheels"]);

        let p = parse_shell("pip install -r requirements.txt torch").unwrap();
        assert_eq!(p.requirements, ["torch"]);
        assert_eq!(p.requirement_files, ["requirements.txt"]);
        let p = parse_shell("pip install -rreqs.txt --requirement=more.txt").unwrap();
        assert_eq!(p.requirement_files, ["reqs.txt", "more.txt"]);

        let p = parse_shell("pip install --target ./libs x").unwrap();
        assert_eq!(p.requirements, ["x"]);
        assert!(p.warnings[0].0.contains("--target ./libs"), "{:?}", p.warnings);
        let p = parse_shell("pip install -c constraints.txt x").unwrap();
        assert!(p.warnings[0].0.contains("constraints.txt"), "{:?}", p.warnings);
        let p = parse_shell("pip install --frobnicate x").unwrap();
        assert_eq!(p.requirements, ["x"]);
        assert!(p.warnings[0].0.contains("--frobnicate"), "{:?}", p.warnings);
        assert_eq!(reqs("pip install --dry-run x"), Vec::<String>::new());
    }

    #[test]
    fn chains_and_pipes() {
        let p = parse_shell("pip install x && echo done").unwrap();
        assert_eq!(p.requirements, ["x"]);
        assert_eq!(p.rest.as_deref(), Some("echo done"));
        let p = parse_shell("mkdir -p out && pip install x y; ls out").unwrap();
        assert_eq!(p.requirements, ["x", "y"]);
        assert_eq!(p.rest.as_deref(), Some("mkdir -p out; ls out"));
        let p = parse_shell("pip install x | tail -n 1").unwrap();
        assert_eq!(p.requirements, ["x"]);
        assert_eq!(p.rest, None);
        let p = parse_shell("pip install x || echo failed").unwrap();
        assert_eq!(p.rest, None);
        let p = parse_shell("pip install tensorflow-gpu || pip install tensorflow").unwrap();
        assert_eq!(p.requirements, ["tensorflow-gpu"]);
        assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
        let p = parse_shell("pip install a && pip install b").unwrap();
        assert_eq!(p.requirements, ["a", "b"]);
    }

    #[test]
    fn substitutions_warn() {
        let p = parse_shell("pip install $PKG {name}==1.0 \"${X}\" ok").unwrap();
        assert_eq!(p.requirements, ["ok"]);
        assert_eq!(p.warnings.len(), 3, "{:?}", p.warnings);
        let p = parse_shell("pip install --index-url $URL x").unwrap();
        assert!(p.options.is_empty());
        assert_eq!(p.warnings.len(), 1);
    }

    #[test]
    fn invalid_words_warn() {
        let p = parse_shell("pip install 'pandas=1.0' ok").unwrap();
        assert_eq!(p.requirements, ["ok"]);
        assert!(p.warnings[0].0.contains("pandas=1.0"), "{:?}", p.warnings);
    }

    #[test]
    fn conda() {
        let p =
            parse_shell("conda install -y -c conda-forge numpy=1.26 scipy conda-forge::pandas=2.1=py311_0").unwrap();
        assert_eq!(p.requirements, ["numpy==1.26", "scipy", "pandas==2.1"]);
        assert_eq!(p.warnings.len(), 2, "channel and pip names: {:?}", p.warnings);
        assert_eq!(reqs("mamba install 'numpy>=1.2'"), ["numpy>=1.2"]);
        assert_eq!(conda_spec("numpy=1.*"), "numpy==1.*");
        assert_eq!(conda_spec("numpy=*"), "numpy");
    }

    #[test]
    fn names_pep508_rs_would_panic_on_are_refused() {
        // Found by the fuzzer: pep508_rs 0.9 panics on a name ending in `_` before `(`.
        let p = parse_shell("pip install pandas ma_init__(name=name) ok").unwrap();
        assert_eq!(p.requirements, ["pandas", "ok"]);
        assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
        assert!(!valid_name_start("_x") && !valid_name_start("x_") && valid_name_start("x_y>=1"));
    }

    #[test]
    fn options_with_any_characters_never_panic() {
        // Found by the fuzzer: a short option followed by a multi-byte character.
        let p = parse_shell("pip install -\u{301}x y").unwrap();
        assert_eq!(p.requirements, ["y"]);
        assert!(parse_shell("pip install -é -ü=1 --ö x").is_some());
    }

    #[test]
    fn comments_end_the_command() {
        assert_eq!(reqs("pip install x  # the plotting library"), ["x"]);
    }
}
