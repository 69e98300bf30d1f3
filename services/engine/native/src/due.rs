//! Which windows of the engine's window store send a revision now, and which are retired: one
//! pass over the store's columns instead of a dozen whole-column array operations (the rules are
//! `due_revisions` of tests/engine/numpy_rules/due.py, their reference).

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::columns::{column_len, index, read, same_length, NO_TIME};
use crate::reaction::pct;

/// The store's columns the decision reads, as slices of one length.
struct Store<'a> {
    alive: &'a [bool],
    inst: &'a [i64],
    base_us: &'a [i64],
    n_obs: &'a [i64],
    duration_us: &'a [i64],
    max_interval_us: &'a [i64],
    end_us: &'a [i64],
    final_: &'a [bool],
    revision: &'a [i64],
    sent_watermark_us: &'a [i64],
    dirty: &'a [bool],
    held: &'a [bool],
    base_price: &'a [f64],
    high: &'a [f64],
    low: &'a [f64],
    last_close: &'a [f64],
    sent_rise_pct: &'a [f64],
    sent_fall_pct: &'a [f64],
    sent_return_pct: &'a [f64],
}

/// The policy of provisional revisions (revisions.py's `RevisionPolicy`, steps less their
/// tolerance).
struct Policy {
    interval_us: i64,
    extreme_step_pct: f64,
    return_step_pct: f64,
}

impl Store<'_> {
    /// Whether window `i` (alive, its instrument's watermark `watermark_us`) sends a revision,
    /// and whether it is a final one; `until_us`: where its closed market ends it, if it does.
    fn due(
        &self,
        i: usize,
        watermark_us: i64,
        until_us: Option<i64>,
        policy: &Policy,
    ) -> (bool, bool) {
        let started = self.base_us[i] > NO_TIME && self.n_obs[i] > 0;
        let duration = self.duration_us[i];
        let supported = duration == 0 || self.max_interval_us[i] <= duration;
        if !(started && supported) {
            return (false, false);
        }
        let end = self.end_us[i];
        let reached = end <= watermark_us || until_us.is_some_and(|until| end <= until);
        let is_final = self.final_[i];
        let first = self.revision[i] == 0;
        let finalise = !is_final && reached;
        let correction = is_final && self.dirty[i];
        let mut due = first || finalise || correction;
        if !due
            && !is_final
            && !reached
            && watermark_us.wrapping_sub(self.sent_watermark_us[i]) >= policy.interval_us
        {
            due = self.moved(i, policy);
        }
        // a restored window still catching up sends nothing but a final it reaches
        (due && (finalise || !self.held[i]), finalise)
    }

    /// `material_change` (tests/engine/numpy_rules/due.py) of window `i`.
    fn moved(&self, i: usize, policy: &Policy) -> bool {
        let base = self.base_price[i];
        let rise = pct(self.high[i], base) - self.sent_rise_pct[i];
        let fall = self.sent_fall_pct[i] - pct(self.low[i], base);
        let moved = (pct(self.last_close[i], base) - self.sent_return_pct[i]).abs();
        rise >= policy.extreme_step_pct
            || fall >= policy.extreme_step_pct
            || moved >= policy.return_step_pct
    }
}

/// Positions and whether each sends a final revision.
type Due<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<bool>>);

/// The positions (ascending) of the live windows of the instruments `chosen` (a mask by code)
/// that send a revision at their instrument's `watermark_us` (by code), and whether each is a
/// final one; `until_us` (by code, or None): where a closed market's windows end. The steps are
/// the policy's, less the tolerance allowed for float noise.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn due_windows<'py>(
    py: Python<'py>,
    columns: &Bound<'py, PyDict>,
    chosen: PyReadonlyArray1<'py, bool>,
    watermark_us: PyReadonlyArray1<'py, i64>,
    until_us: Option<PyReadonlyArray1<'py, i64>>,
    interval_us: i64,
    extreme_step_pct: f64,
    return_step_pct: f64,
) -> PyResult<Due<'py>> {
    let rows = column_len(columns, "alive")?;
    let column_i64 = |name: &str| read::<i64>(columns, name, rows);
    let column_f64 = |name: &str| read::<f64>(columns, name, rows);
    let column_bool = |name: &str| read::<bool>(columns, name, rows);
    let (alive, inst) = (column_bool("alive")?, column_i64("inst")?);
    let (base_us, n_obs) = (column_i64("base_us")?, column_i64("n_obs")?);
    let (duration_us, max_interval_us) =
        (column_i64("duration_us")?, column_i64("max_interval_us")?);
    let (end_us, final_) = (column_i64("end_us")?, column_bool("final")?);
    let (revision, sent_watermark_us) = (column_i64("revision")?, column_i64("sent_watermark_us")?);
    let (dirty, held) = (column_bool("dirty")?, column_bool("held")?);
    let (base_price, high) = (column_f64("base_price")?, column_f64("high")?);
    let (low, last_close) = (column_f64("low")?, column_f64("last_close")?);
    let (sent_rise_pct, sent_fall_pct, sent_return_pct) = (
        column_f64("sent_rise_pct")?,
        column_f64("sent_fall_pct")?,
        column_f64("sent_return_pct")?,
    );
    let store = Store {
        alive: alive.as_slice()?,
        inst: inst.as_slice()?,
        base_us: base_us.as_slice()?,
        n_obs: n_obs.as_slice()?,
        duration_us: duration_us.as_slice()?,
        max_interval_us: max_interval_us.as_slice()?,
        end_us: end_us.as_slice()?,
        final_: final_.as_slice()?,
        revision: revision.as_slice()?,
        sent_watermark_us: sent_watermark_us.as_slice()?,
        dirty: dirty.as_slice()?,
        held: held.as_slice()?,
        base_price: base_price.as_slice()?,
        high: high.as_slice()?,
        low: low.as_slice()?,
        last_close: last_close.as_slice()?,
        sent_rise_pct: sent_rise_pct.as_slice()?,
        sent_fall_pct: sent_fall_pct.as_slice()?,
        sent_return_pct: sent_return_pct.as_slice()?,
    };
    let (chosen, watermark_us) = (chosen.as_slice()?, watermark_us.as_slice()?);
    let until_us = until_us.as_ref().map(|u| u.as_slice()).transpose()?;
    let codes = chosen.len();
    let until_len = until_us.map_or(codes, |u| u.len());
    same_length(
        &[watermark_us.len(), until_len],
        codes,
        "the arrays by code",
    )?;
    let policy = Policy {
        interval_us,
        extreme_step_pct,
        return_step_pct,
    };
    let mut positions: Vec<i64> = Vec::new();
    let mut finalise: Vec<bool> = Vec::new();
    for i in 0..rows {
        if !store.alive[i] {
            continue;
        }
        let code = index(store.inst[i], codes, "instrument code")?;
        if !chosen[code] {
            continue;
        }
        let (due, last) = store.due(i, watermark_us[code], until_us.map(|u| u[code]), &policy);
        if due {
            positions.push(i as i64);
            finalise.push(last);
        }
    }
    Ok((
        PyArray1::from_vec(py, positions),
        PyArray1::from_vec(py, finalise),
    ))
}

/// The positions (ascending) of the live final windows of the instruments `chosen` (by code)
/// that no accepted tick can reach any more: ended more than `lateness_us` before their
/// instrument's `watermark_us` (by code).
#[pyfunction]
pub fn retiring_windows<'py>(
    py: Python<'py>,
    columns: &Bound<'py, PyDict>,
    chosen: PyReadonlyArray1<'py, bool>,
    watermark_us: PyReadonlyArray1<'py, i64>,
    lateness_us: i64,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let rows = column_len(columns, "alive")?;
    let (alive, inst) = (
        read::<bool>(columns, "alive", rows)?,
        read::<i64>(columns, "inst", rows)?,
    );
    let (final_, end_us) = (
        read::<bool>(columns, "final", rows)?,
        read::<i64>(columns, "end_us", rows)?,
    );
    let (alive, inst, final_, end_us) = (
        alive.as_slice()?,
        inst.as_slice()?,
        final_.as_slice()?,
        end_us.as_slice()?,
    );
    let (chosen, watermark_us) = (chosen.as_slice()?, watermark_us.as_slice()?);
    let codes = chosen.len();
    same_length(&[watermark_us.len()], codes, "the arrays by code")?;
    let mut positions: Vec<i64> = Vec::new();
    for i in 0..alive.len() {
        if !(alive[i] && final_[i]) {
            continue;
        }
        let code = index(inst[i], codes, "instrument code")?;
        if chosen[code] && end_us[i].wrapping_add(lateness_us) < watermark_us[code] {
            positions.push(i as i64);
        }
    }
    Ok(PyArray1::from_vec(py, positions))
}
