//! tanh on f32 slices, vectorisable: `tanh(a) = 1 − 2 / (e^{2a} + 1)` in f64 with an
//! inline exp (range reduction by ln 2 and a degree-11 Taylor polynomial, ~1e-13 relative), so
//! the cancellation near 0 still leaves the f32 result within an ulp of the true value. The
//! libm `tanhf` burn calls is scalar and was 20–30× slower per value here.

/// Below this |x|, tanh(x) rounds to x in f32 (x³/3 is under half an ulp).
const LINEAR: f64 = 1.0 / 4096.0;
/// From this |x| on, tanh(x) rounds to ±1 in f32.
const SATURATED: f64 = 9.1;

#[inline(always)]
fn exp_f64(t: f64) -> f64 {
    // t = n·ln2 + r, |r| ≤ ln2/2; ln2 split in two parts so n·ln2 is exact enough.
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    let n = (t * std::f64::consts::LOG2_E).round();
    let r = (t - n * LN2_HI) - n * LN2_LO;
    // Horner on the Taylor series to r¹¹/11!.
    const INV_FACTORIAL: [f64; 12] = [
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
    ];
    let q = INV_FACTORIAL.iter().rev().fold(0.0, |p, &c| p * r + c);
    q * f64::from_bits(((n as i64 + 1023) as u64) << 52)
}

/// tanh of one value, as [`tanh_in_place`] computes it.
#[inline(always)]
pub fn tanh1(x: f32) -> f32 {
    let a = (x as f64).abs();
    let t = if a < LINEAR {
        a
    } else if a >= SATURATED {
        1.0
    } else {
        1.0 - 2.0 / (exp_f64(2.0 * a) + 1.0)
    };
    (t as f32).copysign(x)
}

crate::simd_dispatch! {
    pub fn tanh_in_place(v: &mut [f32]) {
        v.iter_mut().for_each(|x| *x = tanh1(*x))
    }
}

crate::simd_dispatch! {
    /// `g *= 1 − y²`: the gradient through tanh from its output y.
    pub fn through_tanh(g: &mut [f32], y: &[f32]) {
        g.iter_mut().zip(y).for_each(|(g, &y)| *g *= 1.0 - y * y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within one f32 ulp of the correctly rounded tanh over a dense sweep of both signs, the
    /// tiny values and saturation, exact at 0 and ±∞, NaN for NaN.
    #[test]
    fn within_an_ulp_of_the_true_value() {
        let mut worst = 0.0f64;
        let mut x = 1e-7f32;
        while x < 12.0 {
            for v in [x, -x] {
                let want = (v as f64).tanh();
                let got = tanh1(v) as f64;
                let ulp = (want.abs() as f32).next_up() as f64 - want.abs() as f32 as f64;
                worst = worst.max((got - want).abs() / ulp);
            }
            x *= 1.0001;
        }
        assert!(worst <= 1.0, "worst error {worst} ulp");
        assert_eq!(tanh1(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(tanh1(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!((tanh1(f32::INFINITY), tanh1(f32::NEG_INFINITY)), (1.0, -1.0));
        assert!(tanh1(f32::NAN).is_nan());
    }
}
