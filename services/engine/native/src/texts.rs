//! Texts by code (names, labels), as a column of codes refers to them.

use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

/// Texts by code, read from their Python list once each, when a row first asks for one (the
/// engine's list of announcement ids only grows).
pub struct Texts<'py> {
    list: Bound<'py, PyList>,
    /// each code's place among the texts read, 0 for a text not read yet
    slots: Vec<u32>,
    bytes: Vec<u8>,
    starts: Vec<usize>,
}

impl<'py> Texts<'py> {
    pub fn new(list: &Bound<'py, PyAny>) -> PyResult<Self> {
        let list = list.cast::<PyList>()?.clone();
        let slots = vec![0; list.len()];
        Ok(Texts {
            list,
            slots,
            bytes: Vec::new(),
            starts: vec![0],
        })
    }

    pub fn write(&mut self, code: i64, out: &mut Vec<u8>) -> PyResult<()> {
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
