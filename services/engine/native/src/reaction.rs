//! The numbers of the reactions a batch revises, from their windows' aggregates, in one pass
//! (the rules are `reaction_columns` of tests/engine/numpy_rules/reaction.py, their
//! reference; the same float operations in the same order, so the same bits).

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::columns::{column_len, index, read};

const UP: i64 = 0;
const DOWN: i64 = 1;
const FLAT: i64 = 2;
const TICK: i64 = 3;
const MINUTE: i64 = 4;
const DAILY: i64 = 5;

/// `value` over `base` as a change in percent (reaction.py's `pct`).
pub fn pct(value: f64, base: f64) -> f64 {
    (value / base - 1.0) * 100.0
}

/// `a` where `choice`, else `b`: both are computed, so the compiler can pick without a branch.
#[inline(always)]
fn select<T: Copy>(choice: bool, a: T, b: T) -> T {
    if choice {
        a
    } else {
        b
    }
}

/// The thresholds of the policy and the calendar the numbers depend on.
struct Rules {
    significance_z: f64,
    flat_threshold_pct: f64,
    day_us: i64,
    rounding: f64,
}

/// The signal fields of the windows at `positions` of the store's `columns` (the reference's
/// `reaction_columns`, with its arguments: per window, the baseline's mean and spread, and
/// the benchmark's return where `benchmarked`, or for every window where that is None).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn reaction_numbers<'py>(
    py: Python<'py>,
    columns: &Bound<'py, PyDict>,
    positions: PyReadonlyArray1<'py, i64>,
    baseline_mean_pct: PyReadonlyArray1<'py, f64>,
    baseline_std_pct: PyReadonlyArray1<'py, f64>,
    benchmark_return_pct: Option<PyReadonlyArray1<'py, f64>>,
    benchmarked: Option<PyReadonlyArray1<'py, bool>>,
    significance_z: f64,
    flat_threshold_pct: f64,
    day_us: i64,
    rounding: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let rules = Rules {
        significance_z,
        flat_threshold_pct,
        day_us,
        rounding,
    };
    let positions = positions.as_slice()?;
    let n = positions.len();
    let mean = baseline_mean_pct.as_slice()?;
    let std = baseline_std_pct.as_slice()?;
    let bench = benchmark_return_pct
        .as_ref()
        .map(|b| b.as_slice())
        .transpose()?;
    let benchmarked = benchmarked.as_ref().map(|b| b.as_slice()).transpose()?;
    if mean.len() != n
        || std.len() != n
        || bench.is_some_and(|b| b.len() != n)
        || benchmarked.is_some_and(|b| b.len() != n)
    {
        return Err(PyValueError::new_err(
            "a per-window array differs in length",
        ));
    }
    let rows = column_len(columns, "base_price")?;
    let f64s = |name: &str| read::<f64>(columns, name, rows);
    let i64s = |name: &str| read::<i64>(columns, name, rows);
    let (base_price, last_close, high, low, first_open) = (
        f64s("base_price")?,
        f64s("last_close")?,
        f64s("high")?,
        f64s("low")?,
        f64s("first_open")?,
    );
    let (anchor_us, base_us, last_us, high_us, low_us, max_interval_us) = (
        i64s("anchor_us")?,
        i64s("base_us")?,
        i64s("last_us")?,
        i64s("high_us")?,
        i64s("low_us")?,
        i64s("max_interval_us")?,
    );
    let sessions_k = f64s("sessions_k")?;
    let at_open = read::<bool>(columns, "at_open", rows)?;
    let (base_price, last_close, high, low, first_open) = (
        base_price.as_slice()?,
        last_close.as_slice()?,
        high.as_slice()?,
        low.as_slice()?,
        first_open.as_slice()?,
    );
    let (anchor_us, base_us, last_us, high_us, low_us, max_interval_us) = (
        anchor_us.as_slice()?,
        base_us.as_slice()?,
        last_us.as_slice()?,
        high_us.as_slice()?,
        low_us.as_slice()?,
        max_interval_us.as_slice()?,
    );
    let (sessions_k, at_open) = (sessions_k.as_slice()?, at_open.as_slice()?);
    let at: Vec<usize> = positions
        .iter()
        .map(|&p| index(p, rows, "position"))
        .collect::<PyResult<_>>()?;
    // column by column, each a loop without branches: the windows' values are independent,
    // and a choice made per window (peak, direction, ...) would be mispredicted half the time
    let gather_f = |values: &[f64]| -> Vec<f64> { at.iter().map(|&i| values[i]).collect() };
    let gather_i = |values: &[i64]| -> Vec<i64> { at.iter().map(|&i| values[i]).collect() };
    let base = gather_f(base_price);
    let anchor = gather_i(anchor_us);
    let over_base = |values: &[f64]| -> Vec<f64> {
        at.iter()
            .zip(&base)
            .map(|(&i, &b)| pct(values[i], b))
            .collect()
    };
    let ret = over_base(last_close);
    let rise = over_base(high);
    let fall = over_base(low);
    let peak: Vec<i64> = (0..n)
        .map(|j| {
            let i = at[j];
            select(rise[j].abs() >= fall[j].abs(), high_us[i], low_us[i])
        })
        .collect();
    let to_peak: Vec<f64> = (0..n)
        .map(|j| peak[j].wrapping_sub(anchor[j]) as f64 / 1e6)
        .collect();
    let gap: Vec<f64> = (0..n)
        .map(|j| {
            let i = at[j];
            select(at_open[i], pct(first_open[i], base[j]), f64::NAN)
        })
        .collect();
    let interval = gather_i(max_interval_us);
    let expected: Vec<f64> = (0..n)
        .map(|j| {
            let sessions = sessions_k[at[j]];
            let daily = interval[j] >= rules.day_us;
            select(daily, (sessions - rules.rounding).ceil(), sessions)
        })
        .collect();
    // `expected` holds the sessions covered until here
    let spread: Vec<f64> = (0..n).map(|j| expected[j].sqrt() * std[j]).collect();
    let expected: Vec<f64> = (0..n).map(|j| expected[j] * mean[j]).collect();
    let z: Vec<f64> = (0..n)
        .map(|j| {
            let score = (ret[j] - expected[j]) / spread[j];
            select(spread[j] > 0.0, score, f64::NAN)
        })
        .collect();
    let significant: Vec<f64> = (0..n)
        .map(|j| {
            let beyond = select(z[j].abs() >= rules.significance_z, 1.0, 0.0);
            select(spread[j] > 0.0, beyond, f64::NAN)
        })
        .collect();
    let abnormal: Vec<f64> = match (bench, benchmarked) {
        (Some(bench), None) => (0..n).map(|j| ret[j] - bench[j]).collect(),
        (Some(bench), Some(benchmarked)) => (0..n)
            .map(|j| select(benchmarked[j], ret[j] - bench[j], ret[j] - expected[j]))
            .collect(),
        _ => (0..n).map(|j| ret[j] - expected[j]).collect(),
    };
    let direction: Vec<i64> = ret
        .iter()
        .map(|&r| {
            let down = select(r <= -rules.flat_threshold_pct, DOWN, FLAT);
            select(r >= rules.flat_threshold_pct, UP, down)
        })
        .collect();
    let granularity: Vec<i64> = interval
        .iter()
        .map(|&v| {
            let finer = select(v > 0, MINUTE, TICK);
            select(v >= rules.day_us, DAILY, finer)
        })
        .collect();
    let out = PyDict::new(py);
    out.set_item("anchor_at", PyArray1::from_vec(py, anchor))?;
    out.set_item("base_price", PyArray1::from_vec(py, base))?;
    out.set_item("base_at", PyArray1::from_vec(py, gather_i(base_us)))?;
    out.set_item("last_price", PyArray1::from_vec(py, gather_f(last_close)))?;
    out.set_item("last_at", PyArray1::from_vec(py, gather_i(last_us)))?;
    out.set_item("return_pct", PyArray1::from_vec(py, ret))?;
    out.set_item("max_rise_pct", PyArray1::from_vec(py, rise))?;
    out.set_item("max_fall_pct", PyArray1::from_vec(py, fall))?;
    out.set_item("peak_at", PyArray1::from_vec(py, peak))?;
    out.set_item("time_to_peak_s", PyArray1::from_vec(py, to_peak))?;
    out.set_item("gap_pct", PyArray1::from_vec(py, gap))?;
    out.set_item("baseline_mean_pct", PyArray1::from_slice(py, mean))?;
    out.set_item("baseline_std_pct", PyArray1::from_slice(py, std))?;
    out.set_item("z_score", PyArray1::from_vec(py, z))?;
    out.set_item("abnormal_return_pct", PyArray1::from_vec(py, abnormal))?;
    out.set_item("significant", PyArray1::from_vec(py, significant))?;
    out.set_item("direction", PyArray1::from_vec(py, direction))?;
    out.set_item("data_granularity", PyArray1::from_vec(py, granularity))?;
    Ok(out)
}
