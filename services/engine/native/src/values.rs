//! One value as JSON, as orjson writes it: a float, an integer, a time.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

pub fn write_float(value: f64, out: &mut Vec<u8>) {
    if !value.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(value).as_bytes();
    match text.iter().position(|&b| b == b'e') {
        // orjson writes a positive exponent with its sign
        Some(e) if text.get(e + 1) != Some(&b'-') => {
            out.extend_from_slice(&text[..=e]);
            out.push(b'+');
            out.extend_from_slice(&text[e + 1..]);
        }
        _ => out.extend_from_slice(text),
    }
}

pub fn write_int(value: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// `value` (0 ≤ value < 10^width) in `width` digits.
fn write_digits(value: i64, width: usize, out: &mut Vec<u8>) {
    let mut digits = [b'0'; 6];
    let mut rest = value;
    for digit in digits[..width].iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out.extend_from_slice(&digits[..width]);
}

/// The proleptic Gregorian (year, month, day) of a day counted from 1970-01-01.
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

pub fn write_time(us: i64, out: &mut Vec<u8>) -> PyResult<()> {
    let seconds = us.div_euclid(1_000_000);
    let fraction = us.rem_euclid(1_000_000);
    let (year, month, day) = civil(seconds.div_euclid(86_400));
    if !(1..=9999).contains(&year) {
        return Err(PyValueError::new_err(format!(
            "{us} µs is outside years 1 to 9999"
        )));
    }
    let second_of_day = seconds.rem_euclid(86_400);
    out.push(b'"');
    write_digits(year, 4, out);
    for (separator, value) in [
        (b'-', month),
        (b'-', day),
        (b'T', second_of_day / 3_600),
        (b':', second_of_day / 60 % 60),
        (b':', second_of_day % 60),
    ] {
        out.push(separator);
        write_digits(value, 2, out);
    }
    if fraction != 0 {
        out.push(b'.');
        write_digits(fraction, 6, out);
    }
    out.extend_from_slice(b"Z\"");
    Ok(())
}
