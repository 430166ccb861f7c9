//! Pictures a person wants to look at: sample grids, loss curves, 2-D scatter plots.

pub mod animate;
pub mod canvas;
pub mod grid;
pub mod plot;
