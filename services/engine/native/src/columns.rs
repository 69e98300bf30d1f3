//! The window store's columns, taken by name from the dict of arrays Python passes, and the
//! checks that keep every slice read within bounds; what a time column holds for no time.

use numpy::{PyReadonlyArray1, PyReadwriteArray1, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A time column's value for no time (no base yet, no observation): below every real time.
/// Python reads it from here (`services.engine.compiled.NO_TIME`), so both sides hold one value.
pub const NO_TIME: i64 = -(1 << 62);

fn item<'py>(columns: &Bound<'py, PyDict>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    columns
        .get_item(name)?
        .ok_or_else(|| PyValueError::new_err(format!("no column {name}")))
}

/// The column `name`, read; it must have `rows` values.
pub fn read<'py, T: numpy::Element>(
    columns: &Bound<'py, PyDict>,
    name: &str,
    rows: usize,
) -> PyResult<PyReadonlyArray1<'py, T>> {
    let column: PyReadonlyArray1<'py, T> = item(columns, name)?.extract()?;
    same_length(&[column.len()], rows, "the store's columns")?;
    Ok(column)
}

/// The column `name`, written in place; it must have `rows` values.
pub fn write<'py, T: numpy::Element>(
    columns: &Bound<'py, PyDict>,
    name: &str,
    rows: usize,
) -> PyResult<PyReadwriteArray1<'py, T>> {
    let column: PyReadwriteArray1<'py, T> = item(columns, name)?.extract()?;
    same_length(&[column.len()], rows, "the store's columns")?;
    Ok(column)
}

/// How many rows the store holds: the length of its column `name` (any array).
pub fn column_len(columns: &Bound<'_, PyDict>, name: &str) -> PyResult<usize> {
    Ok(item(columns, name)?.cast::<PyUntypedArray>()?.len())
}

/// An error naming `what` unless every one of `lengths` is `n`.
pub fn same_length(lengths: &[usize], n: usize, what: &str) -> PyResult<()> {
    if lengths.iter().any(|&len| len != n) {
        return Err(PyValueError::new_err(format!("{what} differ in length")));
    }
    Ok(())
}

/// `value` as an index below `n` (an instrument's code, a window's position), or an error.
pub fn index(value: i64, n: usize, what: &str) -> PyResult<usize> {
    usize::try_from(value)
        .ok()
        .filter(|&i| i < n)
        .ok_or_else(|| PyValueError::new_err(format!("{what} {value} out of range")))
}
