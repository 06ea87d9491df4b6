//! Requirement files named by `pip install -r FILE` in a notebook: read from the notebook's
//! folder at convert time, so that their packages go to the step like the ones written on
//! the install line.

use std::path::Path;

use crate::python::pip::{self, PipCommands};

/// Files nested with `-r` deeper than this are not read.
const MAX_NESTING: usize = 8;

/// What a requirement file asks for, as if its lines were written after `pip install`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RequirementFile {
    pub requirements: Vec<String>,
    pub options: Vec<String>,
    pub warnings: Vec<(String, String)>,
}

/// Reads `name` relative to `dir` (nested `-r` files relative to the file that names them).
/// `Err` when the file cannot be read.
pub fn read(dir: &Path, name: &str) -> Result<RequirementFile, String> {
    let mut out = RequirementFile::default();
    read_into(dir, name, 0, &mut out)?;
    Ok(out)
}

fn read_into(dir: &Path, name: &str, depth: usize, out: &mut RequirementFile) -> Result<(), String> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    // Backslash-newline continues a line; `#` starts a comment at a line start or after
    // whitespace (pip's rules).
    let joined = text.replace("\\\r\n", "").replace("\\\n", "");
    for line in joined.lines() {
        let line = match line.find(" #").or_else(|| line.find("\t#")) {
            Some(i) => &line[..i],
            None if line.trim_start().starts_with('#') => "",
            None => line,
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        // A requirement line may hold spaces (`pkg >= 1.0 ; python_version < "3.9"`): quote
        // it whole unless it is an option line.
        let command = if line.starts_with('-') {
            format!("pip install {line}")
        } else {
            format!("pip install '{}'", line.replace('\'', "'\\''"))
        };
        let Some(PipCommands { requirements, options, requirement_files, warnings, .. }) = pip::parse_shell(&command)
        else {
            continue;
        };
        extend_unique(&mut out.requirements, requirements);
        out.options.extend(options);
        out.warnings.extend(warnings);
        for nested in requirement_files {
            let base = path.parent().unwrap_or(dir);
            if depth + 1 >= MAX_NESTING {
                out.warnings.push((
                    format!("`-r {nested}` is nested too deeply in `{name}`; it is not read"),
                    "list the packages in fewer files".into(),
                ));
                continue;
            }
            read_into(base, &nested, depth + 1, out)?;
        }
    }
    Ok(())
}

fn extend_unique(into: &mut Vec<String>, items: Vec<String>) {
    for i in items {
        if !into.contains(&i) {
            into.push(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_requirements_and_options() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("requirements.txt"),
            "# the notebook's packages\npandas>=2.1  # data frames\nscikit-learn \\\n  ==1.6.1\n\n--extra-index-url https://x.example/simple\nnumpy ; python_version >= \"3.9\"\n-r more/extra.txt\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("more")).unwrap();
        std::fs::write(dir.path().join("more/extra.txt"), "seaborn\n./local_pkg\n").unwrap();
        let r = read(dir.path(), "requirements.txt").unwrap();
        assert_eq!(
            r.requirements,
            ["pandas>=2.1", "scikit-learn   ==1.6.1", "numpy ; python_version >= \"3.9\"", "seaborn"]
        );
        assert_eq!(r.options, ["--extra-index-url", "https://x.example/simple"]);
        assert_eq!(r.warnings.len(), 1, "the local path: {:?}", r.warnings);
        assert!(read(dir.path(), "missing.txt").unwrap_err().contains("missing.txt"));
    }
}
