//! The engine's compiled parts, as `services.engine.compiled`: the revision writer (this
//! file), windows' confounders as JSON (confounders.rs), and passes over the window store's
//! columns: which windows are due or retire (due.rs), a batch's rows folded into them
//! (fold.rs), the revised reactions' numbers (reaction.rs).
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
//!   `attribute` (read once for a run of rows of the same object). Where a batch's long values
//!   (`placed::LONG` bytes or more: many confounders) outweigh the rest of its rows, they are
//!   left out as the rows are written and copied into place afterwards, on two threads
//!   (placed.rs);
//! - `("joined", key, pieces)`: a string of pieces, each `("text", codes, texts)`,
//!   `("int", values)` or `("literal", text)`.
//!
//! A row is a series of steps, each a value and the literal before it (keys, quotes, and the
//! value of a column whose rows all hold one, written once). A run of steps whose values equal
//! the row before's (floats bit for bit, texts by code, JSON by object) is copied from that
//! row's bytes as one block, not written again: the horizons of one announcement on one
//! instrument share most of their values.

mod columns;
mod confounders;
mod due;
mod fold;
mod placed;
mod reaction;
mod texts;
mod values;
mod written;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use placed::{Place, LONG, TWO_THREADS};
use texts::Texts;
use values::{write_float, write_int, write_time};

/// A field's column as given: its arrays are read through slices once all are given (`Op`).
enum Given<'py> {
    String(PyReadonlyArray1<'py, i64>, Texts),
    Raw(PyReadonlyArray1<'py, i64>, Texts),
    Int(PyReadonlyArray1<'py, i64>),
    Float(PyReadonlyArray1<'py, f64>),
    Time(PyReadonlyArray1<'py, i64>),
    Json(JsonColumn<'py>),
    Joined(Vec<GivenPiece<'py>>),
}

enum GivenPiece<'py> {
    Text(PyReadonlyArray1<'py, i64>, Texts),
    Int(PyReadonlyArray1<'py, i64>),
    Literal(Vec<u8>),
}

/// A part of a row as the fields give it: a literal (the fields' keys, quotes and constant
/// texts) or a value of a column.
#[derive(Clone)]
enum Part<'a> {
    Literal(Vec<u8>),
    Value(Op<'a>),
}

/// A column's value in a row: nothing of Python's, so that rows can be written on two threads.
#[derive(Clone)]
enum Op<'a> {
    Text(&'a [i64], &'a Texts),
    Int(&'a [i64]),
    Float(&'a [f64]),
    Time(&'a [i64]),
    Json(JsonTexts<'a>),
}

/// A JSON column's texts (`JsonColumn`) as bytes.
#[derive(Clone)]
struct JsonTexts<'a> {
    rows: &'a [i64],
    texts: Vec<&'a [u8]>,
}

impl<'a> JsonTexts<'a> {
    fn of(column: &'a JsonColumn<'_>) -> Self {
        JsonTexts {
            rows: &column.rows,
            texts: column.texts.iter().map(|t| t.as_bytes()).collect(),
        }
    }

    fn text(&self, row: usize) -> &'a [u8] {
        self.texts[self.rows[row] as usize]
    }

    /// The bytes of the `rows`' values that are `LONG` or longer.
    fn long_bytes(&self, rows: std::ops::Range<usize>) -> usize {
        let sizes = self.rows[rows]
            .iter()
            .map(|&at| self.texts[at as usize].len());
        sizes.filter(|&size| size >= LONG).sum()
    }
}

/// Each row's own JSON: the `bytes` of its object's attribute, read once for a run of rows of
/// the same object.
struct JsonColumn<'py> {
    texts: Vec<Bound<'py, PyBytes>>,
    /// each row's text, by its place in `texts`
    rows: Vec<i64>,
}

impl<'py> JsonColumn<'py> {
    fn new(objects: &Bound<'py, PyList>, attribute: &Bound<'py, PyString>) -> PyResult<Self> {
        let mut column = JsonColumn {
            texts: Vec::new(),
            rows: Vec::with_capacity(objects.len()),
        };
        let mut before: Option<Bound<'py, PyAny>> = None;
        for object in objects.iter() {
            if !before.as_ref().is_some_and(|b| b.is(&object)) {
                let text = object.getattr(attribute)?.cast_into::<PyBytes>()?;
                column.texts.push(text);
                before = Some(object);
            }
            column.rows.push(column.texts.len() as i64 - 1);
        }
        Ok(column)
    }
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
        "text" => {
            let codes = array(&spec.get_item(1)?, rows)?;
            let texts = Texts::new(&spec.get_item(2)?, codes.as_slice()?)?;
            GivenPiece::Text(codes, texts)
        }
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
        "string" | "raw" => {
            let codes = array(&data, rows)?;
            let texts = Texts::new(&spec.get_item(3)?, codes.as_slice()?)?;
            if kind == "string" {
                Given::String(codes, texts)
            } else {
                Given::Raw(codes, texts)
            }
        }
        "int" => Given::Int(array(&data, rows)?),
        "float" => Given::Float(array(&data, rows)?),
        "time" => Given::Time(array(&data, rows)?),
        "json" => {
            let objects = data.cast::<PyList>()?;
            if objects.len() != rows {
                let given = objects.len();
                return Err(PyValueError::new_err(format!(
                    "a column has {given} values for {rows} rows"
                )));
            }
            Given::Json(JsonColumn::new(
                objects,
                spec.get_item(3)?.cast::<PyString>()?,
            )?)
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

impl Given<'_> {
    /// Appends the parts that write this column's value to `parts`.
    fn parts<'a>(&'a self, parts: &mut Vec<Part<'a>>) -> PyResult<()> {
        let quote = || Part::Literal(b"\"".to_vec());
        match self {
            Given::String(codes, texts) => {
                push(parts, quote());
                push(parts, Part::Value(Op::Text(codes.as_slice()?, texts)));
                push(parts, quote());
            }
            Given::Raw(codes, texts) => {
                push(parts, Part::Value(Op::Text(codes.as_slice()?, texts)));
            }
            Given::Int(values) => push(parts, Part::Value(Op::Int(values.as_slice()?))),
            Given::Float(values) => push(parts, Part::Value(Op::Float(values.as_slice()?))),
            Given::Time(values) => push(parts, Part::Value(Op::Time(values.as_slice()?))),
            Given::Json(column) => push(parts, Part::Value(Op::Json(JsonTexts::of(column)))),
            Given::Joined(pieces) => {
                push(parts, quote());
                for piece in pieces {
                    let part = match piece {
                        GivenPiece::Text(codes, texts) => {
                            Part::Value(Op::Text(codes.as_slice()?, texts))
                        }
                        GivenPiece::Int(values) => Part::Value(Op::Int(values.as_slice()?)),
                        GivenPiece::Literal(text) => Part::Literal(text.clone()),
                    };
                    push(parts, part);
                }
                push(parts, quote());
            }
        }
        Ok(())
    }
}

/// `values` all equal (by `same`) to the first, which there is.
fn constant<T: Copy>(values: &[T], same: impl Fn(T, T) -> bool) -> Option<T> {
    let first = *values.first()?;
    values.iter().all(|&v| same(v, first)).then_some(first)
}

/// A column whose rows all write the same text (e.g. `null`, one time) as that literal, once;
/// where the value cannot be written, the column, so that its row says why.
fn as_literal(op: Op<'_>) -> Part<'_> {
    let mut text = Vec::new();
    let written = match &op {
        Op::Text(codes, texts) => constant(codes, |a, b| a == b).map(|c| texts.write(c, &mut text)),
        Op::Int(values) => constant(values, |a, b| a == b).map(|v| write_int(v, &mut text)),
        Op::Float(values) => constant(values, |a: f64, b: f64| a.to_bits() == b.to_bits())
            .map(|v| write_float(v, &mut text)),
        Op::Time(values) => {
            constant(values, |a, b| a == b).and_then(|v| write_time(v, &mut text).ok())
        }
        Op::Json(..) => None,
    };
    match written {
        Some(()) => Part::Literal(text),
        None => Part::Value(op),
    }
}

/// Appends `part`, a column of one value as a literal, joined to the literal before it where
/// both are literals.
fn push<'a>(parts: &mut Vec<Part<'a>>, part: Part<'a>) {
    let part = match part {
        Part::Value(op) => as_literal(op),
        literal => literal,
    };
    if let (Part::Literal(text), Some(Part::Literal(before))) = (&part, parts.last_mut()) {
        before.extend_from_slice(text);
        return;
    }
    parts.push(part);
}

/// Marks each of `rows` whose value equals the row before's.
fn mark_equal(values: &[i64], rows: std::ops::Range<usize>, marks: &mut [bool]) {
    let (now, before) = (&values[rows.clone()], &values[rows.start - 1..rows.end - 1]);
    for (mark, (a, b)) in marks.iter_mut().zip(now.iter().zip(before)) {
        *mark = a == b;
    }
}

impl Op<'_> {
    /// Whether each of `rows` (from the second on) writes what the row before wrote, one column
    /// at a time: reading many columns row by row would outrun the processor's prefetching.
    fn mark_repeats(&self, rows: std::ops::Range<usize>, repeats: &mut [bool]) {
        let rows = rows.start.max(1)..rows.end;
        let skipped = repeats.len() - rows.len(); // the first row has no row before
        let marks = &mut repeats[skipped..];
        match self {
            Op::Text(values, _) | Op::Int(values) | Op::Time(values) => {
                mark_equal(values, rows, marks)
            }
            Op::Json(column) => mark_equal(column.rows, rows, marks),
            Op::Float(values) => {
                let (now, before) = (&values[rows.clone()], &values[rows.start - 1..rows.end - 1]);
                for (mark, (a, b)) in marks.iter_mut().zip(now.iter().zip(before)) {
                    *mark = a.to_bits() == b.to_bits();
                }
            }
        }
    }

    /// Writes row `row`'s value to `out`.
    fn write(&self, row: usize, out: &mut Vec<u8>) -> PyResult<()> {
        match self {
            Op::Text(codes, texts) => texts.write(codes[row], out),
            Op::Int(values) => write_int(values[row], out),
            Op::Float(values) => write_float(values[row], out),
            Op::Time(values) => write_time(values[row], out)?,
            Op::Json(column) => out.extend_from_slice(column.text(row)),
        }
        Ok(())
    }
}

/// A value of a row and the literal before it.
struct Step<'a> {
    before: Vec<u8>,
    value: Op<'a>,
}

/// Where a step's literal and value start and where it ends in the output.
#[derive(Clone, Copy, Default)]
struct Span {
    text: usize,
    value: usize,
    end: usize,
}

/// Writes one row after another: a value that repeats the row before's is copied from it with
/// the literal before it, a run of such steps as one block.
struct Rows<'a> {
    steps: Vec<Step<'a>>,
    /// the literal after the last value
    tail: Vec<u8>,
    /// where each step's bytes are in `out`, for the row written last
    spans: Vec<Span>,
    /// where the row written last ends in `out`
    row_end: usize,
    /// whether long JSON values are left out of the rows, those left out so far, and for each
    /// step of the row written last, its value's place among them where it was left out (then
    /// its span starts and ends at `value`)
    placing: bool,
    places: Vec<Place<'a>>,
    placed_bytes: usize,
    left_out: Vec<Option<usize>>,
}

/// Rows are written in blocks of this many: what repeats is marked for a block, column by
/// column, then its rows are written.
const BLOCK: usize = 256;

impl<'a> Rows<'a> {
    fn new(parts: Vec<Part<'a>>) -> Self {
        let mut steps = Vec::new();
        let mut before = Vec::new();
        for part in parts {
            match part {
                Part::Literal(text) => before = text,
                Part::Value(value) => steps.push(Step {
                    before: std::mem::take(&mut before),
                    value,
                }),
            }
        }
        let spans = vec![Span::default(); steps.len()];
        Rows {
            tail: before,
            spans,
            row_end: 0,
            placing: false,
            places: Vec::new(),
            placed_bytes: 0,
            left_out: vec![None; steps.len()],
            steps,
        }
    }

    /// Writes `rows` into `out` (the first as if it had no row before), and where each ends,
    /// counting the long values left out before it.
    fn write_all(
        &mut self,
        rows: std::ops::Range<usize>,
        out: &mut Vec<u8>,
        ends: &mut Vec<i64>,
    ) -> PyResult<()> {
        let mut repeats = vec![false; self.steps.len() * BLOCK];
        for first in rows.clone().step_by(BLOCK) {
            let block = first..rows.end.min(first + BLOCK);
            for (j, step) in self.steps.iter().enumerate() {
                let marks = &mut repeats[j * BLOCK..j * BLOCK + block.len()];
                marks.fill(false);
                step.value.mark_repeats(block.clone(), marks);
            }
            for row in block {
                if row == rows.start {
                    self.write_first(row, out)?;
                } else {
                    out.push(b'\n');
                    self.write(row, |j| repeats[j * BLOCK + row - first], out)?;
                }
                ends.push((out.len() + self.placed_bytes) as i64);
            }
            if first == rows.start && rows.len() > BLOCK {
                self.placing = self.worth_placing(rows.clone(), out.len());
            }
        }
        Ok(())
    }

    /// Whether the long JSON values of the rows after the first block (written whole, as
    /// `written` bytes) are worth leaving out and copying into place on two threads: where
    /// they come to more bytes than everything else of all the rows (then copying the rows
    /// once more, on two threads, costs less than copying them on one) and to enough for a
    /// second thread.
    fn worth_placing(&self, rows: std::ops::Range<usize>, written: usize) -> bool {
        let (mut first_long, mut later_long) = (0, 0);
        let later = rows.start + BLOCK;
        for step in &self.steps {
            if let Op::Json(column) = &step.value {
                first_long += column.long_bytes(rows.start..later);
                later_long += column.long_bytes(later..rows.end);
            }
        }
        let others = (written - first_long) * rows.len() / BLOCK;
        later_long >= TWO_THREADS && later_long > others && placed::two_cores()
    }

    /// Writes row `row`'s value of step `j` to `out`; or, where it is a long JSON value and
    /// those are placed later, notes its place.
    #[inline]
    fn value(&mut self, j: usize, row: usize, out: &mut Vec<u8>) -> PyResult<()> {
        if !self.placing {
            return self.steps[j].value.write(row, out);
        }
        self.left_out[j] = None;
        if let Op::Json(column) = &self.steps[j].value {
            let text = column.text(row);
            if text.len() >= LONG {
                self.place(j, out.len(), text);
                return Ok(());
            }
        }
        self.steps[j].value.write(row, out)
    }

    /// Leaves out step `j`'s value `text`, to be placed where the rows have reached `at`.
    fn place(&mut self, j: usize, at: usize, text: &'a [u8]) {
        self.left_out[j] = Some(self.places.len());
        self.places.push(Place { at, text });
        self.placed_bytes += text.len();
    }

    /// Writes row `row` as the first, with no row before to copy from.
    fn write_first(&mut self, row: usize, out: &mut Vec<u8>) -> PyResult<()> {
        for j in 0..self.steps.len() {
            let text = out.len();
            out.extend_from_slice(&self.steps[j].before);
            let value = out.len();
            self.value(j, row, out)?;
            self.spans[j] = Span {
                text,
                value,
                end: out.len(),
            };
        }
        out.extend_from_slice(&self.tail);
        self.row_end = out.len();
        Ok(())
    }

    /// Writes row `row` (not the first): `repeats(j)` says whether its step `j` writes what the
    /// row before's did.
    fn write(
        &mut self,
        row: usize,
        repeats: impl Fn(usize) -> bool,
        out: &mut Vec<u8>,
    ) -> PyResult<()> {
        // where a run of the row before's bytes to copy starts, and its first step
        let mut run: Option<(usize, usize)> = None;
        for j in 0..self.steps.len() {
            let span = self.spans[j];
            let (from, first) = run.unwrap_or((span.text, j));
            if repeats(j) {
                run = Some((from, first));
                continue;
            }
            // the literal before a new value is the row before's too
            self.copy(from..span.value, first..j, out);
            let value = out.len();
            self.value(j, row, out)?;
            let text = value - self.steps[j].before.len();
            self.spans[j] = Span {
                text,
                value,
                end: out.len(),
            };
            run = None;
        }
        let n = self.steps.len();
        let (from, first) = run.unwrap_or((self.row_end - self.tail.len(), n));
        self.copy(from..self.row_end, first..n, out);
        self.row_end = out.len();
        Ok(())
    }

    /// Copies `bytes` of the row before to the end of `out`, and notes where the `steps`
    /// (wholly in them) now are; a value of theirs left out of the row before is left out
    /// again, at its new place.
    fn copy(
        &mut self,
        bytes: std::ops::Range<usize>,
        steps: std::ops::Range<usize>,
        out: &mut Vec<u8>,
    ) {
        let (from, at) = (bytes.start, out.len());
        out.extend_from_within(bytes);
        for span in &mut self.spans[steps.clone()] {
            *span = Span {
                text: span.text + at - from,
                value: span.value + at - from,
                end: span.end + at - from,
            };
        }
        if self.placing {
            for j in steps {
                if let Some(p) = self.left_out[j] {
                    self.place(j, self.spans[j].value, self.places[p].text);
                }
            }
        }
    }
}

/// Batches of at least this many rows are written in two halves, on two threads (where the
/// process has two cores): the second starts as if it had no row before.
const TWO_HALVES: usize = 16 * BLOCK;

/// Rows of a batch as written (`write_half`), with where each ends and the long values left
/// out of them.
struct Half<'a> {
    out: Vec<u8>,
    ends: Vec<i64>,
    places: Vec<Place<'a>>,
    placed_bytes: usize,
}

fn write_half<'a>(
    parts: Vec<Part<'a>>,
    rows: std::ops::Range<usize>,
    mut out: Vec<u8>,
) -> PyResult<Half<'a>> {
    let mut steps = Rows::new(parts);
    let mut ends = Vec::with_capacity(rows.len());
    steps.write_all(rows, &mut out, &mut ends)?;
    Ok(Half {
        out,
        ends,
        places: steps.places,
        placed_bytes: steps.placed_bytes,
    })
}

/// The rows of a batch, in one half or two (one after the other), in one buffer: the first
/// half's where nothing was left out (the second's copied after it), else all of them copied
/// with the values left out in their places (placed.rs).
fn joined(py: Python<'_>, halves: Vec<Half<'_>>) -> (Vec<u8>, Vec<i64>) {
    let mut ends = Vec::with_capacity(halves.iter().map(|h| h.ends.len()).sum());
    let mut at = 0;
    for half in &halves {
        ends.extend(half.ends.iter().map(|end| end + at as i64));
        at += half.out.len() + half.placed_bytes + 1; // and a newline
    }
    if halves.iter().all(|h| h.places.is_empty()) {
        let mut halves = halves.into_iter();
        let mut out = halves.next().map(|h| h.out).unwrap_or_default();
        for half in halves {
            out.push(b'\n');
            out.extend_from_slice(&half.out);
            written::give_scratch(half.out);
        }
        return (out, ends);
    }
    let mut pieces: Vec<&[u8]> = Vec::new();
    for (k, half) in halves.iter().enumerate() {
        if k > 0 {
            pieces.push(b"\n");
        }
        placed::pieces(&half.out, &half.places, &mut pieces);
    }
    let mut whole = written::take_room(at - 1);
    placed::gather(py, &pieces, &mut whole);
    drop(pieces);
    let mut halves = halves.into_iter();
    if let Some(first) = halves.next() {
        written::give_back(first.out);
    }
    halves.for_each(|half| written::give_scratch(half.out));
    (whole, ends)
}

/// One JSON object per row, of the `fields` in order (see the module's doc for their kinds),
/// one after the other with a newline between two, and where each row ends.
#[pyfunction]
fn write_objects<'py>(
    py: Python<'py>,
    fields: &Bound<'py, PyList>,
    rows: usize,
) -> PyResult<(Bound<'py, written::Written>, Bound<'py, PyArray1<i64>>)> {
    let given: Vec<(Vec<u8>, Given<'py>)> = fields
        .iter()
        .enumerate()
        .map(|(j, spec)| given_field(&spec, rows, j == 0))
        .collect::<PyResult<_>>()?;
    let mut parts: Vec<Part<'_>> = Vec::new();
    for (key, given) in &given {
        push(&mut parts, Part::Literal(key.clone()));
        given.parts(&mut parts)?;
    }
    push(&mut parts, Part::Literal(b"}".to_vec()));
    let halves = if rows >= TWO_HALVES && placed::two_cores() {
        let middle = rows / 2;
        let (one, two) = (written::take(), written::take_scratch());
        let other = parts.clone();
        // without the GIL: the rows read only Rust's copies of the texts and the columns' arrays,
        // which the engine (waiting for this call) does not change meanwhile
        let (first, second) = py.detach(|| {
            std::thread::scope(|threads| {
                let second = threads.spawn(|| write_half(other, middle..rows, two));
                let first = write_half(parts, 0..middle, one);
                let second = second.join();
                (
                    first,
                    second.unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                )
            })
        });
        vec![first?, second?]
    } else {
        vec![write_half(parts, 0..rows, written::take())?]
    };
    let (out, ends) = joined(py, halves);
    // the buffer and the ends handed over as they are: not copied
    Ok((
        Bound::new(py, written::Written::new(out))?,
        PyArray1::from_vec(py, ends),
    ))
}

#[pymodule]
fn compiled(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(write_objects, module)?)?;
    module.add_function(wrap_pyfunction!(confounders::confounders_json, module)?)?;
    module.add_function(wrap_pyfunction!(due::due_windows, module)?)?;
    module.add_function(wrap_pyfunction!(due::retiring_windows, module)?)?;
    module.add_function(wrap_pyfunction!(fold::fold_windows, module)?)?;
    module.add_function(wrap_pyfunction!(reaction::reaction_numbers, module)?)?;
    module.add_class::<written::Written>()?;
    module.add("NO_TIME", columns::NO_TIME)?;
    Ok(())
}
