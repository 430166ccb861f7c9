//! Reader for PyTorch checkpoints written by `torch.save(state_dict)`: the zip format (torch ≥ 1.6)
//! and the older legacy format (a sequence of pickles followed by raw storages) that files saved
//! before 2020 use, such as pytorch-fid's Inception weights. It runs a small pickle machine that
//! knows just what state dicts contain: ordered dicts, tensors rebuilt from storages (with offsets
//! and arbitrary strides, so transposed views read correctly) and scalars. No Python is involved.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::error::{Error, Result};
use crate::model::NamedTensor;

/// Element type of a storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    F64,
    F16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl DType {
    fn from_storage(name: &str) -> Option<DType> {
        Some(match name.rsplit('.').next()? {
            "FloatStorage" => DType::F32,
            "DoubleStorage" => DType::F64,
            "HalfStorage" => DType::F16,
            "LongStorage" => DType::I64,
            "IntStorage" => DType::I32,
            "ShortStorage" => DType::I16,
            "CharStorage" => DType::I8,
            "ByteStorage" => DType::U8,
            "BoolStorage" => DType::Bool,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            DType::F64 | DType::I64 => 8,
            DType::F32 | DType::I32 => 4,
            DType::F16 | DType::I16 => 2,
            DType::I8 | DType::U8 | DType::Bool => 1,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64 | DType::F16)
    }

    /// Element `i` of little-endian storage bytes, widened to f64.
    fn read(self, b: &[u8], i: usize) -> f64 {
        let s = &b[i * self.size()..(i + 1) * self.size()];
        match self {
            DType::F32 => f32::from_le_bytes(s.try_into().unwrap()) as f64,
            DType::F64 => f64::from_le_bytes(s.try_into().unwrap()),
            DType::F16 => half_to_f32(u16::from_le_bytes(s.try_into().unwrap())) as f64,
            DType::I64 => i64::from_le_bytes(s.try_into().unwrap()) as f64,
            DType::I32 => i32::from_le_bytes(s.try_into().unwrap()) as f64,
            DType::I16 => i16::from_le_bytes(s.try_into().unwrap()) as f64,
            DType::I8 => s[0] as i8 as f64,
            DType::U8 | DType::Bool => s[0] as f64,
        }
    }
}

fn half_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as f32;
    match exp {
        0 => sign * frac * 2f32.powi(-24),
        31 => if frac == 0.0 { sign * f32::INFINITY } else { f32::NAN },
        _ => sign * (1.0 + frac / 1024.0) * 2f32.powi(exp - 15),
    }
}

/// One tensor of a checkpoint, made contiguous (row-major). Values are widened to f64 so that
/// int64 buffers and float64 tensors read exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct PthTensor {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

impl PthTensor {
    pub fn to_named(&self, name: &str) -> NamedTensor {
        NamedTensor { name: name.to_string(), shape: self.shape.clone(), data: self.values.iter().map(|&v| v as f32).collect() }
    }
}

/// The tensors of a weights file as float32 named tensors: `.safetensors`, or a PyTorch `.pth`
/// (zip or legacy format; int64 buffers such as `num_batches_tracked` widened exactly, then
/// narrowed to f32).
pub fn read_named(path: &Path) -> Result<HashMap<String, NamedTensor>> {
    if path.extension().is_some_and(|e| e == "safetensors") {
        return Ok(crate::tensor_file::read(path)?.tensors);
    }
    Ok(read_state_dict(path)?.iter().map(|(k, v)| (k.clone(), v.to_named(k))).collect())
}

/// Read a state dict (name → tensor, in file order by name). A checkpoint that wraps the state
/// dict as `{"state_dict": {...}}` is unwrapped.
pub fn read_state_dict(path: &Path) -> Result<BTreeMap<String, PthTensor>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |m: String| Error::bad_file(path, m);
    let (root, storages) = if bytes.starts_with(b"PK\x03\x04") { read_zip(&bytes).map_err(bad)? } else { read_legacy(&bytes).map_err(bad)? };
    let dict = match root {
        Value::Dict(items) => items,
        other => return Err(bad(format!("expected a state dict (a dict of tensors), found {}", other.kind()))),
    };
    let dict = match dict.iter().find(|(k, _)| matches!(k, Value::Str(s) if s == "state_dict")) {
        Some((_, Value::Dict(inner))) => inner.clone(),
        _ => dict,
    };
    let mut out = BTreeMap::new();
    // Tensors may share storage, but a state dict does not read the same storage over and over.
    let mut budget: usize = storages.values().map(|(d, b)| b.len() / d.size()).sum::<usize>().saturating_mul(2).saturating_add(1 << 20);
    for (k, v) in dict {
        let Value::Str(name) = k else { continue };
        if let Value::Tensor(t) = v {
            let tensor = materialise(&t, &storages).map_err(|m| bad(format!("tensor `{name}`: {m}")))?;
            budget = budget.checked_sub(tensor.values.len()).ok_or_else(|| bad("its tensors read their storages many times over: not a state dict".into()))?;
            out.insert(name.clone(), tensor);
        }
    }
    if out.is_empty() {
        return Err(bad("no tensors found: not a PyTorch state dict".into()));
    }
    Ok(out)
}

#[derive(Clone, Debug)]
struct StorageRef {
    dtype: DType,
    key: String,
    /// Element offset into the root storage (legacy view storages only).
    base: usize,
}

#[derive(Clone, Debug)]
struct TensorRef {
    storage: StorageRef,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

// Scalars and bytes are parsed (the machine must step over them) but no state dict tensor needs them.
#[allow(dead_code)]
#[derive(Clone, Debug)]
enum Value {
    Mark,
    None,
    Bool(bool),
    Int(i64),
    BigInt(i128),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(String),
    Storage(StorageRef),
    Tensor(TensorRef),
    /// Something a state dict does not need (kept so the machine can go on).
    Object(String),
}

impl Value {
    fn kind(&self) -> String {
        let name = match self {
            Value::Object(name) | Value::Global(name) => return name.clone(),
            Value::Mark => "a mark",
            Value::None => "None",
            Value::Bool(_) => "a bool",
            Value::Int(_) | Value::BigInt(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Str(_) => "a string",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "a tuple",
            Value::List(_) => "a list",
            Value::Dict(_) => "a dict",
            Value::Storage(_) => "a storage",
            Value::Tensor(_) => "a tensor",
        };
        name.to_string()
    }
    fn int(&self) -> std::result::Result<i64, String> {
        match self {
            Value::Int(i) => Ok(*i),
            other => Err(format!("expected an integer, found {}", other.kind())),
        }
    }
    fn ints(&self) -> std::result::Result<Vec<usize>, String> {
        match self {
            Value::Tuple(v) | Value::List(v) => v.iter().map(|x| x.int().map(|i| i as usize)).collect(),
            other => Err(format!("expected a tuple of integers, found {}", other.kind())),
        }
    }
}

/// How deep a value nests and how many nodes it has: a hostile pickle can nest containers
/// deeply (dropping them would overflow the stack) or copy a memoised value into itself (each
/// copy doubling it), so both are bounded.
#[derive(Clone, Copy, Debug, Default)]
struct Weight {
    depth: u32,
    nodes: u64,
}

/// Deeper nesting than any state dict has.
const MAX_DEPTH: u32 = 512;

impl Weight {
    /// No items (the start of a sum).
    const NOTHING: Weight = Weight { depth: 0, nodes: 0 };

    /// A container of items weighing `items` in all.
    fn container(items: Weight) -> std::result::Result<Weight, String> {
        let w = Weight { depth: items.depth + 1, nodes: items.nodes + 1 };
        if w.depth > MAX_DEPTH {
            return Err(format!("pickle nests deeper than {MAX_DEPTH} levels: not a state dict"));
        }
        Ok(w)
    }

    /// Items side by side.
    fn beside(self, other: Weight) -> Weight {
        Weight { depth: self.depth.max(other.depth), nodes: self.nodes + other.nodes }
    }
}

struct Unpickler<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    /// The weight of each stack entry.
    weights: Vec<Weight>,
    memo: HashMap<u32, (Value, Weight)>,
    /// Nodes that copies (memo reads and writes, DUP) may still create: a few per byte of the
    /// pickle (a state dict copies each object about once, into the memo).
    copy_budget: u64,
}

impl<'a> Unpickler<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0, stack: Vec::new(), weights: Vec::new(), memo: HashMap::new(), copy_budget: 8 * data.len() as u64 + (1 << 16) }
    }

    /// Pushes a scalar, string or bytes (weighing by its length, so copies of long strings count).
    fn push(&mut self, v: Value) {
        let len = match &v {
            Value::Str(s) => s.len(),
            Value::Bytes(b) => b.len(),
            _ => 0,
        };
        self.push_weighted(v, Weight { depth: 0, nodes: 1 + len as u64 / 8 });
    }
    fn push_weighted(&mut self, v: Value, w: Weight) {
        self.stack.push(v);
        self.weights.push(w);
    }
    fn pop_weighted(&mut self) -> std::result::Result<(Value, Weight), String> {
        let v = self.stack.pop().ok_or_else(|| "pickle stack underflow".to_string())?;
        Ok((v, self.weights.pop().unwrap_or_default()))
    }
    /// Pays for copying a value of weight `w` (memo reads and writes, DUP) from the copy budget.
    fn charge(&mut self, w: Weight) -> std::result::Result<(), String> {
        self.copy_budget = self.copy_budget.checked_sub(w.nodes).ok_or("pickle copies its objects into themselves beyond any state dict's size")?;
        Ok(())
    }
    fn top_copy(&mut self) -> std::result::Result<(Value, Weight), String> {
        let w = *self.weights.last().ok_or("pickle stack underflow")?;
        self.charge(w)?;
        Ok((self.stack.last().expect("a weight per stack entry").clone(), w))
    }
    fn memo_get(&mut self, i: u32) -> std::result::Result<(), String> {
        let w = self.memo.get(&i).ok_or("pickle memo entry missing")?.1;
        self.charge(w)?;
        let v = self.memo[&i].0.clone();
        self.push_weighted(v, w);
        Ok(())
    }
    fn memo_put(&mut self, i: u32) -> std::result::Result<(), String> {
        let entry = self.top_copy()?;
        self.memo.insert(i, entry);
        Ok(())
    }
    /// Pops the items above the last MARK, with their combined weight.
    fn pop_mark_weighted(&mut self) -> std::result::Result<(Vec<Value>, Weight), String> {
        let at = self.stack.iter().rposition(|v| matches!(v, Value::Mark)).ok_or("pickle MARK missing")?;
        let items = self.stack.split_off(at + 1);
        let weight = self.weights.split_off(at + 1).into_iter().fold(Weight::NOTHING, Weight::beside);
        self.stack.pop();
        self.weights.pop();
        Ok((items, weight))
    }
    /// Adds `extra` (items put into it) to the weight of the value on top.
    fn grow_top(&mut self, extra: Weight) -> std::result::Result<(), String> {
        let top = self.weights.last_mut().ok_or("pickle stack underflow")?;
        *top = top.beside(Weight::container(extra)?);
        Ok(())
    }

    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len()).ok_or("truncated pickle")?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> std::result::Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> std::result::Result<u16, String> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn line(&mut self) -> std::result::Result<String, String> {
        let rest = &self.data[self.pos..];
        let n = rest.iter().position(|&b| b == b'\n').ok_or("truncated pickle")?;
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.pos += n + 1;
        Ok(s)
    }
    fn string(&mut self, n: usize) -> std::result::Result<String, String> {
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
    fn pop(&mut self) -> std::result::Result<Value, String> {
        Ok(self.pop_weighted()?.0)
    }
    fn top(&mut self) -> std::result::Result<&mut Value, String> {
        self.stack.last_mut().ok_or_else(|| "pickle stack underflow".to_string())
    }

    /// Run to STOP and return the pickled object.
    fn load(mut self) -> std::result::Result<(Value, usize), String> {
        loop {
            let op = self.u8()?;
            if op == b'.' {
                return Ok((self.pop()?, self.pos));
            }
            // Each group of opcodes runs `op` if it is one of its own.
            let known = self.constant_or_number(op)?
                || self.text(op)?
                || self.memo_op(op)?
                || self.container_op(op)?
                || self.object_op(op)?
                || self.stack_op(op)?;
            if !known {
                return Err(format!("unsupported pickle opcode 0x{op:02x} at byte {}", self.pos - 1));
            }
        }
    }

    /// PROTO and FRAME (skipped), and the opcodes that push a constant, an integer or a float;
    /// false for any other opcode.
    fn constant_or_number(&mut self, op: u8) -> std::result::Result<bool, String> {
        match op {
            0x80 => {
                self.u8()?; // PROTO
            }
            0x95 => {
                self.take(8)?; // FRAME
            }
            b'(' => self.push(Value::Mark),
            b'}' => self.push(Value::Dict(Vec::new())),
            b']' => self.push(Value::List(Vec::new())),
            b')' => self.push(Value::Tuple(Vec::new())),
            b'N' => self.push(Value::None),
            0x88 => self.push(Value::Bool(true)),
            0x89 => self.push(Value::Bool(false)),
            b'K' => {
                let v = self.u8()? as i64;
                self.push(Value::Int(v))
            }
            b'M' => {
                let v = self.u16()? as i64;
                self.push(Value::Int(v))
            }
            b'J' => {
                let v = self.u32()? as i32 as i64;
                self.push(Value::Int(v))
            }
            0x8a | 0x8b => {
                // LONG1 / LONG4: little-endian two's complement; kept if it fits in i64.
                let n = if op == 0x8a { self.u8()? as usize } else { self.u32()? as usize };
                let b = self.take(n)?;
                let mut v: i128 = 0;
                for (i, &byte) in b.iter().enumerate().take(16) {
                    v |= (byte as i128) << (8 * i);
                }
                if n > 0 && n < 16 && b[n - 1] & 0x80 != 0 {
                    v -= 1i128 << (8 * n);
                }
                self.push(match i64::try_from(v) {
                    Ok(i) => Value::Int(i),
                    Err(_) => Value::BigInt(v),
                })
            }
            b'G' => {
                let v = f64::from_be_bytes(self.take(8)?.try_into().unwrap());
                self.push(Value::Float(v))
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The opcodes that push a string or bytes; false for any other.
    fn text(&mut self, op: u8) -> std::result::Result<bool, String> {
        match op {
            b'X' => {
                let n = self.u32()? as usize;
                let s = self.string(n)?;
                self.push(Value::Str(s))
            }
            0x8c => {
                let n = self.u8()? as usize;
                let s = self.string(n)?;
                self.push(Value::Str(s))
            }
            0x8d => {
                let n = u64::from_le_bytes(self.take(8)?.try_into().unwrap()) as usize;
                let s = self.string(n)?;
                self.push(Value::Str(s))
            }
            b'U' => {
                let n = self.u8()? as usize;
                let s = self.string(n)?;
                self.push(Value::Str(s))
            }
            b'T' => {
                let n = self.u32()? as usize;
                let s = self.string(n)?;
                self.push(Value::Str(s))
            }
            b'C' => {
                let n = self.u8()? as usize;
                let b = self.take(n)?.to_vec();
                self.push(Value::Bytes(b))
            }
            b'B' => {
                let n = self.u32()? as usize;
                let b = self.take(n)?.to_vec();
                self.push(Value::Bytes(b))
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The memo's PUT and GET opcodes; false for any other.
    fn memo_op(&mut self, op: u8) -> std::result::Result<bool, String> {
        match op {
            b'q' => {
                let i = self.u8()? as u32;
                self.memo_put(i)?;
            }
            b'r' => {
                let i = self.u32()?;
                self.memo_put(i)?;
            }
            0x94 => {
                let i = self.memo.len() as u32;
                self.memo_put(i)?;
            }
            b'h' => {
                let i = self.u8()? as u32;
                self.memo_get(i)?;
            }
            b'j' => {
                let i = self.u32()?;
                self.memo_get(i)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The opcodes that build tuples, lists and dicts or add to them; false for any other.
    fn container_op(&mut self, op: u8) -> std::result::Result<bool, String> {
        match op {
            b't' => {
                let (items, w) = self.pop_mark_weighted()?;
                self.push_weighted(Value::Tuple(items), Weight::container(w)?)
            }
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                if self.stack.len() < n {
                    return Err("pickle stack underflow".into());
                }
                let items = self.stack.split_off(self.stack.len() - n);
                let w = self.weights.split_off(self.weights.len() - n).into_iter().fold(Weight::NOTHING, Weight::beside);
                self.push_weighted(Value::Tuple(items), Weight::container(w)?)
            }
            b'l' => {
                let (items, w) = self.pop_mark_weighted()?;
                self.push_weighted(Value::List(items), Weight::container(w)?)
            }
            b'd' => {
                let (items, w) = self.pop_mark_weighted()?;
                self.push_weighted(Value::Dict(pairs(items)), Weight::container(w)?)
            }
            b'a' => {
                let (v, w) = self.pop_weighted()?;
                self.grow_top(w)?;
                if let Value::List(l) = self.top()? {
                    l.push(v)
                }
            }
            b'e' => {
                let (items, w) = self.pop_mark_weighted()?;
                self.grow_top(w)?;
                if let Value::List(l) = self.top()? {
                    l.extend(items)
                }
            }
            b's' => {
                let (v, wv) = self.pop_weighted()?;
                let (k, wk) = self.pop_weighted()?;
                self.grow_top(wv.beside(wk))?;
                if let Value::Dict(d) = self.top()? {
                    d.push((k, v))
                }
            }
            b'u' => {
                let (items, w) = self.pop_mark_weighted()?;
                self.grow_top(w)?;
                if let Value::Dict(d) = self.top()? {
                    d.extend(pairs(items))
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Globals, persistent ids, REDUCE, NEWOBJ and BUILD; false for any other opcode.
    fn object_op(&mut self, op: u8) -> std::result::Result<bool, String> {
        match op {
            b'c' => {
                let module = self.line()?;
                let name = self.line()?;
                self.push(Value::Global(format!("{module}.{name}")))
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                match (module, name) {
                    (Value::Str(m), Value::Str(n)) => self.push(Value::Global(format!("{m}.{n}"))),
                    _ => return Err("STACK_GLOBAL expects two strings".into()),
                }
            }
            b'Q' => {
                let pid = self.pop()?;
                self.push(persistent_load(pid)?)
            }
            b'R' => {
                // The result holds at most the arguments (a parameter's tensor, say).
                let (args, w) = self.pop_weighted()?;
                let callable = self.pop()?;
                self.push_weighted(reduce(callable, args)?, w)
            }
            0x81 => {
                let _args = self.pop()?;
                let cls = self.pop()?;
                self.push(Value::Object(cls.kind()))
            }
            b'b' => {
                // BUILD: object state (e.g. a state dict's `_metadata`) is not needed.
                self.pop()?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// POP, POP_MARK and DUP; false for any other opcode.
    fn stack_op(&mut self, op: u8) -> std::result::Result<bool, String> {
        match op {
            b'0' => {
                self.pop()?;
            }
            b'1' => {
                self.pop_mark_weighted()?;
            }
            b'2' => {
                let (v, w) = self.top_copy()?;
                self.push_weighted(v, w)
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

fn pairs(items: Vec<Value>) -> Vec<(Value, Value)> {
    let mut it = items.into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}

/// `('storage', storage_type, key, location, numel[, view_metadata])`.
fn persistent_load(pid: Value) -> std::result::Result<Value, String> {
    let Value::Tuple(t) = pid else { return Err("persistent id is not a tuple".into()) };
    match t.as_slice() {
        [Value::Str(tag), Value::Global(ty), key, _location, _numel, rest @ ..] if tag == "storage" => {
            let dtype = DType::from_storage(ty).ok_or_else(|| format!("unsupported storage type {ty}"))?;
            let key = match key {
                Value::Str(s) => s.clone(),
                Value::Int(i) => i.to_string(),
                other => return Err(format!("storage key is {}", other.kind())),
            };
            // Legacy view storages: (view_key, offset, size) into the root storage.
            let base = match rest.first() {
                Some(Value::Tuple(view)) if view.len() == 3 => view[1].int()? as usize,
                _ => 0,
            };
            Ok(Value::Storage(StorageRef { dtype, key, base }))
        }
        _ => Err("unsupported persistent id (expected a storage)".into()),
    }
}

fn reduce(callable: Value, args: Value) -> std::result::Result<Value, String> {
    let name = match &callable {
        Value::Global(n) => n.as_str(),
        _ => return Ok(Value::Object(callable.kind())),
    };
    let args = match args {
        Value::Tuple(a) => a,
        _ => return Ok(Value::Object(name.to_string())),
    };
    match name {
        "torch._utils._rebuild_tensor_v2" | "torch._utils._rebuild_tensor" => {
            let [Value::Storage(storage), offset, shape, stride, ..] = args.as_slice() else {
                return Err(format!("{name} with unexpected arguments"));
            };
            Ok(Value::Tensor(TensorRef { storage: storage.clone(), offset: offset.int()? as usize, shape: shape.ints()?, stride: stride.ints()? }))
        }
        "torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state" => {
            Ok(args.into_iter().next().ok_or("parameter without data")?)
        }
        "collections.OrderedDict" => Ok(Value::Dict(Vec::new())),
        _ => Ok(Value::Object(name.to_string())),
    }
}

type Storages = HashMap<String, (DType, Vec<u8>)>;

fn materialise(t: &TensorRef, storages: &Storages) -> std::result::Result<PthTensor, String> {
    let (dtype, bytes) = storages.get(&t.storage.key).ok_or_else(|| format!("storage {} missing", t.storage.key))?;
    if *dtype != t.storage.dtype {
        return Err(format!("storage {} read as {:?} and {:?}", t.storage.key, dtype, t.storage.dtype));
    }
    if t.shape.len() != t.stride.len() {
        return Err("shape and stride lengths differ".into());
    }
    let numel_storage = bytes.len() / dtype.size();
    let overflow = || "tensor shape, strides or offset overflow".to_string();
    let n = t.shape.iter().try_fold(1usize, |a, &s| a.checked_mul(s)).ok_or_else(overflow)?;
    // A state dict's tensor never has more elements than its storage (no broadcast views): this
    // also bounds what a hostile shape can make us allocate.
    if n > numel_storage {
        return Err(format!("tensor of {n} elements on a storage of {numel_storage}"));
    }
    let start = t.storage.base.checked_add(t.offset).ok_or_else(overflow)?;
    if n > 0 {
        let reach = t.shape.iter().zip(&t.stride).try_fold(0usize, |a, (&s, &st)| (s - 1).checked_mul(st).and_then(|x| a.checked_add(x))).ok_or_else(overflow)?;
        let last = start.checked_add(reach).ok_or_else(overflow)?;
        if last >= numel_storage {
            return Err(format!("view reaches element {last} of a storage of {numel_storage}"));
        }
    }
    let mut values = Vec::with_capacity(n);
    let mut index = vec![0usize; t.shape.len()];
    for _ in 0..n {
        let at = start + index.iter().zip(&t.stride).map(|(i, s)| i * s).sum::<usize>();
        values.push(dtype.read(bytes, at));
        for d in (0..index.len()).rev() {
            index[d] += 1;
            if index[d] < t.shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Ok(PthTensor { dtype: *dtype, shape: t.shape.clone(), values })
}

/// Storage keys and types referenced by the pickled object.
fn storage_refs(v: &Value, out: &mut BTreeMap<String, DType>) {
    match v {
        Value::Tensor(t) => {
            out.insert(t.storage.key.clone(), t.storage.dtype);
        }
        Value::Storage(s) => {
            out.insert(s.key.clone(), s.dtype);
        }
        Value::Tuple(items) | Value::List(items) => items.iter().for_each(|i| storage_refs(i, out)),
        Value::Dict(items) => items.iter().for_each(|(k, v)| {
            storage_refs(k, out);
            storage_refs(v, out)
        }),
        _ => {}
    }
}

fn read_zip(bytes: &[u8]) -> std::result::Result<(Value, Storages), String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| format!("not a valid zip archive ({e})"))?;
    let pkl = (0..zip.len())
        .filter_map(|i| zip.by_index(i).ok().map(|f| f.name().to_string()))
        .find(|n| n.ends_with("data.pkl"))
        .ok_or("zip archive without data.pkl: not a PyTorch checkpoint")?;
    let prefix = pkl.trim_end_matches("data.pkl").to_string();
    // What the members may inflate to, all together (torch.save stores them uncompressed).
    let mut budget = crate::data::idx::inflated_limit(bytes.len() as u64);
    let mut read = |zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>, name: &str| -> std::result::Result<Vec<u8>, String> {
        let f = zip.by_name(name).map_err(|_| format!("{name} missing from the archive"))?;
        crate::data::idx::read_inflated(f, &mut budget).map_err(|m| format!("{name}: {m}"))
    };
    if let Ok(order) = read(&mut zip, &format!("{prefix}byteorder")) {
        if order.trim_ascii() != b"little" {
            return Err("big-endian checkpoints are not supported".into());
        }
    }
    let (root, _) = Unpickler::new(&read(&mut zip, &pkl)?).load()?;
    let mut refs = BTreeMap::new();
    storage_refs(&root, &mut refs);
    let mut storages = HashMap::new();
    for (key, dtype) in refs {
        let data = read(&mut zip, &format!("{prefix}data/{key}"))?;
        storages.insert(key, (dtype, data));
    }
    Ok((root, storages))
}

const LEGACY_MAGIC: i128 = 0x1950a86a20f9469cfc6c;

fn read_legacy(bytes: &[u8]) -> std::result::Result<(Value, Storages), String> {
    let mut pos = 0;
    let mut next = |what: &str| -> std::result::Result<Value, String> {
        let (v, used) = Unpickler::new(&bytes[pos..]).load().map_err(|e| format!("{what}: {e}"))?;
        pos += used;
        Ok(v)
    };
    let magic = next("not a PyTorch checkpoint (neither zip nor legacy pickle format)")?;
    if !matches!(magic, Value::BigInt(m) if m == LEGACY_MAGIC) {
        return Err("wrong magic number: not a PyTorch checkpoint".into());
    }
    let protocol = next("protocol version")?.int()?;
    if protocol != 1001 {
        return Err(format!("legacy protocol version {protocol}, expected 1001"));
    }
    let _sys_info = next("system info")?;
    let root = next("state dict")?;
    let keys = match next("storage keys")? {
        Value::List(k) => k,
        other => return Err(format!("storage keys: expected a list, found {}", other.kind())),
    };
    let mut refs = BTreeMap::new();
    storage_refs(&root, &mut refs);
    let mut storages = HashMap::new();
    for key in keys {
        let Value::Str(key) = key else { return Err("storage key is not a string".into()) };
        let dtype = *refs.get(&key).ok_or_else(|| format!("storage {key} is not referenced"))?;
        let header = bytes.get(pos..pos + 8).ok_or("truncated: storage header missing")?;
        let numel = i64::from_le_bytes(header.try_into().unwrap()) as usize;
        pos += 8;
        let len = numel.checked_mul(dtype.size()).ok_or_else(|| format!("storage {key}: size overflows"))?;
        let data = pos.checked_add(len).and_then(|end| bytes.get(pos..end)).ok_or_else(|| format!("truncated: storage {key} needs {len} bytes"))?;
        pos += len;
        storages.insert(key, (dtype, data.to_vec()));
    }
    Ok((root, storages))
}
