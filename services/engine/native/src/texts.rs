//! Texts by code (names, labels), as a column of codes refers to them.

use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

/// A list of texts this long or shorter is read whole.
const SHORT: usize = 64;

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
    /// The texts of `list` that `codes` refer to: all of a short list (labels, flags), those
    /// the codes name of a long one (ids).
    pub fn new(list: &Bound<'_, PyAny>, codes: &[i64]) -> PyResult<Self> {
        let list = list.cast::<PyList>()?;
        let (lowest, highest) = codes
            .iter()
            .fold((0, 0), |(lo, hi), &code| (code.min(lo), code.max(hi)));
        if lowest < 0 || (!codes.is_empty() && highest as usize >= list.len()) {
            let code = if lowest < 0 { lowest } else { highest };
            return Err(PyIndexError::new_err(format!("no text has code {code}")));
        }
        let mut texts = Texts {
            slots: vec![0; list.len()],
            bytes: Vec::new(),
            starts: vec![0],
        };
        if list.len() <= SHORT {
            for at in 0..list.len() {
                texts.read(list, at)?;
            }
            return Ok(texts);
        }
        let mut before = -1;
        for &code in codes {
            if code != before && texts.slots[code as usize] == 0 {
                texts.read(list, code as usize)?;
            }
            before = code;
        }
        Ok(texts)
    }

    fn read(&mut self, list: &Bound<'_, PyList>, at: usize) -> PyResult<()> {
        let text = list.get_item(at)?;
        self.bytes
            .extend_from_slice(text.cast::<PyString>()?.to_str()?.as_bytes());
        self.starts.push(self.bytes.len());
        self.slots[at] = u32::try_from(self.starts.len() - 1)
            .map_err(|_| PyValueError::new_err("too many texts"))?;
        Ok(())
    }

    /// Writes the text of `code`, one of the codes given.
    pub fn write(&self, code: i64, out: &mut Vec<u8>) {
        let slot = self.slots[code as usize] as usize;
        out.extend_from_slice(&self.bytes[self.starts[slot - 1]..self.starts[slot]]);
    }
}
