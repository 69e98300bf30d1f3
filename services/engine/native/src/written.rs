//! The buffer a batch's JSON is written into, lent to Python through the buffer protocol (NumPy
//! reads it in place). When Python lets go of it, it goes back to a small pool for the next
//! batch: memory the kernel handed over once is written again, not faulted in page by page
//! (a batch's buffer is tens of MB, more than the C allocator keeps for reuse).

use std::os::raw::c_int;
use std::sync::Mutex;

use pyo3::ffi;
use pyo3::prelude::*;

/// Buffers kept for the next batches: three, so a batch can be written (in two buffers where
/// long values are placed afterwards, placed.rs) while the one before is still read (what the
/// pool holds is at most three times the largest batch's JSON).
const KEPT: usize = 3;
static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// An empty buffer, the one with the most room the pool has (a batch's size is not known
/// before it is written).
pub fn take() -> Vec<u8> {
    taken(|pool| (0..pool.len()).max_by_key(|&at| pool[at].capacity()))
}

/// An empty buffer with room for `size` bytes where the pool has one (the smallest such), else
/// the one with the most room.
pub fn take_room(size: usize) -> Vec<u8> {
    taken(|pool| {
        let room = |at: &usize| pool[*at].capacity();
        let fits = (0..pool.len())
            .filter(|at| room(at) >= size)
            .min_by_key(room);
        fits.or_else(|| (0..pool.len()).max_by_key(room))
    })
}

fn taken(pick: impl Fn(&[Vec<u8>]) -> Option<usize>) -> Vec<u8> {
    let mut pool = POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    match pick(&pool) {
        Some(at) => pool.swap_remove(at),
        None => Vec::new(),
    }
}

/// The buffer a batch's second half is written into before it is copied after the first (or
/// with the first into a new one), kept for the next batch's second half.
static SCRATCH: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// An empty buffer for a batch's second half, with the room of the one before.
pub fn take_scratch() -> Vec<u8> {
    let mut scratch = SCRATCH
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    std::mem::take(&mut *scratch)
}

/// Keeps `bytes`' room for the next `take_scratch`.
pub fn give_scratch(mut bytes: Vec<u8>) {
    let mut scratch = SCRATCH
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if bytes.capacity() > scratch.capacity() {
        bytes.clear();
        *scratch = bytes;
    }
}

/// Keeps `bytes`' room for a later `take`, where the pool has room.
pub fn give_back(mut bytes: Vec<u8>) {
    let mut pool = POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if pool.len() < KEPT {
        bytes.clear();
        pool.push(bytes);
    }
}

/// Written bytes, read-only from Python.
#[pyclass(frozen, module = "services.engine.compiled")]
pub struct Written {
    bytes: Vec<u8>,
}

impl Written {
    pub fn new(bytes: Vec<u8>) -> Self {
        Written { bytes }
    }
}

#[pymethods]
impl Written {
    fn __len__(&self) -> usize {
        self.bytes.len()
    }

    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let bytes = &slf.get().bytes;
        let length = ffi::Py_ssize_t::try_from(bytes.len())
            .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("buffer too long"))?;
        // read-only, one byte per item; the view holds a reference to `slf` until released
        let filled = unsafe {
            ffi::PyBuffer_FillInfo(
                view,
                slf.as_ptr(),
                bytes.as_ptr() as *mut _,
                length,
                1,
                flags,
            )
        };
        if filled == -1 {
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }

    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {}
}

impl Drop for Written {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.bytes));
    }
}
