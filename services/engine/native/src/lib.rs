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

mod written;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

/// Texts by code, read from their Python list once each, when a row first asks for one (the
/// engine's list of announcement ids only grows).
struct Texts<'py> {
    list: Bound<'py, PyList>,
    /// each code's place among the texts read, 0 for a text not read yet
    slots: Vec<u32>,
    bytes: Vec<u8>,
    starts: Vec<usize>,
}

impl<'py> Texts<'py> {
    fn new(list: &Bound<'py, PyAny>) -> PyResult<Self> {
        let list = list.cast::<PyList>()?.clone();
        let slots = vec![0; list.len()];
        Ok(Texts {
            list,
            slots,
            bytes: Vec::new(),
            starts: vec![0],
        })
    }

    fn write(&mut self, code: i64, out: &mut Vec<u8>) -> PyResult<()> {
        let at = usize::try_from(code)
            .ok()
            .filter(|&at| at < self.slots.len())
            .ok_or_else(|| PyIndexError::new_err(format!("no text has code {code}")))?;
        if self.slots[at] == 0 {
            let text = self.list.get_item(at)?;
            self.bytes
                .extend_from_slice(text.cast::<PyString>()?.to_str()?.as_bytes());
            self.starts.push(self.bytes.len());
            self.slots[at] = u32::try_from(self.starts.len() - 1)
                .map_err(|_| PyValueError::new_err("too many texts"))?;
        }
        let slot = self.slots[at] as usize;
        out.extend_from_slice(&self.bytes[self.starts[slot - 1]..self.starts[slot]]);
        Ok(())
    }
}

/// A field's column as given: arrays are read through slices once all are given (`Column`).
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
    /// objects, the attribute of their JSON, and the object of the row written last
    Json(
        &'a Bound<'py, PyList>,
        &'a Bound<'py, PyString>,
        Option<Bound<'py, PyAny>>,
    ),
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
            Given::Json(objects, attribute) => push(ops, Op::Json(objects, attribute, None)),
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

fn write_float(value: f64, out: &mut Vec<u8>) {
    if !value.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(value).as_bytes();
    match text.iter().position(|&b| b == b'e') {
        // orjson writes a positive exponent with its sign
        Some(e) if text.get(e + 1) != Some(&b'-') => {
            out.extend_from_slice(&text[..=e]);
            out.push(b'+');
            out.extend_from_slice(&text[e + 1..]);
        }
        _ => out.extend_from_slice(text),
    }
}

fn write_int(value: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// `value` (0 ≤ value < 10^width) in `width` digits.
fn write_digits(value: i64, width: usize, out: &mut Vec<u8>) {
    let mut digits = [b'0'; 6];
    let mut rest = value;
    for digit in digits[..width].iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out.extend_from_slice(&digits[..width]);
}

/// The proleptic Gregorian (year, month, day) of a day counted from 1970-01-01.
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

fn write_time(us: i64, out: &mut Vec<u8>) -> PyResult<()> {
    let seconds = us.div_euclid(1_000_000);
    let fraction = us.rem_euclid(1_000_000);
    let (year, month, day) = civil(seconds.div_euclid(86_400));
    if !(1..=9999).contains(&year) {
        return Err(PyValueError::new_err(format!(
            "{us} µs is outside years 1 to 9999"
        )));
    }
    let second_of_day = seconds.rem_euclid(86_400);
    out.push(b'"');
    write_digits(year, 4, out);
    for (separator, value) in [
        (b'-', month),
        (b'-', day),
        (b'T', second_of_day / 3_600),
        (b':', second_of_day / 60 % 60),
        (b':', second_of_day % 60),
    ] {
        out.push(separator);
        write_digits(value, 2, out);
    }
    if fraction != 0 {
        out.push(b'.');
        write_digits(fraction, 6, out);
    }
    out.extend_from_slice(b"Z\"");
    Ok(())
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
            Op::Json(objects, _, _) => {
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
            Op::Json(objects, attribute, held) => {
                let object = objects.get_item(row)?;
                let json = object.getattr(&**attribute)?.cast_into::<PyBytes>()?;
                out.extend_from_slice(json.as_bytes());
                *held = Some(object);
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
fn revision_json(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(write_objects, module)?)?;
    module.add_class::<written::Written>()?;
    Ok(())
}
