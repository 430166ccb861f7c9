//! The bilinear game min_x max_y f(x, y) = x·y, whose only equilibrium is (0, 0): plain gradient
//! steps do not find it. Simultaneous updates spiral outwards; alternating updates (y ascends
//! first, then x descends with the new y) circle around it for ever.

use std::path::Path;

use crate::error::Result;
use crate::viz::canvas::{BLUE, ORANGE};
use crate::viz::plot::{Series, line_plot};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Alternating,
    Simultaneous,
}

/// (x_t, y_t) for t = 0..=steps from (x0, y0) with step size `lr`.
pub fn trajectory(scheme: Scheme, x0: f64, y0: f64, lr: f64, steps: usize) -> Vec<(f64, f64)> {
    let mut out = vec![(x0, y0)];
    let (mut x, mut y) = (x0, y0);
    for _ in 0..steps {
        match scheme {
            Scheme::Alternating => {
                y += lr * x; // ∂f/∂y = x: ascent for the maximiser
                x -= lr * y; // ∂f/∂x = y, with the updated y
            }
            Scheme::Simultaneous => (x, y) = (x - lr * y, y + lr * x),
        }
        out.push((x, y));
    }
    out
}

pub fn table(alt: &[(f64, f64)], sim: &[(f64, f64)]) -> String {
    let mut s = format!("{:>4} {:>12} {:>12} {:>14} {:>14}\n", "t", "alt x", "alt y", "simult. x", "simult. y");
    for (t, (a, b)) in alt.iter().zip(sim).enumerate() {
        s += &format!("{t:>4} {:>12.4} {:>12.4} {:>14.4} {:>14.4}\n", a.0, a.1, b.0, b.1);
    }
    s
}

/// Each trajectory in the (x, y) plane, one picture per scheme (the simultaneous spiral grows by
/// sqrt(1 + lr²) per step and would dwarf the alternating cycle on shared axes).
pub fn plot(scheme: Scheme, points: &[(f64, f64)], path: &Path) -> Result<()> {
    let (title, name, color) = match scheme {
        Scheme::Alternating => ("f(x,y) = x*y, alternating updates: y against x", "alternating (cycles)", BLUE),
        Scheme::Simultaneous => ("f(x,y) = x*y, simultaneous updates: y against x", "simultaneous (spirals out)", ORANGE),
    };
    line_plot(title, "x", &[Series { name, points: points.to_vec(), color }], path)
}
