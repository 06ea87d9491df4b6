//! What a call does outside the name bindings: files it reads or writes (the tables of
//! file APIs are in [`resources`]) and namespaces it reads or binds dynamically.

use tree_sitter::Node;

use super::scope::Resolved;
use super::Analyzer;
use crate::python::resources::{self, PathArg};
use crate::python::{Effect, Span};

impl Analyzer<'_> {
    /// `globals()`, `locals()`, `vars()`, `exec(...)`, `eval(...)`, `__import__(...)`,
    /// `importlib.import_module(...)`.
    pub(super) fn dynamic_namespace(&mut self, call: Node, func: Node, args: Option<Node>) {
        let dynamic = match func.kind() {
            "identifier" => {
                let name = self.text_of(func);
                let known = match name {
                    "globals" | "locals" | "exec" | "eval" | "__import__" | "import_module" => true,
                    "vars" => !resources::has_arguments(args),
                    _ => false,
                };
                known && matches!(self.resolve(name), Resolved::Module)
            }
            "attribute" => resources::dotted_name(func, self.text).as_deref() == Some("importlib.import_module"),
            _ => false,
        };
        if dynamic {
            self.emit(Effect::DynamicNamespace {
                call: resources::callee_text(func, self.text),
                span: self.span(call),
            });
        }
    }

    /// File reads and writes of a call with a path argument (see [`resources`]).
    pub(super) fn file_effects(&mut self, call: Node, func: Node, args: Option<Node>) {
        let Some(args) = args.filter(|a| a.kind() == "argument_list") else {
            return;
        };
        let text = self.text;
        let span = self.span(call);
        let callee = resources::callee_text(func, text);
        let dotted = resources::dotted_name(func, text);
        let receiver = match func.kind() {
            "identifier" => None,
            "attribute" => func.child_by_field_name("object"),
            _ => return,
        };
        let last = match receiver {
            None => self.text_of(func),
            Some(_) => func.child_by_field_name("attribute").map_or("", |a| self.text_of(a)),
        };
        let prefix = dotted.as_deref().map_or("", |d| resources::split_callee(d).0);
        let path_receiver = receiver.and_then(|r| resources::path_constructor(r, text));
        let arg = |position: usize, keywords: &[&str]| {
            resources::call_argument(args, position, keywords, text).map(|a| resources::path_argument(a, text))
        };

        if dotted.as_deref().is_some_and(resources::is_open_callee) {
            let path = arg(0, &["file", "filename"]);
            let mode = resources::call_argument(args, 1, &["mode"], text);
            self.open_effects(path, mode, &callee, span);
        } else if last == "open" && path_receiver.is_some() {
            let mode = resources::call_argument(args, 0, &["mode"], text);
            self.open_effects(path_receiver, mode, &callee, span);
        } else if receiver.is_some() && matches!(last, "read_text" | "read_bytes" | "write_text" | "write_bytes") {
            let path = path_receiver.unwrap_or(PathArg::Unknown);
            self.file_access(path, last.starts_with("write"), &callee, span);
        } else if receiver.is_some() && resources::WRITERS.contains(&last) {
            if let Some(p) = arg(0, resources::WRITER_KEYWORDS) {
                self.file_access(p, true, &callee, span);
            }
        } else if !prefix.is_empty() && resources::READERS.contains(&last) {
            if let Some(p) = arg(0, resources::READER_KEYWORDS) {
                self.file_access(p, false, &callee, span);
            }
        } else if matches!(prefix, "np" | "numpy") {
            let write = match last {
                "save" | "savez" | "savez_compressed" | "savetxt" => true,
                "load" | "loadtxt" | "genfromtxt" => false,
                _ => return,
            };
            if let Some(p) = arg(0, &["file", "fname"]) {
                // numpy adds the extension when the name has none: `np.save("a", x)` writes `a.npy`.
                let extension = match last {
                    "save" => Some(".npy"),
                    "savez" | "savez_compressed" => Some(".npz"),
                    _ => None,
                };
                let p = match (p, extension) {
                    (resources::PathArg::Known(path), Some(ext)) if !path.ends_with(ext) => {
                        resources::PathArg::Known(format!("{path}{ext}"))
                    }
                    (p, _) => p,
                };
                self.file_access(p, write, &callee, span);
            }
        } else if matches!(prefix, "joblib" | "torch") {
            let (write, position, keyword) = match (prefix, last) {
                ("joblib", "dump") => (true, 1, "filename"),
                ("joblib", "load") => (false, 0, "filename"),
                ("torch", "save") => (true, 1, "f"),
                ("torch", "load") => (false, 0, "f"),
                _ => return,
            };
            if let Some(p) = arg(position, &[keyword]) {
                self.file_access(p, write, &callee, span);
            }
        } else if receiver.is_some() && last == "savefig" {
            if let Some(p) = arg(0, &["fname"]) {
                self.file_access(p, true, &callee, span);
            }
        } else if prefix == "shutil" && matches!(last, "copy" | "copy2" | "copyfile") {
            if let Some(p) = arg(0, &["src"]) {
                self.file_access(p, false, &callee, span);
            }
            if let Some(p) = arg(1, &["dst"]) {
                self.file_access(p, true, &callee, span);
            }
        } else if last == "ExcelWriter" {
            if let Some(p) = arg(0, &["path"]) {
                self.file_access(p, true, &callee, span);
            }
        }
    }

    /// `open(path, mode)`: read for `r`, write for `w`/`x`, both for `a`/`+` or a mode
    /// that is not a literal.
    fn open_effects(&mut self, path: Option<PathArg>, mode: Option<Node>, callee: &str, span: Span) {
        let Some(path) = path else { return };
        let mode = match mode {
            None => Some("r".to_string()),
            Some(m) => resources::string_literal(m, self.text),
        };
        let (read, write) = match mode.as_deref() {
            Some(m) if m.contains(['w', 'x']) && !m.contains('+') => (false, true),
            Some(m) if m.contains(['a', '+']) => (true, true),
            Some(_) => (true, false),
            None => (true, true),
        };
        if read {
            self.file_access(path.clone(), false, callee, span);
        }
        if write {
            self.file_access(path, true, callee, span);
        }
    }

    fn file_access(&mut self, path: PathArg, write: bool, callee: &str, span: Span) {
        let e = match path {
            PathArg::Known(path) if write => Effect::FileWrite { path, span },
            PathArg::Known(path) => Effect::FileRead { path, span },
            PathArg::Unknown => Effect::FileUnknown { call: callee.to_string(), write, span },
            PathArg::NotAFile => return,
        };
        self.emit(e);
    }
}
