//! Names the outside world imposes: KFP task names (DNS-1123 labels) and Python
//! function names, made from step names, unique and deterministic. A leaf module: the plan
//! names steps with it, the emitters name component arguments.

use std::collections::BTreeSet;

/// The task that writes the step runtime every step loads (the pipeline's first task).
pub const RUNTIME_TASK: &str = "nbkf-runtime";
/// Its Python function.
pub const RUNTIME_FUNCTION: &str = "nbkf_runtime";

/// The task that runs all the steps but the exit step, when there is one (the name the
/// KFP SDK gives the first `dsl.ExitHandler`).
pub const EXIT_HANDLER_TASK: &str = "exit-handler-1";

/// The task name of a step: [`dns_label`] of its name, never one nbkf gives its own tasks:
/// [`RUNTIME_TASK`], and the KFP SDK's group names `exit-handler-<n>` and `for-loop-<n>`.
pub fn step_task(name: &str) -> String {
    let task = dns_label(name);
    let group = |prefix: &str| {
        task.strip_prefix(prefix).is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    if task == RUNTIME_TASK || group("exit-handler-") || group("for-loop-") {
        format!("{task}-step")
    } else {
        task
    }
}

const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// A DNS-1123 label from any text: lower-case letters, digits and `-`, at most 63
/// characters, starting with a letter (task names are also used as pod name parts).
/// Text in other scripts is transliterated where Unicode says how (`données` →
/// `donnees`) and gets a short hash of the original, so that different names stay
/// different (`données` → `donnees-1f0a`, `数据` → `step-8d2c`).
pub fn dns_label(text: &str) -> String {
    if text.is_ascii() {
        return ascii_label(text);
    }
    use sha2::{Digest, Sha256};
    use unicode_normalization::UnicodeNormalization;
    let transliterated: String = text.nfkd().filter(char::is_ascii).collect();
    let hash = Sha256::digest(text.as_bytes());
    let suffix = format!("{:02x}{:02x}", hash[0], hash[1]);
    let mut base = ascii_label(&transliterated);
    base.truncate(63 - suffix.len() - 1);
    format!("{}-{suffix}", base.trim_end_matches('-'))
}

fn ascii_label(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out = out.trim_matches('-').to_string();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "step-");
    }
    out.truncate(63);
    out.trim_end_matches('-').to_string()
}

/// Whether `name` is a Python identifier (letters of any script, digits, `_`; not a
/// keyword).
pub fn is_python_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
        && !PYTHON_KEYWORDS.contains(&name)
}

/// A Python identifier from a task name, not a keyword and not starting with `_` (the
/// step runtime's own names start with `_nbkf`).
pub fn python_identifier(task: &str) -> String {
    let mut out: String = task.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit() || c == '_') {
        out.insert_str(0, "step_");
    }
    if PYTHON_KEYWORDS.contains(&out.as_str()) {
        out.push_str("_step");
    }
    out
}

/// Makes `wanted` unique among `taken` (appending `_2`, `_3`, ...) and records it.
pub fn unique_name(wanted: String, taken: &mut BTreeSet<String>) -> String {
    unique(wanted, taken, '_', 200)
}

/// Makes `wanted` unique among `taken` by appending `-2`, `-3`, ... (or `_2` with
/// `separator` `_`), and records it.
pub fn unique(wanted: String, taken: &mut BTreeSet<String>, separator: char, max_len: usize) -> String {
    if taken.insert(wanted.clone()) {
        return wanted;
    }
    for n in 2.. {
        let suffix = format!("{separator}{n}");
        let mut base = wanted.clone();
        base.truncate(max_len.saturating_sub(suffix.len()));
        let candidate = format!("{base}{suffix}");
        if taken.insert(candidate.clone()) {
            return candidate;
        }
    }
    unreachable!("an unbounded range always finds a free name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_tasks_never_take_the_names_of_nbkfs_own_tasks() {
        assert_eq!(step_task("nbkf-runtime"), "nbkf-runtime-step");
        assert_eq!(step_task("exit_handler_1"), "exit-handler-1-step");
        assert_eq!(step_task("for-loop-2"), "for-loop-2-step");
        assert_eq!(step_task("for-loop"), "for-loop");
        assert_eq!(step_task("for-loop-x"), "for-loop-x");
    }

    #[test]
    fn task_and_function_names() {
        assert_eq!(dns_label("load_data"), "load-data");
        assert_eq!(dns_label("Train Model!"), "train-model");
        assert_eq!(dns_label("2nd"), "step-2nd");
        assert_eq!(dns_label("___"), "step");
        assert_eq!(dns_label(&"x".repeat(100)).len(), 63);
        // Names in any language: transliterated, with a hash of the original.
        let d = dns_label("données");
        assert!(d.starts_with("donnees-") && d.len() == "donnees-".len() + 4, "{d}");
        assert_ne!(dns_label("données"), dns_label("donnees"));
        assert_ne!(dns_label("résumé"), dns_label("resume"));
        let cjk = dns_label("数据");
        assert!(cjk.starts_with("step-") && cjk.len() == 9, "{cjk}");
        assert_ne!(cjk, dns_label("模型"));
        assert_eq!(dns_label("données"), dns_label("données"), "deterministic");
        for name in ["données", "数据", "Ünïcödé-Nämé", &"é".repeat(100)] {
            let l = dns_label(name);
            assert!(
                l.len() <= 63 && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{l}"
            );
            assert!(l.starts_with(|c: char| c.is_ascii_lowercase()) && !l.ends_with('-'), "{l}");
        }
        assert_eq!(python_identifier("load-data"), "load_data");
        assert_eq!(python_identifier("class"), "class_step");
        let mut taken = BTreeSet::new();
        assert_eq!(unique("a".into(), &mut taken, '-', 63), "a");
        assert_eq!(unique("a".into(), &mut taken, '-', 63), "a-2");
    }
}
