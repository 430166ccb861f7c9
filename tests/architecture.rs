//! The module map stays a stack of layers: imports go downward, never up and never in circles.
//!
//! The rules, checked on every `.rs` file under `src/` (std only, no parser crate):
//!
//! - **Layers** come from `ARCHITECTURE.md`, a fenced block with the info string `layers`: one layer
//!   per line, top first, the top-level modules of `src/` separated by spaces (`lib` is `src/lib.rs`,
//!   `main` is `src/main.rs`). A file belongs to the module of its first component under `src/`
//!   (`src/train/observers/log.rs` is `train`). Every top-level module must be in a layer.
//! - **Downward only**: a file may import from its own layer or a lower one, never from a higher one.
//! - **No circles**: the graph of files (an edge for each import) has no strongly connected
//!   component of more than one file, inside a layer or across layers.
//!
//! What counts as an import: every path starting with `crate::`, `super::`, `self::`, a module the
//! file declares with `mod NAME;`, or (in the binary's files) `gantry::`, both in `use` trees and
//! inline in code, after comments, strings and char literals are blanked out. Each path is resolved
//! to the file that defines the item: the longest prefix naming a module file, then, when that file
//! is a facade (`mod.rs`, `lib.rs`), through its `pub use` re-exports (named or glob) to the file the
//! item comes from; `#[macro_export]` macros resolve to the file that defines them. A facade's own
//! `pub use` lines are not edges (they only name what lies below), everything else is.
//!
//! `super::` inside an inline `mod NAME { … }` first climbs out of the inline module (still this
//! file), as Rust does; `src/main.rs` and the modules it declares (`cli/`) are the binary's own tree,
//! where `crate::` means the binary and `gantry::` the library.
//!
//! Failures are collected and reported together, one line each with the file, line and path
//! (a circle: one cycle through it, then every edge inside it, each with its first import).
//! `print_import_graph` (ignored) prints every edge.
//!
//! Limits of reading Rust without a parser: a path whose first segment is a name another `use`
//! brought in (`use super::download;` … `download::Checksum`) is seen only through that `use` (the
//! same edge); `#[path]` attributes, `include!` and paths built inside macros (`$crate::…`) are not
//! seen, nor paths in strings (`#[serde(with = "…")]`); a facade's private `use` is not followed when
//! resolving (a child's `super::X` then stops at the facade, which has its own edge to X's file);
//! `cfg`-gated code (tests, features) counts like any other.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;

/// File path relative to the crate root (`src/…`, `/`-separated) → its source text.
type Sources = BTreeMap<String, String>;

/// A module path inside one crate of the package.
type ModulePath = Vec<String>;

/// Re-exports are followed at most this deep (a loop of `pub use` would otherwise never end).
const MAX_REEXPORT_DEPTH: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Crate {
    Lib,
    Bin,
}

// ---------------------------------------------------------------------------------------------
// Blanking out comments and literals
// ---------------------------------------------------------------------------------------------

/// `src` with comments removed and every string/char literal replaced by `""`/`' '`; newlines are
/// kept, so positions still map to the right line numbers.
fn strip(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < chars.len() {
        let (end, replacement) = if chars[i..].starts_with(&['/', '/']) {
            (chars[i..].iter().position(|&c| c == '\n').map_or(chars.len(), |n| i + n), "")
        } else if chars[i..].starts_with(&['/', '*']) {
            (block_comment_end(&chars, i), "")
        } else if let Some(end) = string_literal_end(&chars, i) {
            (end, "\"\"")
        } else if let Some(end) = char_literal_end(&chars, i) {
            (end, "' '")
        } else {
            out.push(chars[i]);
            i += 1;
            continue;
        };
        out.push_str(replacement);
        out.extend(chars[i..end].iter().filter(|&&c| c == '\n'));
        i = end;
    }
    out
}

/// End (exclusive) of the block comment opening at `start`; block comments nest.
fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i < chars.len() {
        if chars[i..].starts_with(&['/', '*']) {
            depth += 1;
            i += 2;
        } else if chars[i..].starts_with(&['*', '/']) {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    chars.len()
}

/// End (exclusive) of a string literal starting at `start`: `"…"`, `b"…"`, `c"…"` with escapes,
/// raw `r"…"`, `r#"…"#`, `br#"…"#`, `cr"…"`. `None` when no string starts there.
fn string_literal_end(chars: &[char], start: usize) -> Option<usize> {
    if start > 0 && is_ident_char(chars[start - 1]) {
        return None; // the tail of an identifier, not a literal prefix
    }
    let mut i = start;
    if matches!(chars.get(i), Some('b' | 'c')) {
        i += 1;
    }
    let raw = chars.get(i) == Some(&'r');
    if raw {
        i += 1;
    }
    let hashes = chars[i..].iter().take_while(|&&c| c == '#').count();
    if (hashes > 0 && !raw) || chars.get(i + hashes) != Some(&'"') {
        return None;
    }
    i += hashes + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if !raw => i += 2,
            '"' if chars[i + 1..].iter().take(hashes).filter(|&&c| c == '#').count() == hashes => {
                return Some(i + 1 + hashes);
            }
            _ => i += 1,
        }
    }
    Some(chars.len())
}

/// End (exclusive) of a char literal at `start` (`'a'`, `'\n'`, `'\''`, `'\u{1F600}'`); `None` for
/// a lifetime or label (`'a`, `'static`), which has no closing quote.
fn char_literal_end(chars: &[char], start: usize) -> Option<usize> {
    if chars[start] != '\'' {
        return None;
    }
    if chars.get(start + 1) == Some(&'\\') {
        // The escaped character itself may be a quote, so the closing one comes after it.
        let close = chars[start + 3..].iter().take(10).position(|&c| c == '\'')?;
        return Some(start + 3 + close + 1);
    }
    match (chars.get(start + 1), chars.get(start + 2)) {
        (Some(&c), Some('\'')) if c != '\'' => Some(start + 3),
        _ => None,
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

// ---------------------------------------------------------------------------------------------
// Reading paths
// ---------------------------------------------------------------------------------------------

/// One path as written, a leaf of a use tree or a path in code.
#[derive(Clone, Debug)]
struct WrittenPath {
    /// Segments, `self` leaves folded into their parent (`a::{self}` is `a`); a glob ends in `*`.
    segments: Vec<String>,
    /// The name it is visible under: the alias of `as`, else the last segment.
    name: String,
}

impl WrittenPath {
    fn written(&self) -> String {
        self.segments.join("::")
    }
}

/// A cursor over stripped source text.
struct Text<'a> {
    chars: &'a [char],
}

impl Text<'_> {
    fn skip_space(&self, mut i: usize) -> usize {
        while i < self.chars.len() && self.chars[i].is_whitespace() {
            i += 1;
        }
        i
    }

    fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    fn starts_with(&self, i: usize, s: &str) -> bool {
        s.chars().enumerate().all(|(k, c)| self.at(i + k) == Some(c))
    }

    /// The identifier at `i` (a raw `r#name` read as `name`) and the position after it.
    fn ident(&self, i: usize) -> Option<(String, usize)> {
        let start = if self.starts_with(i, "r#") && self.at(i + 2).is_some_and(is_ident_start) {
            i + 2
        } else {
            i
        };
        if !self.at(start).is_some_and(is_ident_start) {
            return None;
        }
        let end = start + self.chars[start..].iter().take_while(|&&c| is_ident_char(c)).count();
        Some((self.chars[start..end].iter().collect(), end))
    }

    /// `::` (spaces allowed around it) at `i`, not followed by `<` (a turbofish ends a path).
    fn path_separator(&self, i: usize) -> Option<usize> {
        let i = self.skip_space(i);
        if !self.starts_with(i, "::") {
            return None;
        }
        let after = self.skip_space(i + 2);
        (self.at(after) != Some('<')).then_some(after)
    }

    /// Up to 300 characters before `i`, trailing spaces removed (enough to see `pub(crate)`,
    /// `::` or an item's attributes; bounded so that a scan stays linear).
    fn before(&self, i: usize) -> String {
        self.chars[i.saturating_sub(300)..i].iter().collect::<String>().trim_end().to_string()
    }

    /// Whether a path may start at `i`: not in the middle of an identifier, not a macro
    /// variable's `$crate`, not a later segment of another path (`foo::crate`).
    fn path_may_start(&self, i: usize) -> bool {
        let prev = if i == 0 { None } else { self.at(i - 1) };
        !prev.is_some_and(|c| is_ident_char(c) || c == '$' || c == '\'') && !self.before(i).ends_with("::")
    }

    /// Whether the word at `i` is the module of a visibility, `pub(in crate::a)`: not an import.
    fn in_visibility(&self, i: usize) -> bool {
        let before = self.before(i);
        let Some(open) = before.strip_suffix("in").and_then(|b| b.trim_end().strip_suffix('(')) else { return false };
        open.trim_end().ends_with("pub")
    }

    /// Whether the `use` at `i` is a `pub use`/`pub(crate) use`/….
    fn is_pub(&self, i: usize) -> bool {
        let before = self.before(i);
        let before = match before.strip_suffix(')') {
            Some(b) => b.rfind('(').map_or(b, |open| b[..open].trim_end()),
            None => &before,
        };
        before.strip_suffix("pub").is_some_and(|b| !b.ends_with(is_ident_char))
    }

    /// The leaves of the use tree or path at `i` under `prefix`, and the position after it.
    fn tree(&self, i: usize, prefix: &[String]) -> (Vec<WrittenPath>, usize) {
        let mut segments = prefix.to_vec();
        let mut i = self.skip_space(i);
        if prefix.is_empty() && self.starts_with(i, "::") {
            i = self.skip_space(i + 2); // `use ::std::…`
        }
        loop {
            if self.at(i) == Some('{') {
                return self.group(i + 1, &segments);
            }
            if self.at(i) == Some('*') {
                segments.push("*".into());
                return (vec![leaf(segments, None)], i + 1);
            }
            let Some((word, end)) = self.ident(i) else {
                return (if segments.is_empty() { vec![] } else { vec![leaf(segments, None)] }, i);
            };
            segments.push(word);
            if let Some(next) = self.path_separator(end) {
                i = next;
                continue;
            }
            return self.alias(end, segments);
        }
    }

    /// The subtrees of a `{ … }` group whose content starts at `i`, and the position after `}`.
    fn group(&self, mut i: usize, prefix: &[String]) -> (Vec<WrittenPath>, usize) {
        let mut leaves = Vec::new();
        loop {
            i = self.skip_space(i);
            match self.at(i) {
                None => return (leaves, i),
                Some('}') => return (leaves, i + 1),
                Some(',') => i += 1,
                _ => {
                    let (sub, end) = self.tree(i, prefix);
                    if end == i {
                        return (leaves, i); // not a use tree: stop rather than loop
                    }
                    leaves.extend(sub);
                    i = end;
                }
            }
        }
    }

    /// A leaf ending at `i`, with its `as NAME` if there is one.
    fn alias(&self, i: usize, segments: Vec<String>) -> (Vec<WrittenPath>, usize) {
        let after = self.skip_space(i);
        if let Some(("as", end)) = self.ident(after).as_ref().map(|(w, e)| (w.as_str(), *e)) {
            if let Some((name, end)) = self.ident(self.skip_space(end)) {
                return (vec![leaf(segments, Some(name))], end);
            }
        }
        (vec![leaf(segments, None)], i)
    }
}

/// A use-tree leaf: `self` folds into its parent, the name defaults to the last segment.
fn leaf(mut segments: Vec<String>, alias: Option<String>) -> WrittenPath {
    if segments.len() > 1 && segments.last().is_some_and(|s| s == "self") {
        segments.pop();
    }
    let name = alias.unwrap_or_else(|| segments.last().cloned().unwrap_or_default());
    WrittenPath { segments, name }
}

// ---------------------------------------------------------------------------------------------
// Scanning one file
// ---------------------------------------------------------------------------------------------

/// A path found in a file.
#[derive(Clone, Debug)]
struct Import {
    path: WrittenPath,
    line: usize,
    /// How many inline `mod NAME { … }` enclose it (its `super::`s climb out of those first).
    inline_depth: usize,
    /// A `pub use` at the top level of the file (a facade's re-export when the file is one).
    top_level_pub_use: bool,
}

/// What one file declares and uses.
#[derive(Debug, Default)]
struct FileScan {
    /// `mod NAME;` declarations: child module files.
    child_modules: BTreeSet<String>,
    imports: Vec<Import>,
    /// Names of top-level items (`fn`, `struct`, …): what a glob re-export can find here.
    items: BTreeSet<String>,
    /// `#[macro_export] macro_rules! NAME`: macros living at the crate root.
    exported_macros: BTreeSet<String>,
}

/// Where the scanner stands: brace depth and the depths at which inline modules opened.
#[derive(Default)]
struct Nesting {
    depth: usize,
    inline_modules: Vec<usize>,
    inline_module_opens_next: bool,
}

impl Nesting {
    fn open(&mut self) {
        self.depth += 1;
        if std::mem::take(&mut self.inline_module_opens_next) {
            self.inline_modules.push(self.depth);
        }
    }

    fn close(&mut self) {
        if self.inline_modules.last() == Some(&self.depth) {
            self.inline_modules.pop();
        }
        self.depth = self.depth.saturating_sub(1);
    }
}

const ITEM_KEYWORDS: [&str; 9] = ["fn", "struct", "enum", "trait", "type", "const", "static", "union", "mod"];

/// Scan a file's stripped text. `extra_root` is `gantry` in the binary's files.
fn scan_file(stripped: &str, extra_root: Option<&str>) -> FileScan {
    let chars: Vec<char> = stripped.chars().collect();
    let text = Text { chars: &chars };
    let newlines: Vec<usize> = chars.iter().enumerate().filter(|(_, c)| **c == '\n').map(|(i, _)| i).collect();
    let line_of = |i: usize| newlines.partition_point(|&nl| nl < i) + 1;
    let children = child_modules(&text);
    let is_root = |w: &str| matches!(w, "crate" | "super" | "self") || Some(w) == extra_root || children.contains(w);
    let mut scan = FileScan::default();
    let mut nesting = Nesting::default();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' => nesting.open(),
            '}' => nesting.close(),
            c if is_ident_start(c) && (i == 0 || !(is_ident_char(chars[i - 1]) || chars[i - 1] == '\'')) => {
                let (word, end) = text.ident(i).expect("an identifier starts here");
                let (leaves, next, top_level_pub_use) = if word == "use" {
                    let (leaves, after) = text.tree(end, &[]);
                    let rooted = leaves.into_iter().filter(|p| p.segments.first().is_some_and(|s| is_root(s)));
                    (rooted.collect(), after, text.is_pub(i) && nesting.depth == 0)
                } else if is_root(&word) && text.path_separator(end).is_some() && text.path_may_start(i)
                    && !text.in_visibility(i)
                {
                    let (leaves, after) = text.tree(i, &[]);
                    (leaves, after, false)
                } else {
                    note_declaration(&text, &word, i, end, &nesting, &mut scan);
                    nesting.inline_module_opens_next |= word == "mod" && opens_inline_module(&text, end);
                    (Vec::new(), end, false)
                };
                let (line, inline_depth) = (line_of(i), nesting.inline_modules.len());
                let imports = leaves.into_iter().map(|path| Import { path, line, inline_depth, top_level_pub_use });
                scan.imports.extend(imports);
                i = next;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    scan.child_modules = children;
    scan
}

/// Record a top-level item's name, or an exported macro, declared by `word` at `i..end`.
fn note_declaration(text: &Text, word: &str, i: usize, end: usize, nesting: &Nesting, scan: &mut FileScan) {
    if word == "macro_rules" && text.at(text.skip_space(end)) == Some('!') {
        if let Some((name, _)) = text.ident(text.skip_space(text.skip_space(end) + 1)) {
            // The attribute sits between the previous item's end and `macro_rules!`.
            let before = text.before(i);
            let own_attributes = &before[before.rfind([';', '}']).map_or(0, |p| p + 1)..];
            if own_attributes.contains("#[macro_export]") {
                scan.exported_macros.insert(name.clone());
            }
            scan.items.insert(name);
        }
    } else if nesting.depth == 0 && ITEM_KEYWORDS.contains(&word) {
        let mut at = text.skip_space(end);
        if text.ident(at).is_some_and(|(w, _)| w == "mut") {
            at = text.skip_space(at + 3);
        }
        if let Some((name, _)) = text.ident(at) {
            scan.items.insert(name);
        }
    }
}

/// Whether the `mod` keyword ending at `end` starts `mod NAME {` (an inline module).
fn opens_inline_module(text: &Text, end: usize) -> bool {
    text.ident(text.skip_space(end)).is_some_and(|(_, after)| text.at(text.skip_space(after)) == Some('{'))
}

/// The names of `mod NAME;` declarations (found first: a `use` may come before its `mod`).
fn child_modules(text: &Text) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for i in 0..text.chars.len() {
        if text.starts_with(i, "mod") && (i == 0 || !is_ident_char(text.chars[i - 1])) {
            let after_keyword = i + 3;
            if text.at(after_keyword).is_some_and(char::is_whitespace) {
                if let Some((name, end)) = text.ident(text.skip_space(after_keyword)) {
                    if text.at(text.skip_space(end)) == Some(';') {
                        names.insert(name);
                    }
                }
            }
        }
    }
    names
}

// ---------------------------------------------------------------------------------------------
// The module tree and resolving paths to files
// ---------------------------------------------------------------------------------------------

/// One file of `src/` and where it sits in the module tree.
struct SourceFile {
    krate: Crate,
    module: ModulePath,
    scan: FileScan,
}

/// A facade only names what lies below it: `mod.rs`, `lib.rs`.
fn is_facade(file: &str) -> bool {
    file.ends_with("/mod.rs") || file == "src/lib.rs"
}

/// The first component under `src/`: `src/train/observers/log.rs` → `train`, `src/lib.rs` → `lib`.
fn top_module(file: &str) -> &str {
    let rest = file.strip_prefix("src/").unwrap_or(file);
    let first = rest.split('/').next().unwrap_or(rest);
    first.strip_suffix(".rs").unwrap_or(first)
}

/// The module path of a file by the file-name rules (`src/x.rs`, `src/x/mod.rs`, `src/x/y.rs`).
fn module_of(file: &str) -> ModulePath {
    let rest = file.strip_prefix("src/").unwrap_or(file).strip_suffix(".rs").unwrap_or(file);
    let mut parts: ModulePath = rest.split('/').map(String::from).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// All files of `src/` in their module trees, with the module index of both crates.
struct Package {
    files: BTreeMap<String, SourceFile>,
    module_files: HashMap<(Crate, ModulePath), String>,
    macros: HashMap<(Crate, String), String>,
}

impl Package {
    fn new(sources: &Sources) -> Package {
        let stripped: BTreeMap<String, String> = sources.iter().map(|(f, s)| (f.clone(), strip(s))).collect();
        // The binary's tree is `src/main.rs` plus the top-level modules it declares.
        let binary_modules = stripped.get("src/main.rs").map(|s| scan_file(s, None).child_modules).unwrap_or_default();
        let mut package = Package { files: BTreeMap::new(), module_files: HashMap::new(), macros: HashMap::new() };
        for (file, text) in stripped {
            let binary = file == "src/main.rs" || binary_modules.contains(top_module(&file));
            let (krate, extra_root) = if binary { (Crate::Bin, Some("gantry")) } else { (Crate::Lib, None) };
            let scan = scan_file(&text, extra_root);
            for name in &scan.exported_macros {
                package.macros.insert((krate, name.clone()), file.clone());
            }
            package.module_files.insert((krate, module_of(&file)), file.clone());
            package.files.insert(file.clone(), SourceFile { krate, module: module_of(&file), scan });
        }
        package
    }

    /// The absolute module path a path written in `file` stands for, or `None` when it stays in
    /// `file` (inside its inline modules) or leaves the package (`std::…`).
    fn absolute(&self, file: &SourceFile, import: &Import) -> Option<(Crate, ModulePath)> {
        let segments = &import.path.segments;
        let first = segments.first()?.as_str();
        let rest = |skip: usize| segments[skip..].to_vec();
        match first {
            "crate" => Some((file.krate, rest(1))),
            "gantry" if file.krate == Crate::Bin => Some((Crate::Lib, rest(1))),
            "self" if import.inline_depth == 0 => Some((file.krate, [file.module.clone(), rest(1)].concat())),
            "self" => None,
            "super" => {
                let supers = segments.iter().take_while(|s| *s == "super").count();
                // The first `super`s climb out of inline modules, still inside this file.
                let file_levels = supers.checked_sub(import.inline_depth)?;
                let base = file.module.len().checked_sub(file_levels)?;
                Some((file.krate, [file.module[..base].to_vec(), rest(supers)].concat()))
            }
            _ if file.scan.child_modules.contains(first) => Some((file.krate, [file.module.clone(), rest(0)].concat())),
            _ => None,
        }
    }

    /// The file defining the item at `path` of `krate`: the longest module prefix, then through the
    /// facade's re-exports or to an exported macro's file.
    fn resolve(&self, krate: Crate, path: &[String], depth: usize) -> Option<&str> {
        for split in (0..=path.len()).rev() {
            let Some(module_file) = self.module_files.get(&(krate, path[..split].to_vec())) else { continue };
            let rest = &path[split..];
            let Some(item) = rest.first() else { return Some(module_file) };
            if split == 0 {
                if let Some(macro_file) = self.macros.get(&(krate, item.clone())) {
                    return Some(macro_file);
                }
            }
            if is_facade(module_file) && depth < MAX_REEXPORT_DEPTH {
                if let Some(found) = self.through_reexport(module_file, rest, depth) {
                    return Some(found);
                }
            }
            return Some(module_file);
        }
        None
    }

    /// Follow facade `file`'s `pub use` of `rest[0]` (by name, else by glob) to its defining file.
    fn through_reexport(&self, file: &str, rest: &[String], depth: usize) -> Option<&str> {
        let facade = &self.files[file];
        let (item, tail) = (&rest[0], &rest[1..]);
        if item == "*" {
            return None; // a glob import of the facade itself depends on the facade
        }
        let mut reexports = facade.scan.imports.iter().filter(|import| import.top_level_pub_use);
        if let Some(named) = reexports.clone().find(|import| &import.path.name == item) {
            let (krate, target) = self.absolute(facade, named)?;
            return self.resolve(krate, &[target, tail.to_vec()].concat(), depth + 1);
        }
        reexports.find_map(|glob| {
            let (krate, mut target) = self.absolute(facade, glob).filter(|_| glob.path.name == "*")?;
            target.pop(); // the `*`
            target.extend(rest.iter().cloned());
            let found = self.resolve(krate, &target, depth + 1)?;
            self.files[found].scan.items.contains(item).then_some(found)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The import graph
// ---------------------------------------------------------------------------------------------

/// One import of one file into another.
#[derive(Clone, Debug)]
struct Edge {
    from: String,
    to: String,
    line: usize,
    path: String,
}

impl Edge {
    fn describe(&self) -> String {
        format!("{}:{} imports {} ({})", self.from, self.line, self.path, self.to)
    }
}

/// Every import between two different files, each path written once per file (its first use).
fn import_edges(package: &Package) -> Vec<Edge> {
    let mut edges = Vec::new();
    for (name, file) in &package.files {
        let mut seen = BTreeSet::new();
        for import in &file.scan.imports {
            if import.top_level_pub_use && is_facade(name) {
                continue; // a facade's re-export: followed when resolving, not an edge itself
            }
            let Some((krate, path)) = package.absolute(file, import) else { continue };
            let Some(target) = package.resolve(krate, &path, 0) else { continue };
            let written = import.path.written();
            if target != name && seen.insert(written.clone()) {
                edges.push(Edge { from: name.clone(), to: target.to_string(), line: import.line, path: written });
            }
        }
    }
    edges
}

/// Files → files they import → the first import (lowest line) of that pair.
type Graph = BTreeMap<String, BTreeMap<String, Edge>>;

fn graph_of(files: impl Iterator<Item = String>, edges: &[Edge]) -> Graph {
    let mut graph: Graph = files.map(|f| (f, BTreeMap::new())).collect();
    for edge in edges {
        let targets = graph.entry(edge.from.clone()).or_default();
        let first = targets.entry(edge.to.clone()).or_insert_with(|| edge.clone());
        if edge.line < first.line {
            *first = edge.clone();
        }
    }
    graph
}

/// Strongly connected components of more than one file (Tarjan's algorithm).
fn circles(graph: &Graph) -> Vec<Vec<String>> {
    struct Tarjan<'g> {
        graph: &'g Graph,
        index: HashMap<&'g str, usize>,
        low: HashMap<&'g str, usize>,
        stack: Vec<&'g str>,
        components: Vec<Vec<String>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, v: &'g str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in self.graph[v].keys().map(String::as_str) {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    self.low.insert(v, self.low[v].min(self.low[w]));
                } else if self.stack.contains(&w) {
                    self.low.insert(v, self.low[v].min(self.index[w]));
                }
            }
            if self.low[v] == self.index[v] {
                let at = self.stack.iter().rposition(|&w| w == v).expect("v is on the stack");
                let mut component: Vec<String> = self.stack.drain(at..).map(String::from).collect();
                component.sort();
                if component.len() > 1 {
                    self.components.push(component);
                }
            }
        }
    }
    let mut tarjan =
        Tarjan { graph, index: HashMap::new(), low: HashMap::new(), stack: Vec::new(), components: Vec::new() };
    for v in graph.keys() {
        if !tarjan.index.contains_key(v.as_str()) {
            tarjan.visit(v);
        }
    }
    tarjan.components.sort();
    tarjan.components
}

/// A shortest cycle through the component's first file (breadth-first inside the component).
fn shortest_cycle<'g>(graph: &'g Graph, component: &[String]) -> Vec<&'g Edge> {
    let inside: BTreeSet<&str> = component.iter().map(String::as_str).collect();
    let start = component[0].as_str();
    let mut reached_by: HashMap<&str, &Edge> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for (w, edge) in &graph[v] {
            if inside.contains(w.as_str()) && !reached_by.contains_key(w.as_str()) {
                reached_by.insert(w, edge);
                queue.push_back(w);
            }
        }
        if reached_by.contains_key(start) {
            break;
        }
    }
    let mut cycle = Vec::new();
    let mut at = start;
    while let Some(edge) = reached_by.get(at).filter(|_| cycle.len() < component.len()) {
        cycle.push(*edge);
        at = edge.from.as_str();
        if at == start {
            break;
        }
    }
    cycle.reverse();
    cycle
}

/// The failure text for one circle: the cycle on one line, then every edge inside it.
fn describe_circle(graph: &Graph, component: &[String]) -> String {
    let cycle = shortest_cycle(graph, component);
    let mut line = format!("circle ({} files): {}", component.len(), component[0]);
    for edge in &cycle {
        line += &format!(" -({})-> {}", edge.path, edge.to);
    }
    for from in component {
        for (to, edge) in &graph[from] {
            if component.contains(to) {
                line += &format!("\n    {}:{} -> {}  ({})", from, edge.line, to, edge.path);
            }
        }
    }
    line
}

// ---------------------------------------------------------------------------------------------
// Layers and the whole check
// ---------------------------------------------------------------------------------------------

/// Module name → layer number (0 = top), from the ```` ```layers ```` block of ARCHITECTURE.md.
fn read_layers(architecture: &str) -> Option<BTreeMap<String, usize>> {
    let lines = architecture.lines().skip_while(|l| l.trim() != "```layers").skip(1);
    let block: Vec<&str> = lines.take_while(|l| l.trim() != "```").collect();
    if block.is_empty() {
        return None;
    }
    let layers = block.iter().filter(|l| !l.trim().is_empty()).enumerate();
    Some(layers.flat_map(|(n, l)| l.split_whitespace().map(move |m| (m.to_string(), n))).collect())
}

/// Files whose braces do not balance once comments and literals are blanked out: the stripping
/// misread them, so their inline modules (and `super::` inside them) cannot be trusted.
fn misread_files(sources: &Sources) -> Vec<String> {
    let unbalanced = |text: &String| {
        let stripped = strip(text);
        stripped.matches('{').count() != stripped.matches('}').count()
    };
    let misread = sources.iter().filter(|(_, text)| unbalanced(text));
    misread.map(|(file, _)| format!("{file}: braces do not balance after stripping comments and literals")).collect()
}

/// Every way the sources break the rules, one entry each (empty when they keep them).
fn check(sources: &Sources, architecture: &str) -> Vec<String> {
    let Some(layers) = read_layers(architecture) else {
        return vec!["ARCHITECTURE.md has no ```layers block".into()];
    };
    let package = Package::new(sources);
    let edges = import_edges(&package);
    let mut failures = misread_files(sources);
    let mut unlisted = BTreeSet::new();
    for file in sources.keys() {
        let module = top_module(file);
        if !layers.contains_key(module) && unlisted.insert(module) {
            let shown = if *file == format!("src/{module}.rs") { file.clone() } else { format!("src/{module}/") };
            failures.push(format!("{shown}: module `{module}` is in no layer of ARCHITECTURE.md"));
        }
    }
    for edge in &edges {
        let (from, to) = (top_module(&edge.from), top_module(&edge.to));
        if let (Some(a), Some(b)) = (layers.get(from), layers.get(to)) {
            if b < a {
                failures.push(format!("{}: layer '{to}' is above '{from}'", edge.describe()));
            }
        }
    }
    let graph = graph_of(sources.keys().cloned(), &edges);
    failures.extend(circles(&graph).iter().map(|component| describe_circle(&graph, component)));
    failures
}

/// Every `.rs` file under `dir`, keyed by its path relative to `root`.
fn load_sources(root: &Path, dir: &Path, sources: &mut Sources) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            load_sources(root, &path, sources);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let key = path.strip_prefix(root).expect("under the root").to_string_lossy().replace('\\', "/");
            sources.insert(key, std::fs::read_to_string(&path).expect("a readable source file"));
        }
    }
}

/// The package's `src/` as the checker sees it.
fn real_sources() -> Sources {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Sources::new();
    load_sources(root, &root.join("src"), &mut sources);
    sources
}

#[test]
fn modules_import_downward_only_and_never_in_circles() {
    let architecture_md = Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md");
    let architecture = std::fs::read_to_string(architecture_md).expect("ARCHITECTURE.md is readable");
    let failures = check(&real_sources(), &architecture);
    assert!(failures.is_empty(), "{} architecture rule(s) broken:\n{}", failures.len(), failures.join("\n"));
}

/// Every edge of the real tree, one per line (`FROM:LINE -> TO  (PATH)`), for looking at the graph:
/// `cargo test --release --test architecture -- --ignored --nocapture print_import_graph`.
#[test]
#[ignore = "prints the graph; not a check"]
fn print_import_graph() {
    for edge in import_edges(&Package::new(&real_sources())) {
        println!("{}:{} -> {}  ({})", edge.from, edge.line, edge.to, edge.path);
    }
}

// ---------------------------------------------------------------------------------------------
// The checker on planted sources
// ---------------------------------------------------------------------------------------------

const LAYERS: &str = "# x\n\n```layers\nmain cli\ntrain\neval\ndata m\nlib\n```\n";

fn sources(files: &[(&str, &str)]) -> Sources {
    files.iter().map(|(f, s)| (f.to_string(), s.to_string())).collect()
}

fn edges_of(files: &[(&str, &str)]) -> Vec<(String, String, String)> {
    let package = Package::new(&sources(files));
    import_edges(&package).into_iter().map(|e| (e.from, e.to, e.path)).collect()
}

fn edge(from: &str, to: &str, path: &str) -> (String, String, String) {
    (from.into(), to.into(), path.into())
}

#[test]
fn an_upward_import_is_reported_with_its_file_and_path() {
    let failures = check(
        &sources(&[
            ("src/lib.rs", "pub mod train;\npub mod eval;\n"),
            ("src/train.rs", "pub struct TrainConfig;\n"),
            ("src/eval.rs", "// about\nuse crate::train::TrainConfig;\n"),
        ]),
        LAYERS,
    );
    let expected = "src/eval.rs:2 imports crate::train::TrainConfig (src/train.rs): layer 'train' is above 'eval'";
    assert_eq!(failures, [expected]);
}

#[test]
fn a_module_in_no_layer_is_reported() {
    let files = [("src/lib.rs", "pub mod extra;"), ("src/extra/mod.rs", ""), ("src/serve.rs", "")];
    assert_eq!(
        check(&sources(&files), LAYERS),
        [
            "src/extra/: module `extra` is in no layer of ARCHITECTURE.md",
            "src/serve.rs: module `serve` is in no layer of ARCHITECTURE.md"
        ]
    );
    assert_eq!(check(&sources(&[]), "no block"), ["ARCHITECTURE.md has no ```layers block"]);
}

#[test]
fn two_and_three_file_circles_are_reported() {
    let two = check(
        &sources(&[
            ("src/lib.rs", "pub mod data;"),
            ("src/data/mod.rs", "mod a;\nmod b;"),
            ("src/data/a.rs", "use crate::data::b::X;\npub struct Y;"),
            ("src/data/b.rs", "pub struct X;\nfn f() { super::a::Y; }"),
        ]),
        LAYERS,
    );
    assert_eq!(
        two,
        ["circle (2 files): src/data/a.rs -(crate::data::b::X)-> src/data/b.rs -(super::a::Y)-> src/data/a.rs\n    \
          src/data/a.rs:1 -> src/data/b.rs  (crate::data::b::X)\n    src/data/b.rs:2 -> src/data/a.rs  (super::a::Y)"]
    );
    let three = check(
        &sources(&[
            ("src/lib.rs", "pub mod data;"),
            ("src/data/mod.rs", "pub mod a;\npub mod b;\npub mod c;"),
            ("src/data/a.rs", "use super::b::B;"),
            ("src/data/b.rs", "use super::c::C;"),
            ("src/data/c.rs", "use crate::data::a::A;"),
        ]),
        LAYERS,
    );
    assert_eq!(three.len(), 1);
    assert!(
        three[0].starts_with(
            "circle (3 files): src/data/a.rs -(super::b::B)-> src/data/b.rs -(super::c::C)-> src/data/c.rs \
             -(crate::data::a::A)-> src/data/a.rs\n"
        ),
        "{three:?}"
    );
}

#[test]
fn a_path_through_a_facade_reexport_reaches_the_defining_file() {
    let files = [
        ("src/lib.rs", "pub mod m;\npub use m::Thing as Renamed;"),
        ("src/m/mod.rs", "mod a;\nmod b;\nmod g;\npub use b::Thing;\npub use g::*;\npub fn entry() { a::go() }"),
        ("src/m/a.rs", "use super::Thing;\nuse super::Glob;\npub fn go() {}"),
        ("src/m/b.rs", "pub struct Thing;"),
        ("src/m/g.rs", "pub enum Glob { A }"),
        ("src/data.rs", "fn f() { crate::Renamed; crate::m::Thing; }"),
    ];
    let edges = edges_of(&files);
    assert!(edges.contains(&edge("src/m/a.rs", "src/m/b.rs", "super::Thing")), "{edges:?}");
    assert!(edges.contains(&edge("src/m/a.rs", "src/m/g.rs", "super::Glob")), "{edges:?}");
    assert!(edges.contains(&edge("src/data.rs", "src/m/b.rs", "crate::Renamed")), "{edges:?}");
    assert!(edges.contains(&edge("src/m/mod.rs", "src/m/a.rs", "a::go")), "{edges:?}");
    assert!(!edges.iter().any(|(from, _, _)| from == "src/lib.rs"), "a facade's pub use is no edge: {edges:?}");
    assert_eq!(check(&sources(&files), LAYERS), Vec::<String>::new(), "no circle with mod.rs");
}

#[test]
fn comments_strings_and_char_literals_hide_paths() {
    let text = r####"
        // use crate::train::A;
        /* use crate::train::B; /* nested */ crate::train::C */
        /// [`crate::train::D`]
        let s = "crate::train::E \" crate::train::F";
        let r = r#"crate::train::G " still"#;
        let b = br##"crate::train::H"##;
        let c = ('"', '\'', '\u{7B}', b'{');
        fn f<'a>(x: &'a str) -> &'a str { crate::data::Seen }
    "####;
    let lib = "pub mod train;\npub mod data;";
    let edges = edges_of(&[("src/lib.rs", lib), ("src/train.rs", ""), ("src/data.rs", ""), ("src/eval.rs", text)]);
    assert_eq!(edges, [edge("src/eval.rs", "src/data.rs", "crate::data::Seen")]);
    assert_eq!(strip("a // x\nb /* y\n */ c \"d\ne\" 'f' 'g"), "a \nb \n c \"\"\n ' ' 'g");
    let braces_in_literals = "fn f() { let s = (\"}\", '{', r#\"{\"#); }";
    assert!(check(&sources(&[("src/lib.rs", braces_in_literals)]), LAYERS).is_empty());
    let misread = check(&sources(&[("src/lib.rs", "fn f() { let s = \"\\\"}\"; ")]), LAYERS);
    assert_eq!(misread, ["src/lib.rs: braces do not balance after stripping comments and literals"]);
}

#[test]
fn use_trees_expand_with_braces_self_alias_and_glob() {
    let files = [
        ("src/lib.rs", "pub mod a;\npub mod b;\npub mod c;\npub mod d;\npub mod e;"),
        ("src/a.rs", "pub struct X;"),
        ("src/b/mod.rs", "pub mod inner;"),
        ("src/b/inner.rs", "pub struct Y;"),
        ("src/c.rs", ""),
        ("src/d.rs", ""),
        (
            "src/e.rs",
            "use crate::{a::{self, X as Z}, b::{inner::{Y}, self}, c::*};\nuse std::{io, fmt};\n\
             fn f() { crate::d::g::<u8>(); foo::crate::a; $crate::c::X; }",
        ),
    ];
    let mut edges = edges_of(&files);
    edges.sort();
    let expected = [
        edge("src/e.rs", "src/a.rs", "crate::a"),
        edge("src/e.rs", "src/a.rs", "crate::a::X"),
        edge("src/e.rs", "src/b/inner.rs", "crate::b::inner::Y"),
        edge("src/e.rs", "src/b/mod.rs", "crate::b"),
        edge("src/e.rs", "src/c.rs", "crate::c::*"),
        edge("src/e.rs", "src/d.rs", "crate::d::g"),
    ];
    assert_eq!(edges, expected);
}

#[test]
fn super_inside_an_inline_module_starts_from_the_file_itself() {
    let files = [
        ("src/lib.rs", "pub mod k;"),
        ("src/k/mod.rs", "pub mod conv;\npub mod pool;\npub struct Shared;"),
        ("src/k/pool.rs", "pub fn taps() {}"),
        (
            "src/k/conv.rs",
            "fn f() { super::pool::taps() }\n#[cfg(test)]\nmod tests {\n    use super::*;\n    \
             mod deeper { use super::super::Local; fn g() { super::super::super::Shared; } }\n}\nstruct Local;",
        ),
    ];
    let edges = edges_of(&files);
    let expected = [
        edge("src/k/conv.rs", "src/k/pool.rs", "super::pool::taps"),
        edge("src/k/conv.rs", "src/k/mod.rs", "super::super::super::Shared"),
    ];
    assert_eq!(edges, expected);
}

#[test]
fn the_binary_reaches_the_library_through_gantry_paths() {
    let files = [
        ("src/lib.rs", "pub mod train;\npub use train::Trainer;\npub mod data;"),
        ("src/train.rs", "pub struct Trainer;"),
        ("src/data.rs", "#[macro_export]\nmacro_rules! helper { () => { $crate::data::x() } }"),
        ("src/eval.rs", "crate::helper! {}"),
        ("src/main.rs", "mod cli;\nfn main() { cli::run(); gantry::Trainer; }"),
        ("src/cli/mod.rs", "mod eval;\nuse gantry::train::Trainer;\nuse crate::cli::eval::go;\npub fn run() {}"),
        ("src/cli/eval.rs", "use super::run;\nfn f() { gantry::helper!(); }"),
    ];
    let mut edges = edges_of(&files);
    edges.sort();
    let expected = [
        edge("src/cli/eval.rs", "src/cli/mod.rs", "super::run"),
        edge("src/cli/eval.rs", "src/data.rs", "gantry::helper"),
        edge("src/cli/mod.rs", "src/cli/eval.rs", "crate::cli::eval::go"),
        edge("src/cli/mod.rs", "src/train.rs", "gantry::train::Trainer"),
        edge("src/eval.rs", "src/data.rs", "crate::helper"),
        edge("src/main.rs", "src/cli/mod.rs", "cli::run"),
        edge("src/main.rs", "src/train.rs", "gantry::Trainer"),
    ];
    assert_eq!(edges, expected);
}

