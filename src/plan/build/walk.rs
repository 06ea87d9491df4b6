//! The walk: the cells in notebook order, keeping the binding of every module-level name,
//! and what each effect of a cell does to the bindings and the steps.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use super::checks::file_variable;
use super::layout::Layout;
use crate::diagnostics::Diagnostic;
use crate::plan::hidden_state::is_read_only_method;
use crate::plan::InjectedCode;
use crate::python::{self, BindKind, CellFacts, Effect, Span, ValueHint};

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
    Import { module: String, attribute: Option<String>, statement: String },
    Definition(Rc<DefinitionInfo>),
    Deleted,
}

/// A `def`/`class` binding: its code, and what its definition reads.
#[derive(Debug)]
pub(super) struct DefinitionInfo {
    name: String,
    pub(super) is_class: bool,
    pub(super) source: String,
    pub(super) cell: usize,
    pub(super) start: usize,
    call_effects: Vec<Effect>,
    mutated_params: Vec<(usize, String)>,
    /// Names read when the definition runs (decorators, defaults, base classes), with the
    /// bindings they had then.
    pub(super) def_time: Vec<(String, Binding)>,
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
    pub(super) modules: BTreeSet<String>,
    /// Packages the step needs beyond its imports (cloudpickle for lambdas it passes on).
    pub(super) extra_packages: BTreeSet<String>,
}

/// Two names that refer to the same object (or one contains the other), as established
/// by `b = a`, `b = [a, c]`, `for b in a`: changing one changes the other.
#[derive(Debug, Clone)]
pub(super) struct AliasLink {
    pub(super) a: String,
    pub(super) a_cell: usize,
    pub(super) b: String,
    pub(super) b_cell: usize,
    /// Where the link was made: only there (or in the prelude, which every step runs) do
    /// the two names share an object; steps load each variable separately.
    pub(super) unit: Unit,
    pub(super) cell: usize,
    pub(super) span: Span,
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
    pub(super) aliases: Vec<AliasLink>,
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
            hints: HashMap::new(),
            unconditional: HashSet::new(),
            conditional_only: HashMap::new(),
            unknown_writes: Vec::new(),
            warned: HashSet::new(),
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
            Effect::Read { name, span, soft } => {
                let binding = self.read(unit, cell, name, here(*span), *soft || call_site.is_some());
                if call_site.is_none() {
                    self.cell_reads.push((name.clone(), *span, binding.clone()));
                }
                if let Some(Binding { kind: Kind::Definition(def), .. }) = binding {
                    self.expand(unit, cell, &def, here(*span), facts, expanding);
                }
            }
            Effect::Bind { name, span, kind, conditional } => {
                if *conditional || call_site.is_some() {
                    // The name may keep its old value: the step needs it.
                    self.read(unit, cell, name, here(*span), true);
                }
                if call_site.is_none() {
                    self.hints.remove(name);
                    if *conditional {
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
                            Kind::Definition(Rc::new(DefinitionInfo {
                                name: d.name.clone(),
                                is_class: d.kind == python::DefinitionKind::Class,
                                source: d.source.clone(),
                                cell,
                                start: d.span.start,
                                call_effects: d.call_effects.clone(),
                                mutated_params: d.mutated_params.clone(),
                                def_time,
                            }))
                        }
                        _ => Kind::Value,
                    },
                };
                self.write(unit, cell, name, kind);
            }
            Effect::Mutate { name, span } => {
                if let Some(b) = self.read(unit, cell, name, here(*span), call_site.is_some()) {
                    self.mutate(unit, cell, name, &b);
                }
            }
            Effect::MethodCall { receiver, path, span, inplace } => {
                let Some(b) = self.bindings.get(receiver).cloned() else { return };
                match &b.kind {
                    Kind::Import { module, attribute, .. } => {
                        let mut full = match attribute {
                            Some(a) => format!("{module}.{a}"),
                            None => module.clone(),
                        };
                        if let Some((function, prefix)) = path.split_last() {
                            for p in prefix {
                                full.push('.');
                                full.push_str(p);
                            }
                            self.random(unit, cell, &full, function, here(*span));
                        }
                    }
                    Kind::Value | Kind::Param if !is_read_only_method(path, *inplace) => {
                        self.mutate(unit, cell, receiver, &b)
                    }
                    _ => {}
                }
            }
            Effect::Call { callee, args, kwargs, span } => {
                let Some(b) = self.bindings.get(callee).cloned() else { return };
                match &b.kind {
                    Kind::Import { module, attribute: Some(function), .. } => {
                        self.random(unit, cell, module, function, here(*span))
                    }
                    Kind::Definition(def) => {
                        let mut mutated = Vec::new();
                        for (position, param) in &def.mutated_params {
                            if let Some(Some(arg)) = args.get(*position) {
                                mutated.push(arg.clone());
                            }
                            if let Some((_, Some(arg))) = kwargs.iter().find(|(k, _)| k == param) {
                                mutated.push(arg.clone());
                            }
                        }
                        for name in mutated {
                            self.effect(
                                unit,
                                cell,
                                &Effect::Mutate { name, span: *span },
                                call_site.or(Some(*span)),
                                facts,
                                expanding,
                            );
                        }
                    }
                    _ => {}
                }
            }
            Effect::Delete { name, span } => {
                self.read(unit, cell, name, here(*span), call_site.is_some());
                self.write(unit, cell, name, Kind::Deleted);
            }
            Effect::StarImport { module, .. } => self.stars.push((unit, cell, module.clone())),
            Effect::Alias { name, of, span } if call_site.is_none() => {
                let Some(own) = self.bindings.get(name).map(|b| b.cell) else { return };
                for target in of.iter().filter(|t| *t != name) {
                    if let Some(tb) = self.bindings.get(target).filter(|b| matches!(b.kind, Kind::Value | Kind::Param))
                    {
                        self.aliases.push(AliasLink {
                            a: name.clone(),
                            a_cell: own,
                            b: target.clone(),
                            b_cell: tb.cell,
                            unit,
                            cell,
                            span: *span,
                        });
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
                self.read(unit, cell, &var, here(*span), true);
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
