//! The walk: the cells in notebook order, keeping the binding of every module-level name,
//! and what each effect of a cell does to the bindings and the steps.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use super::checks::file_variable;
use super::layout::Layout;
use crate::diagnostics::Diagnostic;
use crate::plan::hidden_state::is_read_only_method;
use crate::plan::{ChoiceCode, InjectedCode};
use crate::python::{self, Arg, BindKind, CellFacts, Effect, Span, ValueHint};

/// Where a binding lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Unit {
    /// `imports`/`functions` cells: run at the start of every step.
    Prelude,
    /// The pipeline parameters.
    Params,
    Step(usize),
}

/// What a name is bound to.
#[derive(Debug, Clone)]
pub(super) enum Kind {
    Value,
    Param,
    Import {
        module: String,
        attribute: Option<String>,
        statement: String,
    },
    Definition(Rc<DefinitionInfo>),
    /// Bound in a branch (`if`/`else`, `try`/`except`, `match`, a loop) to one of several
    /// definitions or imports, or kept its old value: it travels as a value, whose artifact
    /// says which definition ran (the reader runs that one).
    Choice(Rc<ChoiceInfo>),
    Deleted,
}

impl Kind {
    /// Whether the name holds data a step passes on (not code).
    pub(super) fn is_data(&self) -> bool {
        matches!(self, Kind::Value | Kind::Param | Kind::Choice(_))
    }

    /// The definitions the name may be bound to.
    pub(super) fn definitions(&self) -> Vec<Rc<DefinitionInfo>> {
        match self {
            Kind::Definition(d) => vec![d.clone()],
            Kind::Choice(c) => c.candidates.clone(),
            _ => Vec::new(),
        }
    }
}

/// A `def`/`class` binding: its code, and what its definition reads.
#[derive(Debug)]
pub(super) struct DefinitionInfo {
    pub(super) name: String,
    pub(super) is_class: bool,
    pub(super) source: String,
    pub(super) cell: usize,
    pub(super) start: usize,
    /// The statement's first and last line in its cell (1-based).
    pub(super) lines: (usize, usize),
    pub(super) call_effects: Vec<Effect>,
    pub(super) mutated_params: Vec<(usize, String)>,
    /// Names read when the definition runs (decorators, defaults, base classes), with the
    /// bindings they had then.
    pub(super) def_time: Vec<(String, Binding)>,
}

impl DefinitionInfo {
    /// How the runtime names this definition: (cell, first line, last line).
    pub(super) fn key(&self) -> (usize, usize, usize) {
        (self.cell, self.lines.0, self.lines.1)
    }
}

/// The definitions a conditionally bound name may hold (else it holds a value or a
/// module, passed on as such).
#[derive(Debug, Default)]
pub(super) struct ChoiceInfo {
    pub(super) candidates: Vec<Rc<DefinitionInfo>>,
}

/// The binding a name has at a point of the walk: where it was made and to what.
#[derive(Debug, Clone)]
pub(super) struct Binding {
    pub(super) unit: Unit,
    pub(super) cell: usize,
    pub(super) kind: Kind,
}

/// One variable read by a step from another step.
#[derive(Debug, Clone)]
pub(super) struct Route {
    pub(super) variable: String,
    pub(super) producer: usize,
    pub(super) consumer: usize,
    pub(super) binding_cell: usize,
    pub(super) reader_cell: usize,
    pub(super) span: Span,
}

/// What the walk has found out about one step so far; becomes its [`StepPlan`](crate::plan::StepPlan).
#[derive(Debug, Default)]
pub(super) struct StepAccumulator {
    pub(super) params: BTreeSet<String>,
    pub(super) inputs: BTreeMap<String, Route>,
    pub(super) outputs: BTreeSet<String>,
    pub(super) definitions: BTreeMap<(usize, String), InjectedCode>,
    pub(super) definition_order: HashMap<(usize, String), (usize, usize)>,
    pub(super) metrics: Vec<(String, String)>,
    /// Modules imported by code copied into the step, with the cell the import is in.
    pub(super) modules: BTreeMap<String, usize>,
    /// Definitions the step may run, one of which an input names: variable → candidates.
    pub(super) choices: BTreeMap<String, Vec<ChoiceCode>>,
    /// For outputs bound in a branch: where each possible definition is.
    pub(super) candidates: BTreeMap<String, Vec<(usize, usize, usize)>>,
    /// Packages the step needs beyond its imports (cloudpickle for lambdas it passes on).
    pub(super) extra_packages: BTreeSet<String>,
}

/// Two names that refer to the same object (or one contains the other), as established
/// by `b = a`, `b = [a, c]`, `for b in a`: changing one changes the other.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct AliasLink {
    pub(super) a: String,
    pub(super) a_cell: usize,
    pub(super) b: String,
    pub(super) b_cell: usize,
    /// Where the link was made: only there (or in the prelude, which every step runs) do
    /// the two names share an object; steps load each variable separately.
    pub(super) unit: Unit,
    pub(super) cell: usize,
}

/// The state of the walk over the cells, in notebook order.
pub(super) struct Walk<'a> {
    pub(super) layout: &'a Layout,
    pub(super) bindings: HashMap<String, Binding>,
    /// Active `from m import *`: (unit, cell, module).
    pub(super) stars: Vec<(Unit, usize, String)>,
    pub(super) steps: Vec<StepAccumulator>,
    pub(super) prelude_params: BTreeSet<String>,
    pub(super) routes: Vec<Route>,
    /// Cells in which each unit wrote each name, in order.
    pub(super) writes: HashMap<(Unit, String), Vec<usize>>,
    pub(super) diags: Vec<Diagnostic>,
    pub(super) reported_undefined: HashSet<(usize, String)>,
    /// Reads of the current cell, with the bindings they resolved to (for def-time reads).
    cell_reads: Vec<(String, Span, Option<Binding>)>,
    /// Names the current cell binds somewhere (a read before the binding in a loop is fine).
    pub(super) cell_binds: HashSet<String>,
    /// The last step that read each name (for metrics of values every step has).
    pub(super) readers: HashMap<String, usize>,
    /// Every alias link made so far, in order, each once (see [`Walk::link`]).
    pub(super) aliases: Vec<AliasLink>,
    /// The links in `aliases`, to keep each once: a cell that changes an aliased object
    /// many times (a loop of item assignments) must not make the list grow with each change.
    pub(super) alias_set: HashSet<AliasLink>,
    /// For each name, the links in `aliases` it is part of (in order).
    pub(super) alias_index: HashMap<String, Vec<usize>>,
    /// What is known about the value of each name, from the expression that made it.
    pub(super) hints: HashMap<String, (ValueHint, usize, Span)>,
    /// Names that had a binding on every path at some point.
    unconditional: HashSet<String>,
    /// Names bound only on some paths so far: where.
    pub(super) conditional_only: HashMap<String, (usize, Span)>,
    /// Files written at paths nbkf cannot know: (unit, cell, span, call).
    pub(super) unknown_writes: Vec<(Unit, usize, Span, String)>,
    /// Warnings already given, by code and subject (each is said once).
    pub(super) warned: HashSet<(&'static str, String)>,
    /// Process settings and module attributes steps carry (`@state:...`, `@attr:...`):
    /// every step after the one that changed them reads them.
    pub(super) process_state: BTreeSet<String>,
    /// (step, name, cell): the step passes on, unchanged, a value it loaded, because it
    /// made an alias of it there (see [`Walk::mutate`]).
    pub(super) relays: HashSet<(usize, String, usize)>,
}

/// How much a read needs its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    /// It runs whenever the cell runs: a name never defined is an error.
    Always,
    /// It runs on some paths only (a branch, loop, `try`): a name never defined is a
    /// warning, as Jupyter runs such code.
    Maybe,
    /// It runs at call time or is guarded: nothing is reported.
    Soft,
}

impl Need {
    pub(super) fn soft(soft: bool) -> Self {
        if soft {
            Need::Soft
        } else {
            Need::Always
        }
    }
}

/// How deep function call-time effects are expanded into other functions' (and
/// definition-time reads followed), so that recursion and long chains stop.
pub(super) const MAX_EXPANSION_DEPTH: usize = 64;

impl<'a> Walk<'a> {
    pub(super) fn new(layout: &'a Layout) -> Self {
        Walk {
            layout,
            bindings: HashMap::new(),
            stars: Vec::new(),
            steps: (0..layout.steps.len()).map(|_| StepAccumulator::default()).collect(),
            prelude_params: BTreeSet::new(),
            routes: Vec::new(),
            writes: HashMap::new(),
            diags: Vec::new(),
            reported_undefined: HashSet::new(),
            cell_reads: Vec::new(),
            cell_binds: HashSet::new(),
            readers: HashMap::new(),
            aliases: Vec::new(),
            alias_set: HashSet::new(),
            alias_index: HashMap::new(),
            hints: HashMap::new(),
            unconditional: HashSet::new(),
            conditional_only: HashMap::new(),
            unknown_writes: Vec::new(),
            warned: HashSet::new(),
            process_state: BTreeSet::new(),
            relays: HashSet::new(),
        }
    }

    /// Applies the effects of one cell of `unit`, in order.
    pub(super) fn cell(&mut self, unit: Unit, cell: usize, facts: &CellFacts) {
        self.cell_reads.clear();
        self.cell_binds = facts
            .effects
            .iter()
            .filter_map(|e| if let Effect::Bind { name, .. } = e { Some(name.clone()) } else { None })
            .collect();
        // Settings an earlier step changed apply to everything that runs after it.
        if let Unit::Step(_) = unit {
            for variable in self.process_state.clone() {
                self.read(unit, cell, &variable, Span::default(), Need::Soft);
            }
        }
        let mut expanding = Vec::new();
        for effect in &facts.effects {
            self.effect(unit, cell, effect, None, facts, &mut expanding);
        }
    }

    /// Applies one effect. `call_site` is set while expanding a function body's call-time
    /// effects at the place the function is used.
    fn effect(
        &mut self,
        unit: Unit,
        cell: usize,
        effect: &Effect,
        call_site: Option<Span>,
        facts: &CellFacts,
        expanding: &mut Vec<(usize, String)>,
    ) {
        let here = |span: Span| call_site.unwrap_or(span);
        match effect {
            Effect::Read { name, span, soft, conditional } => {
                let need = match (*soft || call_site.is_some(), *conditional) {
                    (true, _) => Need::Soft,
                    (false, true) => Need::Maybe,
                    (false, false) => Need::Always,
                };
                let binding = self.read(unit, cell, name, here(*span), need);
                if call_site.is_none() {
                    self.cell_reads.push((name.clone(), *span, binding.clone()));
                }
                if let Some(b) = binding {
                    for def in b.kind.definitions() {
                        self.expand(unit, cell, &def, here(*span), facts, expanding);
                    }
                }
            }
            Effect::Bind { name, span, kind, conditional, exhaustive } => {
                let may_keep_old = (*conditional && !*exhaustive) || call_site.is_some();
                if may_keep_old {
                    // The name may keep its old value: the step needs it.
                    self.read(unit, cell, name, here(*span), Need::Soft);
                }
                if call_site.is_none() {
                    self.hints.remove(name);
                    if may_keep_old {
                        if !self.unconditional.contains(name) {
                            self.conditional_only.entry(name.clone()).or_insert((cell, *span));
                        }
                    } else {
                        self.unconditional.insert(name.clone());
                        self.conditional_only.remove(name);
                    }
                    self.check_shadowing(cell, name, *span);
                    if let BindKind::Definition(i) = kind {
                        for e in facts.definitions.get(*i).map(|d| d.call_effects.as_slice()).unwrap_or_default() {
                            if let Effect::DynamicNamespace { call, span } = e {
                                self.dynamic_namespace(cell, call, *span);
                            }
                        }
                    }
                }
                let previous = self.bindings.get(name).map(|b| b.kind.clone());
                let kind = match kind {
                    BindKind::Value => Kind::Value,
                    BindKind::Import { module, attribute, statement } => Kind::Import {
                        module: module.clone(),
                        attribute: attribute.clone(),
                        statement: statement.clone(),
                    },
                    BindKind::Definition(i) => match facts.definitions.get(*i) {
                        Some(d) if call_site.is_none() => {
                            let def_time = self
                                .cell_reads
                                .iter()
                                .filter(|(_, s, _)| s.start >= d.span.start && s.end <= d.span.end)
                                .filter_map(|(n, _, b)| b.clone().map(|b| (n.clone(), b)))
                                .collect();
                            let first = d.span.line;
                            Kind::Definition(Rc::new(DefinitionInfo {
                                name: d.name.clone(),
                                is_class: d.kind == python::DefinitionKind::Class,
                                source: d.source.clone(),
                                cell,
                                start: d.span.start,
                                lines: (first, first + d.source.lines().count().max(1) - 1),
                                call_effects: d.call_effects.clone(),
                                mutated_params: d.mutated_params.clone(),
                                def_time,
                            }))
                        }
                        _ => Kind::Value,
                    },
                };
                // Code bound in a branch travels as which of its definitions ran.
                let kind = match kind {
                    Kind::Definition(_) | Kind::Import { .. } if *conditional && call_site.is_none() => {
                        choice(previous.as_ref(), &kind)
                    }
                    k => k,
                };
                // A new definition has the attributes its code gives it.
                self.bindings.remove(&format!("@attrs:{name}"));
                self.write(unit, cell, name, kind);
            }
            Effect::Mutate { name, span, path } => {
                let span = here(*span);
                let Some(b) = self.read(unit, cell, name, span, Need::soft(call_site.is_some())) else { return };
                match &b.kind {
                    Kind::Import { module, attribute, .. } => {
                        let full = dotted(module, attribute.as_deref(), path);
                        self.setting(unit, cell, &full, true, span);
                    }
                    _ => self.mutate(unit, cell, name, &b),
                }
            }
            Effect::MethodCall { receiver, path, span, inplace, args, kwargs } => {
                let span = here(*span);
                let Some(b) = self.bindings.get(receiver).cloned() else {
                    // `list.append(xs, 1)`, `dict.update(d, e)`: a builtin type's method
                    // called with its object as the first argument.
                    if crate::plan::builtins::is_builtin(receiver) && !is_read_only_method(path, *inplace) {
                        let first = names(&args[..args.len().min(1)]);
                        self.change_arguments(unit, cell, &first, span, call_site, facts, expanding);
                    }
                    return;
                };
                match &b.kind {
                    Kind::Import { module, attribute, .. } => {
                        let full = dotted(module, attribute.as_deref(), path);
                        if let Some((function, prefix)) = path.split_last() {
                            let mut owner = dotted(module, attribute.as_deref(), &[]);
                            for p in prefix {
                                owner.push('.');
                                owner.push_str(p);
                            }
                            self.random(unit, cell, &owner, function, span);
                        }
                        self.setting(unit, cell, &full, false, span);
                        let changed = self.library_call_changes(&full, args, kwargs);
                        self.change_arguments(unit, cell, &changed, span, call_site, facts, expanding);
                    }
                    k if k.is_data() && !is_read_only_method(path, *inplace) => self.mutate(unit, cell, receiver, &b),
                    Kind::Definition(_) => self.mutate(unit, cell, receiver, &b),
                    _ => {}
                }
                if !matches!(b.kind, Kind::Import { .. }) {
                    let method = path.last().map(String::as_str).unwrap_or("");
                    let changed = names(&super::calls::method_changed_args(method, args, kwargs));
                    self.change_arguments(unit, cell, &changed, span, call_site, facts, expanding);
                }
            }
            Effect::Call { callee, args, kwargs, span } => {
                let span = here(*span);
                let changed = match self.bindings.get(callee).cloned() {
                    Some(b) => match &b.kind {
                        Kind::Import { module, attribute, .. } => {
                            if let Some(function) = attribute {
                                self.random(unit, cell, module, function, span);
                            }
                            let full = dotted(module, attribute.as_deref(), &[]);
                            self.setting(unit, cell, &full, false, span);
                            self.library_call_changes(&full, args, kwargs)
                        }
                        Kind::Definition(_) | Kind::Choice(_) => {
                            let mut changed = Vec::new();
                            for def in b.kind.definitions() {
                                let params = self.mutated_params(&def, 0);
                                changed.extend(names(&super::calls::changed_args(&def, &params, args, kwargs)));
                            }
                            changed
                        }
                        // Calling a value (`model(x)`): nothing says it leaves `x` alone.
                        _ => names(&super::calls::all_args(args, kwargs)),
                    },
                    None if callee.is_empty() => names(&super::calls::all_args(args, kwargs)),
                    None => names(&super::calls::builtin_changed_args(callee, args, kwargs)),
                };
                self.change_arguments(unit, cell, &changed, span, call_site, facts, expanding);
            }
            Effect::SetState { setting, span } => {
                let span = here(*span);
                self.setting(unit, cell, setting, true, span);
            }
            Effect::Delete { name, span } => {
                self.read(unit, cell, name, here(*span), Need::soft(call_site.is_some()));
                self.write(unit, cell, name, Kind::Deleted);
            }
            Effect::StarImport { module, .. } => self.stars.push((unit, cell, module.clone())),
            Effect::Alias { name, of, span } if call_site.is_none() => {
                let Some(own) = self.bindings.get(name).map(|b| b.cell) else { return };
                for target in of.iter().filter(|t| *t != name) {
                    if let Some(tb) = self.bindings.get(target).filter(|b| b.kind.is_data()) {
                        let link =
                            AliasLink { a: name.clone(), a_cell: own, b: target.clone(), b_cell: tb.cell, unit, cell };
                        self.link(link);
                    }
                }
            }
            Effect::Value { name, span, hint } if call_site.is_none() => {
                self.hints.insert(name.clone(), (hint.clone(), cell, *span));
            }
            Effect::DynamicNamespace { call, span } if call_site.is_none() => self.dynamic_namespace(cell, call, *span),
            Effect::FileWrite { path, .. } => self.write(unit, cell, &file_variable(path), Kind::Value),
            Effect::FileRead { path, span } => {
                let var = file_variable(path);
                self.read(unit, cell, &var, here(*span), Need::Soft);
                self.unknown_file_read(unit, cell, here(*span), &format!("`{path}`"));
            }
            Effect::FileUnknown { call, write: true, span } => {
                self.unknown_writes.push((unit, cell, here(*span), call.clone()))
            }
            Effect::FileUnknown { call, write: false, span } => {
                let span = here(*span);
                // A file written at a known path by another step may be the one read here.
                let known: Vec<(String, Unit, usize)> = self
                    .bindings
                    .iter()
                    .filter(|(n, b)| n.starts_with("@file:") && b.unit != unit && matches!(b.unit, Unit::Step(_)))
                    .map(|(n, b)| (n.clone(), b.unit, b.cell))
                    .collect();
                if let Some((file, _, wcell)) = known.into_iter().min_by_key(|k| k.2) {
                    self.warn_files(cell, span, &format!("`{call}` reads a file whose path nbkf cannot know here, and cell {} writes `{}` in another step", wcell + 1, &file["@file:".len()..]));
                }
                self.unknown_file_read(unit, cell, span, &format!("`{call}`"));
            }
            Effect::Alias { .. } | Effect::Value { .. } | Effect::DynamicNamespace { .. } => {}
        }
    }

    /// Applies the changes a call makes to its arguments: each module-level name among
    /// `changed` is changed in place, as by `name[k] = v`.
    #[allow(clippy::too_many_arguments)]
    fn change_arguments(
        &mut self,
        unit: Unit,
        cell: usize,
        changed: &[String],
        span: Span,
        call_site: Option<Span>,
        facts: &CellFacts,
        expanding: &mut Vec<(usize, String)>,
    ) {
        for name in changed {
            // Functions and classes passed as callbacks, and modules, are code, not data.
            if !self.bindings.get(name).is_some_and(|b| b.kind.is_data()) {
                continue;
            }
            let mutate = Effect::Mutate { name: name.clone(), span, path: Vec::new() };
            self.effect(unit, cell, &mutate, call_site.or(Some(span)), facts, expanding);
        }
    }

    /// The parameters (by position) a call of `def` changes: those its body changes
    /// directly, and those it passes on to calls that change them.
    pub(super) fn mutated_params(&self, def: &DefinitionInfo, depth: usize) -> Vec<(usize, String)> {
        let mut out = def.mutated_params.clone();
        if depth > 8 {
            return out;
        }
        let params_of = |changed: &[Arg], out: &mut Vec<(usize, String)>| {
            for a in changed {
                if let Arg::Param(i) = a {
                    if !out.iter().any(|(p, _)| p == i) {
                        out.push((*i, String::new()));
                    }
                }
            }
        };
        for e in &def.call_effects {
            match e {
                Effect::Call { callee, args, kwargs, .. } => {
                    let changed: Vec<Arg> = match self.bindings.get(callee).map(|b| &b.kind) {
                        Some(Kind::Import { module, attribute, .. }) => {
                            super::calls::library_changes(&dotted(module, attribute.as_deref(), &[]), args, kwargs)
                        }
                        Some(k @ (Kind::Definition(_) | Kind::Choice(_))) => {
                            let mut changed = Vec::new();
                            for inner in k.definitions() {
                                if inner.key() == def.key() {
                                    continue;
                                }
                                let params = self.mutated_params(&inner, depth + 1);
                                changed.extend(super::calls::changed_args(&inner, &params, args, kwargs));
                            }
                            changed
                        }
                        Some(_) => super::calls::all_args(args, kwargs),
                        None if callee.is_empty() => super::calls::all_args(args, kwargs),
                        None => super::calls::builtin_changed_args(callee, args, kwargs),
                    };
                    params_of(&changed, &mut out);
                }
                Effect::MethodCall { receiver, path, args, kwargs, .. } => {
                    let changed = match self.bindings.get(receiver).map(|b| &b.kind) {
                        Some(Kind::Import { module, attribute, .. }) => {
                            super::calls::library_changes(&dotted(module, attribute.as_deref(), path), args, kwargs)
                        }
                        _ => super::calls::method_changed_args(path.last().map_or("", String::as_str), args, kwargs),
                    };
                    params_of(&changed, &mut out);
                }
                _ => {}
            }
        }
        out
    }

    /// What a call of the library function `full` (`numpy.copyto`) changes among its
    /// arguments (module-level names).
    fn library_call_changes(&self, full: &str, args: &[Arg], kwargs: &[(String, Arg)]) -> Vec<String> {
        names(&super::calls::library_changes(full, args, kwargs))
    }

    /// Runs a function's call-time effects where it is used.
    fn expand(
        &mut self,
        unit: Unit,
        cell: usize,
        def: &Rc<DefinitionInfo>,
        site: Span,
        facts: &CellFacts,
        expanding: &mut Vec<(usize, String)>,
    ) {
        let key = (def.cell, def.name.clone());
        if expanding.contains(&key) || expanding.len() >= MAX_EXPANSION_DEPTH {
            return;
        }
        expanding.push(key);
        for e in &def.call_effects {
            self.effect(unit, cell, e, Some(site), facts, expanding);
        }
        expanding.pop();
    }
}

impl Walk<'_> {
    /// The outputs of step `step` that share objects, as groups saved together: outputs
    /// joined by an alias link whose names were last bound, in this step, in the cells
    /// the link records.
    pub(super) fn output_groups(&self, step: usize) -> Vec<Vec<String>> {
        let acc = &self.steps[step];
        let last = |name: &str| self.writes.get(&(Unit::Step(step), name.to_string())).and_then(|w| w.last()).copied();
        let outputs: Vec<&String> = acc.outputs.iter().filter(|v| !v.starts_with('@')).collect();
        let mut group_of: Vec<usize> = (0..outputs.len()).collect();
        fn root(g: &mut [usize], i: usize) -> usize {
            let mut i = i;
            while g[i] != i {
                g[i] = g[g[i]];
                i = g[i];
            }
            i
        }
        for l in &self.aliases {
            let (Some(a), Some(b)) = (outputs.iter().position(|v| **v == l.a), outputs.iter().position(|v| **v == l.b))
            else {
                continue;
            };
            if last(&l.a) == Some(l.a_cell) && last(&l.b) == Some(l.b_cell) {
                let (ra, rb) = (root(&mut group_of, a), root(&mut group_of, b));
                group_of[ra] = rb;
            }
        }
        let mut groups: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (i, output) in outputs.iter().enumerate() {
            let r = root(&mut group_of, i);
            groups.entry(r).or_default().push((*output).clone());
        }
        let mut out: Vec<Vec<String>> = groups.into_values().filter(|g| g.len() > 1).collect();
        for g in &mut out {
            g.sort();
        }
        out.sort();
        out
    }
}

/// `module[.attribute][.path...]`: the dotted name a use of an import reaches.
pub(super) fn dotted(module: &str, attribute: Option<&str>, path: &[String]) -> String {
    let mut full = module.to_string();
    if let Some(a) = attribute {
        full.push('.');
        full.push_str(a);
    }
    for p in path {
        full.push('.');
        full.push_str(p);
    }
    full
}

/// The module-level names among arguments (displays give the names they hold).
pub(super) fn names(args: &[Arg]) -> Vec<String> {
    args.iter().flat_map(|a| a.names().into_iter().map(str::to_string)).collect()
}

/// The binding of a name defined (or imported) in a branch: one of the definitions seen
/// so far for it, or (when the branch may not run) its old value.
fn choice(previous: Option<&Kind>, new: &Kind) -> Kind {
    let mut info = ChoiceInfo { candidates: previous.map(Kind::definitions).unwrap_or_default() };
    if let Kind::Definition(d) = new {
        info.candidates.retain(|c| c.key() != d.key());
        info.candidates.push(d.clone());
    }
    Kind::Choice(Rc::new(info))
}
