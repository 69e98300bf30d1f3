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

/// The pieces of `rows` with each place's text between them at its `at` (places in order of
/// `at`), appended to `into`.
pub fn pieces<'t>(rows: &'t [u8], places: &[Place<'t>], into: &mut Vec<&'t [u8]>) {
    let mut from = 0;
    for place in places {
        into.push(&rows[from..place.at]);
        into.push(place.text);
        from = place.at;
    }
    into.push(&rows[from..]);
}

/// `pieces` one after the other, written into `out` (emptied first): on two threads where
/// they come to `TWO_THREADS` bytes or more, each writing about half. The GIL is let go
/// meanwhile: nothing written here is Python's, and the texts read stay alive with the objects
/// the caller holds.
pub fn gather(py: Python<'_>, pieces: &[&[u8]], out: &mut Vec<u8>) {
    let total = pieces.iter().map(|piece| piece.len()).sum();
    out.clear();
    out.reserve(total);
    let into = &mut out.spare_capacity_mut()[..total];
    // a second thread starts at the first piece that starts in the second half of the output
    let (mut split, mut at) = (pieces.len(), total);
    if total >= TWO_THREADS && two_cores() {
        let mut start = 0;
        for (k, piece) in pieces.iter().enumerate() {
            if start >= total / 2 {
                (split, at) = (k, start);
                break;
            }
            start += piece.len();
        }
    }
    let (first, second) = into.split_at_mut(at);
    py.detach(|| {
        std::thread::scope(|threads| {
            if split < pieces.len() {
                threads.spawn(|| fill(second, &pieces[split..]));
            }
            fill(first, &pieces[..split]);
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

/// Fills `into` with `pieces`, one after the other.
fn fill(into: &mut [MaybeUninit<u8>], pieces: &[&[u8]]) {
    let to = pieces.iter().fold(0, |to, piece| put(into, to, piece));
    assert_eq!(to, into.len(), "the pieces fill their part of the buffer");
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
