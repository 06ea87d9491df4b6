//! Cell tags: Kale 2.3's grammar (plus `block:`, Kale 0.x's spelling of `step:`), parsed
//! into what each cell is for and which step settings it carries.
//!
//! Unlike Kale, nothing is dropped silently: a tag nbkf does not know is reported (an
//! error with a "did you mean" hint when it looks like a misspelt nbkf tag, a warning
//! otherwise, since notebooks carry tags for other tools such as `hide-input`), and
//! values keep every character (`annotation:url:http://x:8080` keeps both colons).

use crate::diagnostics::Diagnostic;
use crate::notebook::Cell;

/// What a code cell is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// `imports`: runs at the start of every step.
    Imports,
    /// `functions`: runs at the start of every step, after the imports.
    Functions,
    /// `pipeline-parameters`: literal assignments that become pipeline parameters.
    PipelineParameters,
    /// `parameters` (papermill's, and JupyterLab's, convention): pipeline parameters when
    /// the cell holds only literal assignments, ordinary code otherwise.
    PapermillParameters,
    /// `pipeline-metrics`: variables reported as KFP metrics.
    PipelineMetrics,
    /// `skip`: not part of the pipeline.
    Skip,
    /// `step:<name>` / `block:<name>`: starts (or, when the name was used before, adds to)
    /// a step.
    Step(String),
    /// No role tag: the cell continues whatever came before it.
    Continue,
}

/// A per-step setting carried by a tag (on a step cell or in `steps_defaults`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepSetting {
    /// `limit:<resource>:<quantity>`: cpu, memory, or an extended resource such as
    /// `nvidia.com/gpu`.
    Limit { resource: String, quantity: String },
    /// `annotation:<key>:<value>`
    Annotation { key: String, value: String },
    /// `label:<key>:<value>`
    Label { key: String, value: String },
    /// `secret:<secret>:<key>:<ENV>`: the secret's key as an environment variable.
    Secret { secret: String, key: String, env: String },
    /// `image:<ref>`
    Image(String),
    /// `cache:enabled|disabled`
    Cache(bool),
    /// `report:enabled|disabled`
    Report(bool),
    /// `for:<list>`: the step runs once per item of the list (its cell is a loop over it).
    ForEach(String),
    /// `parallelism:<n>`: at most n items of a `for:` step run at once.
    Parallelism(u32),
    /// `finally`: the step is the pipeline's exit step. It runs after all the other steps,
    /// also when one of them failed (KFP's `dsl.ExitHandler`).
    Finally,
}

/// The tags of one cell, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellTags {
    pub role: Role,
    /// `prev:<name>` tags, as written.
    pub prev: Vec<String>,
    /// Step settings, in tag order, each with its tag text.
    pub settings: Vec<(StepSetting, String)>,
}

/// The role tags with no value, and what they mean.
const KEYWORDS: &[(&str, Role)] = &[
    ("imports", Role::Imports),
    ("functions", Role::Functions),
    ("pipeline-parameters", Role::PipelineParameters),
    ("parameters", Role::PapermillParameters),
    ("pipeline-metrics", Role::PipelineMetrics),
    ("skip", Role::Skip),
];

/// Step-setting tags with no value.
const SETTING_KEYWORDS: &[(&str, StepSetting)] = &[("finally", StepSetting::Finally)];

/// Tag prefixes nbkf understands (the text before the first `:`).
const PREFIXES: &[&str] = &[
    "step",
    "block",
    "prev",
    "limit",
    "annotation",
    "label",
    "secret",
    "image",
    "cache",
    "report",
    "notebook",
    "for",
    "parallelism",
];

/// Parses the tags of a code cell. Diagnostics name the cell and the tag.
pub fn parse_cell_tags(cell: &Cell) -> (CellTags, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut roles: Vec<(Role, &str)> = Vec::new();
    let mut prev = Vec::new();
    let mut settings = Vec::new();
    for tag in &cell.tags {
        let err =
            |code: &'static str, msg: String| Diagnostic::error(code, msg).in_cell(cell.index).with_tag(tag.clone());
        if let Some((_, role)) = KEYWORDS.iter().find(|(k, _)| k == tag) {
            roles.push((role.clone(), tag));
            continue;
        }
        if let Some((_, setting)) = SETTING_KEYWORDS.iter().find(|(k, _)| k == tag) {
            settings.push((setting.clone(), tag.clone()));
            continue;
        }
        let Some((prefix, value)) = tag.split_once(':') else {
            diags.extend(unknown_tag(cell, tag));
            continue;
        };
        match prefix {
            "step" | "block" => {
                if value.is_empty() {
                    // Kale: an empty step name is the same as no step tag.
                    continue;
                }
                match check_step_name(value) {
                    Ok(()) => roles.push((Role::Step(value.to_string()), tag)),
                    Err(why) => diags.push(
                        err("invalid-step-name", format!("invalid step name `{value}`: {why}"))
                            .with_hint(format!("try `{prefix}:{}`", suggest_step_name(value))),
                    ),
                }
            }
            "prev" => match check_step_name(value) {
                Ok(()) => prev.push(value.to_string()),
                Err(why) => diags.push(err("invalid-step-name", format!("invalid step name in `prev:`: {why}"))),
            },
            "for" => match crate::names::is_python_identifier(value) {
                true => settings.push((StepSetting::ForEach(value.to_string()), tag.clone())),
                false => diags.push(
                    err("invalid-tag", format!("`{tag}`: `{value}` is not a Python name"))
                        .with_hint("write `for:<list>` with the name of the list the cell's loop goes over"),
                ),
            },
            // Expanded before the tags are read (`notebook::compose`): the cell itself runs
            // nothing.
            "notebook" => roles.push((Role::Skip, tag)),
            _ => match parse_setting(tag) {
                Ok(Some(setting)) => settings.push((setting, tag.clone())),
                Ok(None) => diags.extend(unknown_tag(cell, tag)),
                Err((message, hint)) => {
                    let mut d = err("invalid-tag", message);
                    if let Some(h) = hint {
                        d = d.with_hint(h);
                    }
                    diags.push(d)
                }
            },
        }
    }

    let role = match roles.as_slice() {
        [] => Role::Continue,
        [(role, _)] => role.clone(),
        many => {
            if let Some((_, skip_tag)) = many.iter().find(|(r, _)| *r == Role::Skip) {
                diags.push(
                    Diagnostic::warning(
                        "conflicting-tags",
                        "the cell is tagged `skip` and also with other roles; it is skipped",
                    )
                    .in_cell(cell.index)
                    .with_tag(skip_tag.to_string()),
                );
                Role::Skip
            } else {
                let names: Vec<String> = many.iter().map(|(_, t)| format!("`{t}`")).collect();
                let code = if many.iter().all(|(r, _)| matches!(r, Role::Step(_))) {
                    "multiple-steps"
                } else {
                    "conflicting-tags"
                };
                diags.push(
                    Diagnostic::error(code, format!("a cell can have one role, but this one has {}", names.join(", ")))
                        .in_cell(cell.index)
                        .with_hint("keep one of these tags; split the cell if it holds code for several steps"),
                );
                many[0].0.clone()
            }
        }
    };
    if !matches!(role, Role::Step(_) | Role::Continue) {
        let ignored: Vec<&str> = prev.iter().map(|_| "prev:").chain(settings.iter().map(|(_, t)| t.as_str())).collect();
        if !ignored.is_empty() {
            diags.push(
                Diagnostic::warning(
                    "ignored-tag",
                    format!(
                        "step tags on a cell that is not part of a step have no effect: {}",
                        cell_tag_list(cell, &role)
                    ),
                )
                .in_cell(cell.index)
                .with_hint("move these tags to a step's cell"),
            );
        }
    }
    (CellTags { role, prev, settings }, diags)
}

fn cell_tag_list(cell: &Cell, role: &Role) -> String {
    let role_tag = match role {
        Role::Imports => "imports",
        Role::Functions => "functions",
        Role::PipelineParameters => "pipeline-parameters",
        Role::PapermillParameters => "parameters",
        Role::PipelineMetrics => "pipeline-metrics",
        Role::Skip => "skip",
        _ => "",
    };
    let others: Vec<String> = cell
        .tags
        .iter()
        .filter(|t| t.contains(':') || SETTING_KEYWORDS.iter().any(|(k, _)| k == t))
        .map(|t| format!("`{t}`"))
        .collect();
    format!("{} on a `{role_tag}` cell", others.join(", "))
}

/// Parses a step-setting tag (`limit:`, `annotation:`, `label:`, `secret:`, `image:`,
/// `cache:`, `report:`). `Ok(None)` when the tag is not a setting at all.
/// Errors are `(message, hint)`.
pub fn parse_setting(tag: &str) -> Result<Option<StepSetting>, (String, Option<String>)> {
    let Some((prefix, rest)) = tag.split_once(':') else { return Ok(None) };
    let setting = match prefix {
        "limit" => {
            let (resource, quantity) = rest.split_once(':').ok_or_else(|| {
                (
                    format!("`{tag}` needs a resource and a value"),
                    Some("write `limit:cpu:2`, `limit:memory:4Gi` or `limit:nvidia.com/gpu:1`".to_string()),
                )
            })?;
            check_resource(resource, quantity)?;
            StepSetting::Limit { resource: resource.to_string(), quantity: quantity.to_string() }
        }
        "annotation" | "label" => {
            let (key, value) = rest.split_once(':').ok_or_else(|| {
                (format!("`{tag}` needs a key and a value"), Some(format!("write `{prefix}:<key>:<value>`")))
            })?;
            check_qualified_name(key).map_err(|why| (format!("invalid {prefix} key `{key}`: {why}"), None))?;
            if prefix == "label" {
                check_label_value(value).map_err(|why| (format!("invalid label value `{value}`: {why}"), Some("Kubernetes label values are at most 63 characters of letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit; use an `annotation:` for free text".to_string())))?;
                StepSetting::Label { key: key.to_string(), value: value.to_string() }
            } else {
                StepSetting::Annotation { key: key.to_string(), value: value.to_string() }
            }
        }
        "secret" => {
            let parts: Vec<&str> = rest.splitn(3, ':').collect();
            let [secret, key, env] = parts.as_slice() else {
                return Err((
                    format!("`{tag}` needs a secret name, a key and an environment variable"),
                    Some("write `secret:<secret-name>:<key>:<ENV_VAR>`".to_string()),
                ));
            };
            check_dns_subdomain(secret).map_err(|why| (format!("invalid secret name `{secret}`: {why}"), None))?;
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)) {
                return Err((format!("invalid secret key `{key}`: use letters, digits, `-`, `_` and `.`"), None));
            }
            if !is_env_name(env) {
                return Err((
                    format!("invalid environment variable name `{env}`"),
                    Some("use letters, digits and `_`, not starting with a digit".to_string()),
                ));
            }
            StepSetting::Secret { secret: secret.to_string(), key: key.to_string(), env: env.to_string() }
        }
        "image" => {
            if rest.is_empty() || rest.chars().any(char::is_whitespace) {
                return Err((
                    format!("invalid image reference `{rest}`"),
                    Some("write `image:<registry>/<name>:<tag>`, e.g. `image:python:3.11`".to_string()),
                ));
            }
            StepSetting::Image(rest.to_string())
        }
        "parallelism" => match rest.parse::<u32>() {
            Ok(n) if n > 0 => StepSetting::Parallelism(n),
            _ => {
                return Err((
                    format!("`{tag}`: the value must be a whole number above 0"),
                    Some("write `parallelism:4` to run at most 4 items of a `for:` step at once".to_string()),
                ))
            }
        },
        "cache" | "report" => {
            let on = match rest {
                "enabled" => true,
                "disabled" => false,
                _ => {
                    return Err((
                        format!("`{tag}`: the value must be `enabled` or `disabled`"),
                        Some(format!("write `{prefix}:enabled` or `{prefix}:disabled`")),
                    ))
                }
            };
            if prefix == "cache" {
                StepSetting::Cache(on)
            } else {
                StepSetting::Report(on)
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(setting))
}

/// A diagnostic for a tag nbkf does not know: an error when it looks like a misspelt nbkf
/// tag (it would otherwise silently change the pipeline), a warning otherwise.
fn unknown_tag(cell: &Cell, tag: &str) -> Option<Diagnostic> {
    let head = tag.split(':').next().unwrap_or(tag);
    // `setp:train` can only mean a prefix tag; `improts` only a keyword.
    let candidates: Vec<&str> = if tag.contains(':') {
        PREFIXES.to_vec()
    } else {
        KEYWORDS.iter().map(|(k, _)| *k).chain(SETTING_KEYWORDS.iter().map(|(k, _)| *k)).collect()
    };
    let best = candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&head.to_lowercase(), c), c))
        .filter(|(d, c)| *d <= 2.min(c.len() / 3 + 1) || head.eq_ignore_ascii_case(c))
        .min();
    match best {
        Some((_, known)) => {
            let suggestion = if PREFIXES.contains(&known) {
                format!("{known}:{}", tag.split_once(':').map_or("<value>", |(_, v)| v))
            } else {
                known.to_string()
            };
            Some(
                Diagnostic::error("unknown-tag", format!("unknown tag `{tag}`"))
                    .in_cell(cell.index)
                    .with_tag(tag)
                    .with_hint(format!("did you mean `{suggestion}`?")),
            )
        }
        None => Some(
            Diagnostic::warning("foreign-tag", format!("tag `{tag}` is not an nbkf tag; it is ignored"))
                .in_cell(cell.index)
                .with_tag(tag),
        ),
    }
}

/// Step names: letters and digits of any language (as Python identifiers take them),
/// `_` and `-` (a superset of Kale's `[_a-z][_a-z0-9]*`).
pub fn check_step_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if let Some(c) = name.chars().find(|c| !(c.is_alphanumeric() || *c == '_' || *c == '-')) {
        return Err(format!("`{c}` is not allowed; use letters, digits, `_` and `-`"));
    }
    if !name.chars().any(char::is_alphanumeric) {
        return Err("the name needs at least one letter or digit".into());
    }
    Ok(())
}

fn suggest_step_name(name: &str) -> String {
    let s: String =
        name.chars().map(|c| if c.is_alphanumeric() { c.to_lowercase().next().unwrap_or(c) } else { '_' }).collect();
    let s = s.trim_matches('_').to_string();
    if s.is_empty() {
        "step".into()
    } else {
        s
    }
}

fn check_resource(resource: &str, quantity: &str) -> Result<(), (String, Option<String>)> {
    let gpu_like = resource.contains('/');
    if !(resource == "cpu" || resource == "memory" || gpu_like) {
        return Err((
            format!("unknown resource `{resource}` in `limit:`"),
            Some("use `cpu`, `memory`, or an extended resource such as `nvidia.com/gpu` or `amd.com/gpu`".into()),
        ));
    }
    if gpu_like {
        check_qualified_name(resource).map_err(|why| (format!("invalid resource name `{resource}`: {why}"), None))?;
        if quantity.parse::<u32>().map_or(true, |n| n == 0) {
            return Err((
                format!("`{resource}` needs a whole number of devices, not `{quantity}`"),
                Some(format!("write `limit:{resource}:1`")),
            ));
        }
    } else if !is_quantity(quantity) {
        return Err((
            format!("`{quantity}` is not a Kubernetes quantity"),
            Some(if resource == "cpu" {
                "write e.g. `limit:cpu:2` or `limit:cpu:500m`".into()
            } else {
                "write e.g. `limit:memory:4Gi` or `limit:memory:512Mi`".into()
            }),
        ));
    }
    Ok(())
}

/// A Kubernetes resource quantity: a positive decimal number with an optional suffix.
fn is_quantity(q: &str) -> bool {
    let suffixes = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "K", "M", "G", "T", "P", "E", ""];
    suffixes.iter().any(|suf| {
        q.strip_suffix(suf).is_some_and(|num| {
            !num.is_empty()
                && num.chars().all(|c| c.is_ascii_digit() || c == '.')
                && num.chars().filter(|c| *c == '.').count() <= 1
                && num.chars().any(|c| c.is_ascii_digit())
                && num.parse::<f64>().is_ok_and(|v| v > 0.0)
        })
    })
}

/// A Kubernetes qualified name: `[prefix/]name`, as used by label and annotation keys.
fn check_qualified_name(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        check_dns_subdomain(p).map_err(|why| format!("the prefix `{p}` {why}"))?;
    }
    if name.is_empty() || name.len() > 63 {
        return Err("the name must be 1 to 63 characters".into());
    }
    let ok_inner = name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    let ok_ends =
        name.starts_with(|c: char| c.is_ascii_alphanumeric()) && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !(ok_inner && ok_ends) {
        return Err("use letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit".into());
    }
    Ok(())
}

fn check_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    check_qualified_name(value).map_err(|e| e.replace("the name", "the value"))?;
    if value.contains('/') {
        return Err("`/` is not allowed".into());
    }
    Ok(())
}

fn check_dns_subdomain(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|part| {
            !part.is_empty()
                && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err("must be a DNS subdomain: lower-case letters, digits, `-` and `.`".into())
    }
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests;
