//! Windows' confounders as JSON arrays (services/engine/confounders.py): for each window, the
//! ids of one instrument's announcements anchored inside it, but its own, in id order, written
//! from each id's JSON text (made once per set of announcements), with no Python object per id.

use numpy::PyReadonlyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

/// For each window `w`, the JSON array of the ids `i` (in their order) with
/// `starts[w] <= times[i] <= ends[w]` and `i != own[w]` (-1: none is its own), each written as
/// `texts[text_ends[i - 1]..text_ends[i]]` (its JSON string).
#[pyfunction]
pub fn confounders_json<'py>(
    py: Python<'py>,
    times: PyReadonlyArray1<'py, i64>,
    texts: &Bound<'py, PyBytes>,
    text_ends: PyReadonlyArray1<'py, i64>,
    starts: PyReadonlyArray1<'py, i64>,
    ends: PyReadonlyArray1<'py, i64>,
    own: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyList>> {
    let (times, text_ends) = (times.as_slice()?, text_ends.as_slice()?);
    let (starts, ends, own) = (starts.as_slice()?, ends.as_slice()?, own.as_slice()?);
    let texts = texts.as_bytes();
    let ids_fit = text_ends.len() == times.len()
        && text_ends.windows(2).all(|pair| pair[0] <= pair[1])
        && text_ends.first().map_or(true, |&end| end >= 0)
        && text_ends
            .last()
            .map_or(true, |&end| end as usize <= texts.len());
    if !ids_fit || starts.len() != ends.len() || starts.len() != own.len() {
        return Err(PyValueError::new_err(
            "ids and their texts, or windows and their bounds, do not match",
        ));
    }
    let mut json = Vec::new();
    let arrays = starts
        .iter()
        .zip(ends)
        .zip(own)
        .map(|((&start, &end), &own)| {
            json.clear();
            json.push(b'[');
            for (i, &at) in times.iter().enumerate() {
                if at >= start && at <= end && i as i64 != own {
                    if json.len() > 1 {
                        json.push(b',');
                    }
                    let from = if i == 0 { 0 } else { text_ends[i - 1] as usize };
                    json.extend_from_slice(&texts[from..text_ends[i] as usize]);
                }
            }
            json.push(b']');
            PyBytes::new(py, &json)
        });
    PyList::new(py, arrays.collect::<Vec<_>>())
}
