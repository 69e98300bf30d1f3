//! Long JSON values copied into their rows after the rows are written, the copying split
//! between two threads. Where a window has many confounders (thousands of bytes of ids in each
//! of its revisions), copying them is most of a batch's writing, and one core copies from
//! memory at about half the speed two do: so the writer leaves such values out of the rows
//! (`Place` says where each goes) and this writes rows and values, in order, into the batch's
//! buffer.

use std::mem::MaybeUninit;
use std::sync::OnceLock;

use pyo3::prelude::*;

/// A value this long or longer may be left out of its row and placed afterwards.
pub const LONG: usize = 2048;
/// Values left out of a batch's rows (and the rows around them) are copied on two threads once
/// they come to this many bytes: below it, a second thread's start costs more than it saves.
pub const TWO_THREADS: usize = 1 << 22;

/// A value left out of the rows: `text` goes where the rows written had reached `at`.
#[derive(Clone, Copy)]
pub struct Place<'t> {
    pub at: usize,
    pub text: &'t [u8],
}

/// `rows` with each place's text inserted at its `at` (places in order of `at`), written into
/// `out` (emptied first). The GIL is let go meanwhile: nothing written here is Python's, and
/// the texts read stay alive with the objects the caller holds.
pub fn placed(py: Python<'_>, rows: &[u8], places: &[Place<'_>], out: &mut Vec<u8>) {
    let sizes: Vec<usize> = places.iter().map(|p| p.text.len()).collect();
    let total = rows.len() + sizes.iter().sum::<usize>();
    out.clear();
    out.reserve(total);
    let into = &mut out.spare_capacity_mut()[..total];
    // a second thread starts at the first place at or after the middle of the output
    let (mut split, mut before) = (places.len(), 0); // `before`: bytes of the places before it
    if total >= TWO_THREADS && two_cores() {
        for (k, place) in places.iter().enumerate() {
            if place.at + before >= total / 2 {
                split = k;
                break;
            }
            before += sizes[k];
        }
    }
    let (at_rows, at_out) = match places.get(split) {
        Some(place) => (place.at, place.at + before),
        None => (rows.len(), total),
    };
    let (first, second) = into.split_at_mut(at_out);
    py.detach(|| {
        std::thread::scope(|threads| {
            if !second.is_empty() {
                threads.spawn(|| fill(second, &rows[at_rows..], at_rows, &places[split..]));
            }
            fill(first, &rows[..at_rows], 0, &places[..split]);
        })
    });
    // SAFETY: `fill` wrote every byte of `into`, the first `total` of the spare capacity
    // (it asserts that it filled the whole of its part)
    unsafe { out.set_len(total) };
}

/// Whether the process may run on two cores or more (a container may be given one: then a
/// second thread only takes turns with the first).
pub fn two_cores() -> bool {
    static TWO: OnceLock<bool> = OnceLock::new();
    *TWO.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2))
}

/// Fills `into` with `rows` (which start at `base` of all the rows) and the texts of `places`
/// inserted at their places.
fn fill(into: &mut [MaybeUninit<u8>], rows: &[u8], base: usize, places: &[Place<'_>]) {
    let (mut from, mut to) = (0, 0);
    for place in places {
        to = put(into, to, &rows[from..place.at - base]);
        to = put(into, to, place.text);
        from = place.at - base;
    }
    to = put(into, to, &rows[from..]);
    assert_eq!(
        to,
        into.len(),
        "rows and values fill their part of the buffer"
    );
}

/// Copies `bytes` into `into` at `to`; where they end.
fn put(into: &mut [MaybeUninit<u8>], to: usize, bytes: &[u8]) -> usize {
    let end = to + bytes.len();
    let target = &mut into[to..end];
    // SAFETY: `target` has exactly `bytes.len()` bytes, and a `u8` slice cannot overlap the
    // `MaybeUninit<u8>` one borrowed mutably here
    unsafe {
        std::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            target.as_mut_ptr().cast::<u8>(),
            bytes.len(),
        )
    };
    end
}
