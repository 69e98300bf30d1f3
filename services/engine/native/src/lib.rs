//! The engine's compiled parts, as `services.engine.compiled`: the revision writer (this
//! file), and passes over the window store's columns: which windows are due or retire
//! (due.rs), a batch's rows folded into them (fold.rs), the revised reactions' numbers
//! (reaction.rs).
//!
//! Rows of columns written as JSON objects into one buffer, a newline between two (NDJSON), with
//! where each row ends: the contract JSON of a batch's revisions, made without a Python object
//! per revision (services/engine/encoding.py lays the fields out; this writes them).
//!
//! A field is a kind, a key and a column of as many values as there are rows:
//! - `("string", key, codes, texts)`: the text at each row's code, quoted (texts are already
//!   escaped for JSON, without their quotes);
//! - `("raw", key, codes, texts)`: the text at each row's code as it is (`true`, `null`, ...);
//! - `("int", key, values)`: integers;
//! - `("float", key, values)`: the shortest text that reads back as the same float, as orjson
//!   writes it (`1e+16`, `1e-7`, `0.00001`), `null` where not finite;
//! - `("time", key, values)`: µs since the epoch as an ISO 8601 UTC string with `Z`, and
//!   microseconds only where there are some;
//! - `("json", key, objects, attribute)`: each row's own JSON, the `bytes` of its object's
//!   `attribute` (read once for a run of rows of the same object);
//! - `("joined", key, pieces)`: a string of pieces, each `("text", codes, texts)`,
//!   `("int", values)` or `("literal", text)`.
//!
//! A run of values equal to the row before's (floats bit for bit, texts by code, JSON by object)
//! is copied from that row's bytes as one block, not written again: the horizons of one
//! announcement on one instrument share most of their values.

mod columns;
mod due;
mod fold;
mod reaction;
mod texts;
mod values;
mod written;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use texts::Texts;
use values::{write_float, write_int, write_time};

/// A field's column as given: its arrays are read through slices once all are given (`Op`).
enum Given<'py> {
    String(PyReadonlyArray1<'py, i64>, Texts<'py>),
    Raw(PyReadonlyArray1<'py, i64>, Texts<'py>),
    Int(PyReadonlyArray1<'py, i64>),
    Float(PyReadonlyArray1<'py, f64>),
    Time(PyReadonlyArray1<'py, i64>),
    Json(Bound<'py, PyList>, Bound<'py, PyString>),
    Joined(Vec<GivenPiece<'py>>),
}

enum GivenPiece<'py> {
    Text(PyReadonlyArray1<'py, i64>, Texts<'py>),
    Int(PyReadonlyArray1<'py, i64>),
    Literal(Vec<u8>),
}

/// One step of writing a row: the fields' keys, quotes and constant texts are joined into the
/// literals between the values.
enum Op<'a, 'py> {
    Literal(Vec<u8>),
    Text(&'a [i64], &'a mut Texts<'py>),
    Int(&'a [i64]),
    Float(&'a [f64]),
    Time(&'a [i64]),
    /// objects and the attribute of their JSON
    Json(&'a Bound<'py, PyList>, &'a Bound<'py, PyString>),
}

fn array<'py, T: numpy::Element>(
    item: &Bound<'py, PyAny>,
    rows: usize,
) -> PyResult<PyReadonlyArray1<'py, T>> {
    let values: PyReadonlyArray1<'py, T> = item.extract()?;
    let given = values.as_slice()?.len();
    if given != rows {
        return Err(PyValueError::new_err(format!(
            "a column has {given} values for {rows} rows"
        )));
    }
    Ok(values)
}

fn given_piece<'py>(spec: &Bound<'py, PyTuple>, rows: usize) -> PyResult<GivenPiece<'py>> {
    let kind: String = spec.get_item(0)?.extract()?;
    Ok(match kind.as_str() {
        "text" => GivenPiece::Text(
            array(&spec.get_item(1)?, rows)?,
            Texts::new(&spec.get_item(2)?)?,
        ),
        "int" => GivenPiece::Int(array(&spec.get_item(1)?, rows)?),
        "literal" => GivenPiece::Literal(spec.get_item(1)?.extract::<String>()?.into_bytes()),
        other => return Err(PyValueError::new_err(format!("no piece of kind {other:?}"))),
    })
}

/// A field's key as written before its value (`{"key":` for the first) and its column.
fn given_field<'py>(
    spec: &Bound<'py, PyAny>,
    rows: usize,
    first: bool,
) -> PyResult<(Vec<u8>, Given<'py>)> {
    let spec = spec.cast::<PyTuple>()?;
    let kind: String = spec.get_item(0)?.extract()?;
    let name: String = spec.get_item(1)?.extract()?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err(PyValueError::new_err(format!(
            "key {name:?} is not a lower-case name"
        )));
    }
    let key = format!("{}\"{name}\":", if first { "{" } else { "," }).into_bytes();
    let data = spec.get_item(2)?;
    let given = match kind.as_str() {
        "string" => Given::String(array(&data, rows)?, Texts::new(&spec.get_item(3)?)?),
        "raw" => Given::Raw(array(&data, rows)?, Texts::new(&spec.get_item(3)?)?),
        "int" => Given::Int(array(&data, rows)?),
        "float" => Given::Float(array(&data, rows)?),
        "time" => Given::Time(array(&data, rows)?),
        "json" => {
            let objects = data.cast::<PyList>()?.clone();
            if objects.len() != rows {
                let given = objects.len();
                return Err(PyValueError::new_err(format!(
                    "a column has {given} values for {rows} rows"
                )));
            }
            Given::Json(objects, spec.get_item(3)?.cast::<PyString>()?.clone())
        }
        "joined" => {
            let pieces = data.cast::<PyList>()?.iter();
            let pieces = pieces.map(|p| given_piece(p.cast::<PyTuple>()?, rows));
            Given::Joined(pieces.collect::<PyResult<_>>()?)
        }
        other => {
            return Err(PyValueError::new_err(format!(
                "no column of kind {other:?}"
            )))
        }
    };
    Ok((key, given))
}

impl<'py> Given<'py> {
    /// Appends the steps that write this column's value to `ops`.
    fn ops<'a>(&'a mut self, ops: &mut Vec<Op<'a, 'py>>) -> PyResult<()> {
        match self {
            Given::String(codes, texts) => {
                push(ops, Op::Literal(b"\"".to_vec()));
                push(ops, Op::Text(codes.as_slice()?, texts));
                push(ops, Op::Literal(b"\"".to_vec()));
            }
            Given::Raw(codes, texts) => push(ops, Op::Text(codes.as_slice()?, texts)),
            Given::Int(values) => push(ops, Op::Int(values.as_slice()?)),
            Given::Float(values) => push(ops, Op::Float(values.as_slice()?)),
            Given::Time(values) => push(ops, Op::Time(values.as_slice()?)),
            Given::Json(objects, attribute) => push(ops, Op::Json(objects, attribute)),
            Given::Joined(pieces) => {
                push(ops, Op::Literal(b"\"".to_vec()));
                for piece in pieces.iter_mut() {
                    let op = match piece {
                        GivenPiece::Text(codes, texts) => Op::Text(codes.as_slice()?, texts),
                        GivenPiece::Int(values) => Op::Int(values.as_slice()?),
                        GivenPiece::Literal(text) => Op::Literal(text.clone()),
                    };
                    push(ops, op);
                }
                push(ops, Op::Literal(b"\"".to_vec()));
            }
        }
        Ok(())
    }
}

/// Appends `op`, joined to the literal before it where both are literals, and a text column
/// whose rows all have one text (e.g. `null`) as a literal.
fn push<'a, 'py>(ops: &mut Vec<Op<'a, 'py>>, op: Op<'a, 'py>) {
    let op = match op {
        Op::Text(codes, texts)
            if codes
                .first()
                .is_some_and(|&c| codes.iter().all(|&x| x == c)) =>
        {
            let mut text = Vec::new();
            match texts.write(codes[0], &mut text) {
                Ok(()) => Op::Literal(text),
                Err(_) => Op::Text(codes, texts), // the rows say which code is wrong
            }
        }
        op => op,
    };
    if let (Op::Literal(text), Some(Op::Literal(before))) = (&op, ops.last_mut()) {
        before.extend_from_slice(text);
        return;
    }
    ops.push(op);
}

impl<'py> Op<'_, 'py> {
    /// Whether each of `rows` (from the second on) writes what the row before wrote, one column
    /// at a time: reading many columns row by row would outrun the processor's prefetching.
    fn mark_repeats(&self, rows: std::ops::Range<usize>, repeats: &mut [bool]) -> PyResult<()> {
        let rows = rows.start.max(1)..rows.end;
        let skipped = repeats.len() - rows.len(); // the first row has no row before
        let marks = &mut repeats[skipped..];
        match self {
            Op::Literal(_) => marks.fill(true),
            Op::Text(values, _) | Op::Int(values) | Op::Time(values) => {
                let (now, before) = (&values[rows.clone()], &values[rows.start - 1..rows.end - 1]);
                for (mark, (a, b)) in marks.iter_mut().zip(now.iter().zip(before)) {
                    *mark = a == b;
                }
            }
            Op::Float(values) => {
                let (now, before) = (&values[rows.clone()], &values[rows.start - 1..rows.end - 1]);
                for (mark, (a, b)) in marks.iter_mut().zip(now.iter().zip(before)) {
                    *mark = a.to_bits() == b.to_bits();
                }
            }
            Op::Json(objects, _) => {
                let mut before = objects.get_item(rows.start - 1)?;
                for (mark, row) in marks.iter_mut().zip(rows) {
                    let object = objects.get_item(row)?;
                    *mark = object.is(&before);
                    before = object;
                }
            }
        }
        Ok(())
    }

    /// Writes row `row`'s part to `out`.
    fn write(&mut self, row: usize, out: &mut Vec<u8>) -> PyResult<()> {
        match self {
            Op::Literal(text) => out.extend_from_slice(text),
            Op::Text(codes, texts) => texts.write(codes[row], out)?,
            Op::Int(values) => write_int(values[row], out),
            Op::Float(values) => write_float(values[row], out),
            Op::Time(values) => write_time(values[row], out)?,
            Op::Json(objects, attribute) => {
                let json = objects.get_item(row)?.getattr(&**attribute)?;
                out.extend_from_slice(json.cast_into::<PyBytes>()?.as_bytes());
            }
        }
        Ok(())
    }
}

/// Writes one row after another: a step that repeats the row before is copied from it, a run
/// of such steps as one block.
struct Rows<'a, 'py> {
    ops: Vec<Op<'a, 'py>>,
    /// where each step's bytes are in `out`, for the row written last
    spans: Vec<(usize, usize)>,
}

/// Rows are written in blocks of this many: what repeats is marked for a block, column by
/// column, then its rows are written.
const BLOCK: usize = 256;

impl<'py> Rows<'_, 'py> {
    fn write_all(&mut self, rows: usize, out: &mut Vec<u8>, ends: &mut Vec<i64>) -> PyResult<()> {
        let mut repeats = vec![false; self.ops.len() * BLOCK];
        for first in (0..rows).step_by(BLOCK) {
            let block = first..rows.min(first + BLOCK);
            for (j, op) in self.ops.iter().enumerate() {
                let marks = &mut repeats[j * BLOCK..j * BLOCK + block.len()];
                marks.fill(false);
                op.mark_repeats(block.clone(), marks)?;
            }
            for row in block {
                if row > 0 {
                    out.push(b'\n');
                }
                self.write(row, |j| repeats[j * BLOCK + row - first], out)?;
                ends.push(out.len() as i64);
            }
        }
        Ok(())
    }

    fn write(
        &mut self,
        row: usize,
        repeats: impl Fn(usize) -> bool,
        out: &mut Vec<u8>,
    ) -> PyResult<()> {
        // a block of the row before to copy, and the first step in it
        let mut block: Option<(usize, usize, usize)> = None;
        for j in 0..self.ops.len() {
            if repeats(j) {
                let (start, end) = self.spans[j];
                block = match block {
                    Some((from, to, first)) if to == start => Some((from, end, first)),
                    _ => {
                        self.copy(block, j, out);
                        Some((start, end, j))
                    }
                };
                continue;
            }
            self.copy(block.take(), j, out);
            let start = out.len();
            self.ops[j].write(row, out)?;
            self.spans[j] = (start, out.len());
        }
        self.copy(block, self.ops.len(), out);
        Ok(())
    }

    /// Copies `block` (bytes of the row before, from step `first` to the one before `next`) to
    /// the end of `out`, and notes where those steps' bytes now are.
    fn copy(&mut self, block: Option<(usize, usize, usize)>, next: usize, out: &mut Vec<u8>) {
        if let Some((from, to, first)) = block {
            let at = out.len();
            out.extend_from_within(from..to);
            for span in &mut self.spans[first..next] {
                *span = (span.0 - from + at, span.1 - from + at);
            }
        }
    }
}

/// One JSON object per row, of the `fields` in order (see the module's doc for their kinds),
/// one after the other with a newline between two, and where each row ends.
#[pyfunction]
fn write_objects<'py>(
    py: Python<'py>,
    fields: &Bound<'py, PyList>,
    rows: usize,
) -> PyResult<(Bound<'py, written::Written>, Bound<'py, PyArray1<i64>>)> {
    let mut given: Vec<(Vec<u8>, Given<'py>)> = fields
        .iter()
        .enumerate()
        .map(|(j, spec)| given_field(&spec, rows, j == 0))
        .collect::<PyResult<_>>()?;
    let mut ops: Vec<Op<'_, 'py>> = Vec::new();
    for (key, given) in given.iter_mut() {
        push(&mut ops, Op::Literal(key.clone()));
        given.ops(&mut ops)?;
    }
    push(&mut ops, Op::Literal(b"}".to_vec()));
    let spans = vec![(0, 0); ops.len()];
    let mut steps = Rows { ops, spans };
    let mut out = written::take();
    let mut ends: Vec<i64> = Vec::with_capacity(rows);
    steps.write_all(rows, &mut out, &mut ends)?;
    // handed over as they are: not copied
    Ok((
        Bound::new(py, written::Written::new(out))?,
        PyArray1::from_vec(py, ends),
    ))
}

#[pymodule]
fn compiled(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(write_objects, module)?)?;
    module.add_function(wrap_pyfunction!(due::due_windows, module)?)?;
    module.add_function(wrap_pyfunction!(due::retiring_windows, module)?)?;
    module.add_function(wrap_pyfunction!(fold::fold_windows, module)?)?;
    module.add_function(wrap_pyfunction!(reaction::reaction_numbers, module)?)?;
    module.add_class::<written::Written>()?;
    module.add("NO_TIME", columns::NO_TIME)?;
    Ok(())
}
