//! Texts by code (names, labels), as a column of codes refers to them.

use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

/// The texts a column's codes refer to, read from their Python list once each before any row
/// is written (the engine's list of announcement ids only grows: most are never read), so that
/// rows can be written without Python.
pub struct Texts {
    /// each code's place among the texts read, 0 for a text no code refers to
    slots: Vec<u32>,
    bytes: Vec<u8>,
    starts: Vec<usize>,
}

impl Texts {
    /// The texts of `list` that `codes` refer to.
    pub fn new(list: &Bound<'_, PyAny>, codes: &[i64]) -> PyResult<Self> {
        let list = list.cast::<PyList>()?;
        let mut texts = Texts {
            slots: vec![0; list.len()],
            bytes: Vec::new(),
            starts: vec![0],
        };
        for &code in codes {
            let at = usize::try_from(code)
                .ok()
                .filter(|&at| at < texts.slots.len())
                .ok_or_else(|| PyIndexError::new_err(format!("no text has code {code}")))?;
            if texts.slots[at] == 0 {
                let text = list.get_item(at)?;
                texts
                    .bytes
                    .extend_from_slice(text.cast::<PyString>()?.to_str()?.as_bytes());
                texts.starts.push(texts.bytes.len());
                texts.slots[at] = u32::try_from(texts.starts.len() - 1)
                    .map_err(|_| PyValueError::new_err("too many texts"))?;
            }
        }
        Ok(texts)
    }

    /// Writes the text of `code`, one of the codes given.
    pub fn write(&self, code: i64, out: &mut Vec<u8>) {
        let slot = self.slots[code as usize] as usize;
        out.extend_from_slice(&self.bytes[self.starts[slot - 1]..self.starts[slot]]);
    }
}
