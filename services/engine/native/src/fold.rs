//! A batch of price rows folded into the windows of the engine's window store, window by window
//! in one pass (the rules are `fold_rows` of tests/engine/numpy_rules/fold.py, their
//! reference, with waiting bases as services/engine/waiting.py's `fold_batch` gives them).
//!
//! Every aggregate is a mergeable maximum or minimum, so a window takes its slice of the rows
//! (those after its cut up to its end) in any order: its base is the latest row at or before
//! its cut, its first and last rows the earliest and latest, its high and low the extremes
//! (earliest on ties), its coarsest bar interval the largest. A window is marked dirty where
//! any of them changed.

use numpy::PyReadonlyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::columns::{column_len, index, read, same_length, write};

/// The batch's rows, sorted by (instrument code, observation time).
struct Rows<'a> {
    obs_us: &'a [i64],
    open: &'a [f64],
    high: &'a [f64],
    low: &'a [f64],
    close: &'a [f64],
    interval_us: &'a [i64],
}

/// The extremes of a slice of rows: the row of its highest high and of its lowest low (the
/// first on ties, and the first NaN where there is one, as NumPy's argmax and argmin), and its
/// largest bar interval.
struct Extremes {
    high_row: usize,
    low_row: usize,
    interval_us: i64,
}

impl Rows<'_> {
    fn extremes(&self, first: usize, stop: usize) -> Extremes {
        let (mut high_row, mut low_row) = (first, first);
        let mut interval_us = self.interval_us[first];
        let (mut high_nan, mut low_nan) = (self.high[first].is_nan(), self.low[first].is_nan());
        for row in first + 1..stop {
            let (high, low) = (self.high[row], self.low[row]);
            if !high_nan && (high > self.high[high_row] || high.is_nan()) {
                high_row = row;
                high_nan = high.is_nan();
            }
            if !low_nan && (low < self.low[low_row] || low.is_nan()) {
                low_row = row;
                low_nan = low.is_nan();
            }
            interval_us = interval_us.max(self.interval_us[row]);
        }
        Extremes {
            high_row,
            low_row,
            interval_us,
        }
    }
}

/// The windows' columns the fold reads and writes.
struct Windows<'a> {
    base_cut_us: &'a [i64],
    end_us: &'a [i64],
    base_us: &'a mut [i64],
    base_price: &'a mut [f64],
    n_obs: &'a mut [i64],
    first_us: &'a mut [i64],
    first_close: &'a mut [f64],
    first_open: &'a mut [f64],
    last_us: &'a mut [i64],
    last_close: &'a mut [f64],
    high: &'a mut [f64],
    high_us: &'a mut [i64],
    low: &'a mut [f64],
    low_us: &'a mut [i64],
    max_interval_us: &'a mut [i64],
    dirty: &'a mut [bool],
}

/// Whether (`new_us`, `new`) is later than (`time`, `price`) (ties: the higher price); if so it
/// replaces them (history.py's `later_of`).
fn take_later(time: &mut i64, price: &mut f64, new_us: i64, new: f64) -> bool {
    let later = new_us > *time || (new_us == *time && new > *price);
    if later {
        (*time, *price) = (new_us, new);
    }
    later
}

impl Windows<'_> {
    /// Window `i` takes the row (`row_us`, `close`) as its base where it is later than its own.
    fn take_base(&mut self, i: usize, row_us: i64, close: f64) {
        if take_later(&mut self.base_us[i], &mut self.base_price[i], row_us, close) {
            self.dirty[i] = true;
        }
    }

    /// Window `i` holds the rows [first, stop) (not empty), whose extremes are `extremes`.
    fn hold(&mut self, i: usize, rows: &Rows<'_>, first: usize, stop: usize, extremes: &Extremes) {
        self.n_obs[i] += (stop - first) as i64;
        let (row_us, close) = (rows.obs_us[first], rows.close[first]);
        let cur_us = self.first_us[i];
        if row_us < cur_us || (row_us == cur_us && close < self.first_close[i]) {
            self.first_us[i] = row_us;
            self.first_close[i] = close;
            self.first_open[i] = rows.open[first];
            self.dirty[i] = true;
        }
        let last = stop - 1;
        if take_later(
            &mut self.last_us[i],
            &mut self.last_close[i],
            rows.obs_us[last],
            rows.close[last],
        ) {
            self.dirty[i] = true;
        }
        let (new, new_us) = (rows.high[extremes.high_row], rows.obs_us[extremes.high_row]);
        let cur = self.high[i];
        if new > cur || (new == cur && new_us < self.high_us[i]) {
            (self.high[i], self.high_us[i]) = (new, new_us);
            self.dirty[i] = true;
        }
        let (new, new_us) = (rows.low[extremes.low_row], rows.obs_us[extremes.low_row]);
        let cur = self.low[i];
        if new < cur || (new == cur && new_us < self.low_us[i]) {
            (self.low[i], self.low_us[i]) = (new, new_us);
            self.dirty[i] = true;
        }
        if extremes.interval_us > self.max_interval_us[i] {
            self.max_interval_us[i] = extremes.interval_us;
            self.dirty[i] = true;
        }
    }
}

/// Each code's rows [bounds[code], bounds[code + 1]) of `codes` (sorted, each below `n`).
fn bounds_of(codes: &[i64], n: usize) -> PyResult<Vec<usize>> {
    let mut bounds = vec![0usize; n + 1];
    let mut previous = 0usize;
    for &code in codes {
        let code = usize::try_from(code)
            .ok()
            .filter(|&c| c < n && c >= previous)
            .ok_or_else(|| PyValueError::new_err("row codes unsorted or out of range"))?;
        bounds[code + 1] += 1;
        previous = code;
    }
    for code in 0..n {
        bounds[code + 1] += bounds[code];
    }
    Ok(bounds)
}

/// The by-code arrays of `fold_batch`: the watermark after the batch, and before it with the
/// latest row (time, close).
struct Marks<'a> {
    after_us: &'a [i64],
    before_us: &'a [i64],
    latest_us: &'a [i64],
    latest_close: &'a [f64],
}

/// Folds `rows` (sorted by (code, observation time), de-duplicated; `codes` their instruments,
/// each below `n_codes`) into the `chosen` windows. With `marks` (a live batch): the live
/// windows of the instruments with rows, leaving out those still waiting for their anchor after
/// the batch (their cut at or after their instrument's watermark after it); a window the batch
/// moves past its cut first takes the latest row before the batch as its base.
fn fold(
    windows: &mut Windows<'_>,
    chosen: impl Iterator<Item = usize>,
    inst: &[i64],
    rows: &Rows<'_>,
    (codes, n_codes): (&[i64], usize),
    marks: Option<&Marks<'_>>,
) -> PyResult<()> {
    let bounds = bounds_of(codes, n_codes)?;
    let mut segment: Vec<Option<Extremes>> = (0..n_codes).map(|_| None).collect();
    for i in chosen {
        let code = index(inst[i], n_codes, "instrument code")?;
        let (start, stop) = (bounds[code], bounds[code + 1]);
        let cut_us = windows.base_cut_us[i];
        if start == stop || marks.is_some_and(|m| cut_us >= m.after_us[code]) {
            continue; // no rows, or still waiting after the batch
        }
        let end_us = windows.end_us[i];
        let (first_us, last_us) = (rows.obs_us[start], rows.obs_us[stop - 1]);
        if cut_us >= last_us {
            // waiting for its anchor: only takes the batch's last row as its base
            windows.take_base(i, last_us, rows.close[stop - 1]);
            continue;
        }
        if let Some(marks) = marks.filter(|m| cut_us >= m.before_us[code]) {
            // the batch moves it past its cut: its base may be the latest row before the batch
            windows.take_base(i, marks.latest_us[code], marks.latest_close[code]);
        }
        if cut_us < first_us && end_us >= last_us {
            // holds all its instrument's rows
            let extremes = segment[code].get_or_insert_with(|| rows.extremes(start, stop));
            windows.hold(i, rows, start, stop, extremes);
            continue;
        }
        if cut_us < first_us && end_us < first_us {
            continue; // ended before the rows
        }
        let times = &rows.obs_us[start..stop];
        let first = start + times.partition_point(|&t| t <= cut_us);
        let after = start + times.partition_point(|&t| t <= end_us);
        if first > start {
            windows.take_base(i, rows.obs_us[first - 1], rows.close[first - 1]);
        }
        if after > first {
            let extremes = rows.extremes(first, after);
            windows.hold(i, rows, first, after, &extremes);
        }
    }
    Ok(())
}

/// By code: the watermark after the batch, and before it with the latest row (time, close).
type GivenMarks<'py> = (
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, f64>,
);

/// `rows` (as their six columns, `codes` their instruments) folded into the windows of the
/// store's `columns` at `windows_at` (the reference's `fold_rows` without waiting bases); or, with
/// `marks` and no `windows_at`, into every live window as services/engine/waiting.py's
/// `fold_batch` does (`marks`: by code, the watermark after the batch, and before it with the
/// latest row).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (columns, obs_us, open, high, low, close, interval_us, codes, windows_at, marks))]
pub fn fold_windows<'py>(
    columns: &Bound<'py, PyDict>,
    obs_us: PyReadonlyArray1<'py, i64>,
    open: PyReadonlyArray1<'py, f64>,
    high: PyReadonlyArray1<'py, f64>,
    low: PyReadonlyArray1<'py, f64>,
    close: PyReadonlyArray1<'py, f64>,
    interval_us: PyReadonlyArray1<'py, i64>,
    codes: PyReadonlyArray1<'py, i64>,
    windows_at: Option<PyReadonlyArray1<'py, i64>>,
    marks: Option<GivenMarks<'py>>,
) -> PyResult<()> {
    let rows = Rows {
        obs_us: obs_us.as_slice()?,
        open: open.as_slice()?,
        high: high.as_slice()?,
        low: low.as_slice()?,
        close: close.as_slice()?,
        interval_us: interval_us.as_slice()?,
    };
    let codes = codes.as_slice()?;
    let n_rows = codes.len();
    let row_lengths = [
        rows.obs_us.len(),
        rows.open.len(),
        rows.high.len(),
        rows.low.len(),
        rows.close.len(),
        rows.interval_us.len(),
    ];
    same_length(&row_lengths, n_rows, "the rows' columns")?;
    let marks = match &marks {
        Some((after_us, before_us, latest_us, latest_close)) => Some(Marks {
            after_us: after_us.as_slice()?,
            before_us: before_us.as_slice()?,
            latest_us: latest_us.as_slice()?,
            latest_close: latest_close.as_slice()?,
        }),
        None => None,
    };
    if let Some(marks) = &marks {
        let n_codes = marks.after_us.len();
        let lengths = [
            marks.before_us.len(),
            marks.latest_us.len(),
            marks.latest_close.len(),
        ];
        same_length(&lengths, n_codes, "the arrays by code")?;
    }
    let n = column_len(columns, "alive")?;
    let (alive, inst) = (
        read::<bool>(columns, "alive", n)?,
        read::<i64>(columns, "inst", n)?,
    );
    let (base_cut_us, end_us) = (
        read::<i64>(columns, "base_cut_us", n)?,
        read::<i64>(columns, "end_us", n)?,
    );
    let mut base_us = write::<i64>(columns, "base_us", n)?;
    let mut base_price = write::<f64>(columns, "base_price", n)?;
    let mut n_obs = write::<i64>(columns, "n_obs", n)?;
    let mut first_us = write::<i64>(columns, "first_us", n)?;
    let mut first_close = write::<f64>(columns, "first_close", n)?;
    let mut first_open = write::<f64>(columns, "first_open", n)?;
    let mut last_us = write::<i64>(columns, "last_us", n)?;
    let mut last_close = write::<f64>(columns, "last_close", n)?;
    let mut high_col = write::<f64>(columns, "high", n)?;
    let mut high_us = write::<i64>(columns, "high_us", n)?;
    let mut low_col = write::<f64>(columns, "low", n)?;
    let mut low_us = write::<i64>(columns, "low_us", n)?;
    let mut max_interval_us = write::<i64>(columns, "max_interval_us", n)?;
    let mut dirty = write::<bool>(columns, "dirty", n)?;
    let mut windows = Windows {
        base_cut_us: base_cut_us.as_slice()?,
        end_us: end_us.as_slice()?,
        base_us: base_us.as_slice_mut()?,
        base_price: base_price.as_slice_mut()?,
        n_obs: n_obs.as_slice_mut()?,
        first_us: first_us.as_slice_mut()?,
        first_close: first_close.as_slice_mut()?,
        first_open: first_open.as_slice_mut()?,
        last_us: last_us.as_slice_mut()?,
        last_close: last_close.as_slice_mut()?,
        high: high_col.as_slice_mut()?,
        high_us: high_us.as_slice_mut()?,
        low: low_col.as_slice_mut()?,
        low_us: low_us.as_slice_mut()?,
        max_interval_us: max_interval_us.as_slice_mut()?,
        dirty: dirty.as_slice_mut()?,
    };
    let (alive, inst) = (alive.as_slice()?, inst.as_slice()?);
    let chosen: Vec<usize> = match &windows_at {
        Some(given) => given
            .as_slice()?
            .iter()
            .map(|&p| index(p, n, "window"))
            .collect::<PyResult<_>>()?,
        None => (0..n).filter(|&i| alive[i]).collect(),
    };
    let n_codes = match &marks {
        Some(marks) => marks.after_us.len(),
        // every code of a row or a window
        None => {
            let codes_seen = chosen.iter().map(|&i| inst[i]).chain(codes.iter().copied());
            usize::try_from(codes_seen.max().unwrap_or(-1) + 1).unwrap_or(0)
        }
    };
    fold(
        &mut windows,
        chosen.into_iter(),
        inst,
        &rows,
        (codes, n_codes),
        marks.as_ref(),
    )
}
