//! Winograd's minimal filtering F(2×2, 2×2) for the 4×4 stride-2 convolutions of the DCGANs.
//!
//! A 4×4 convolution with stride 2 is a 2×2 convolution with stride 1 over the image's four
//! polyphase planes (even/odd rows × even/odd columns), taken as 4·C channels. F(2×2, 2×2)
//! computes a 2×2 block of such a convolution from a 3×3 block of input with 9 multiplications
//! instead of 16: the convolution becomes 9 GEMMs `M[ξ] = U[ξ]·V[ξ]` of the transformed filters
//! `U = G·g·Gᵀ` and the transformed input tiles `V = Bᵀ·d·B`, and each output block is `Aᵀ·m·A`.
//! The input gradient (the transposed convolution) runs the same steps adjoint, in reverse:
//! gradient blocks `A·dy·Aᵀ`, GEMMs with `U[ξ]ᵀ`, and `B·v·Bᵀ` added into the overlapping input
//! blocks. All transforms have coefficients 0 and ±1 (interpolation points 0, 1 and ∞), so the
//! results differ from the direct sums only in the order of the additions.
//!
//! On dcgan-32 this takes the middle layers' forward and input-gradient GEMMs from 16 to 9
//! multiplications per tap pair; the weight gradients stay with im2col.
//!
//! The batch is cut into chunks of samples (about [`TILES_PER_CHUNK`] tiles each), and each task
//! transforms, multiplies and back-transforms its own chunk single-threaded: a chunk's tiles are
//! written and read by one core, and every output is computed the same way on any number of
//! threads. Within a chunk, the samples are interleaved (`[position][sample]`), so that every
//! transform works on vectors of samples.

use std::cell::RefCell;
use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::conv::{ConvGeometry, View, gemm_into};

/// Both channel counts must reach this: a GEMM with fewer rows or a shorter inner dimension
/// (the RGB layers of a DCGAN) runs too far below the GEMM's peak for the saved multiplications
/// to pay for the transforms.
const MIN_CHANNELS: usize = 32;

/// Samples transformed together as one block of vector registers (16 f32 = one AVX-512 vector).
const LANE_BLOCK: usize = 16;

/// Tiles (GEMM columns) per chunk of samples.
const TILES_PER_CHUNK: usize = 256;

/// Whether the forward pass and the input gradient of the convolution `g` (image side) with
/// `out_channels` outputs go through Winograd.
pub fn applies(g: &ConvGeometry, out_channels: usize) -> bool {
    enabled() && g.kernel == [4, 4] && g.stride == 2 && g.channels >= MIN_CHANNELS && out_channels >= MIN_CHANNELS && g.out_height > 1 && g.out_width > 1
}

/// Whether Winograd is used where it applies (default yes; `GANTRY_WINOGRAD=off` turns it off,
/// for comparison with the im2col passes).
fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| !matches!(std::env::var("GANTRY_WINOGRAD").as_deref(), Ok("off" | "0")))
}

/// `G·g·Gᵀ` of a 2×2 block (`G = [[1, 0], [1, 1], [0, 1]]`), row-major 3×3: the filter
/// transform, and (as `G = A`) the adjoint of the output transform.
#[inline(always)]
fn filter_transform([g0, g1, g2, g3]: [f32; 4]) -> [f32; 9] {
    let rows = [[g0, g1], [g0 + g2, g1 + g3], [g2, g3]];
    let mut u = [0.0; 9];
    for (p, [a, b]) in rows.into_iter().enumerate() {
        u[3 * p..3 * p + 3].copy_from_slice(&[a, a + b, b]);
    }
    u
}

/// `Bᵀ·d·B` of a 3×3 input block, row-major (`Bᵀ = [[1, −1, 0], [0, 1, 0], [0, −1, 1]]`).
#[inline(always)]
fn input_transform(d: [f32; 9]) -> [f32; 9] {
    let t = |c: usize| [d[c] - d[3 + c], d[3 + c], d[6 + c] - d[3 + c]]; // column c of Bᵀ·d
    let t = [t(0), t(1), t(2)];
    let mut v = [0.0; 9];
    for p in 0..3 {
        v[3 * p..3 * p + 3].copy_from_slice(&[t[0][p] - t[1][p], t[1][p], t[2][p] - t[1][p]]);
    }
    v
}

/// `B·v·Bᵀ`: the adjoint of [`input_transform`].
#[inline(always)]
fn input_transform_adjoint(v: [f32; 9]) -> [f32; 9] {
    let b = |a: f32, b: f32, c: f32| [a, b - a - c, c];
    let rows = [b(v[0], v[3], v[6]), b(v[1], v[4], v[7]), b(v[2], v[5], v[8])]; // rows[q][u] = (B·v)[u][q]
    let mut d = [0.0; 9];
    for u in 0..3 {
        d[3 * u..3 * u + 3].copy_from_slice(&b(rows[0][u], rows[1][u], rows[2][u]));
    }
    d
}

/// `Aᵀ·m·A` of a 3×3 product block (`Aᵀ = [[1, 1, 0], [0, 1, 1]]`): the 2×2 output block.
#[inline(always)]
fn output_transform(m: [f32; 9]) -> [f32; 4] {
    let r = [[m[0] + m[3], m[1] + m[4], m[2] + m[5]], [m[3] + m[6], m[4] + m[7], m[5] + m[8]]];
    [r[0][0] + r[0][1], r[0][1] + r[0][2], r[1][0] + r[1][1], r[1][1] + r[1][2]]
}

/// A transform of a block of `I` values into `O` values, one sample at a time.
type Transform<const I: usize, const O: usize> = fn([f32; I]) -> [f32; O];

/// `out[k][n] = f(inputs[·][n])[k]` for `lanes` samples: blocks of [`LANE_BLOCK`] samples as
/// fixed-size arrays (which the compiler keeps in vector registers), then the rest one by one.
#[inline(always)]
fn lanewise<const I: usize, const O: usize>(inputs: [&[f32]; I], mut out: [&mut [f32]; O], lanes: usize, f: Transform<I, O>, accumulate: bool) {
    let whole = lanes / LANE_BLOCK * LANE_BLOCK;
    let store = |dst: &mut [f32], values: &[f32]| {
        if accumulate {
            dst.iter_mut().zip(values).for_each(|(d, v)| *d += v);
        } else {
            dst.copy_from_slice(values);
        }
    };
    for n0 in (0..whole).step_by(LANE_BLOCK) {
        let d: [[f32; LANE_BLOCK]; I] = std::array::from_fn(|i| inputs[i][n0..n0 + LANE_BLOCK].try_into().unwrap());
        let mut y = [[0.0; LANE_BLOCK]; O];
        for k in 0..LANE_BLOCK {
            for (y, value) in y.iter_mut().zip(f(std::array::from_fn(|i| d[i][k]))) {
                y[k] = value;
            }
        }
        for (dst, y) in out.iter_mut().zip(&y) {
            store(&mut dst[n0..n0 + LANE_BLOCK], y);
        }
    }
    for n in whole..lanes {
        for (dst, value) in out.iter_mut().zip(f(std::array::from_fn(|i| inputs[i][n]))) {
            store(&mut dst[n..n + 1], &[value]);
        }
    }
}

/// The `O` rows `[at, at + len)` of `O` matrices `stride` apart in `v`.
fn rows_of<const O: usize>(v: &mut [f32], stride: usize, at: usize, len: usize) -> [&mut [f32]; O] {
    let mut rest = v;
    std::array::from_fn(|k| {
        let matrix = std::mem::take(&mut rest);
        let (head, tail) = if k + 1 < O { matrix.split_at_mut(stride) } else { (matrix, &mut [][..]) };
        rest = tail;
        &mut head[at..at + len]
    })
}

/// The `side × side` block of tile (ty, tx) (rows from 2ty, columns from 2tx) of a plane of
/// interleaved samples (`plane[(i·row_stride + k)·lanes + n]`): one row of lanes per element.
fn block<const I: usize>(plane: &[f32], row_stride: usize, lanes: usize, side: usize, [ty, tx]: [usize; 2]) -> [&[f32]; I] {
    std::array::from_fn(|i| &plane[((2 * ty + i / side) * row_stride + 2 * tx + i % side) * lanes..][..lanes])
}

crate::simd_dispatch! {
    /// The forward input transform of every tile of one interleaved source plane: tile t's 9
    /// values for sample n go to `v[ξ·xi_stride + t·lanes + n]`.
    fn transform_input_tiles(plane: &[f32], row_stride: usize, lanes: usize, tiles: [usize; 2], v: &mut [f32], xi_stride: usize) {
        for t in 0..tiles[0] * tiles[1] {
            let d = block::<9>(plane, row_stride, lanes, 3, [t / tiles[1], t % tiles[1]]);
            lanewise(d, rows_of(v, xi_stride, t * lanes, lanes), lanes, input_transform, false);
        }
    }
}

crate::simd_dispatch! {
    /// The adjoint output transform of every 2×2 block of one interleaved output-gradient plane:
    /// tile t's 9 values for sample n go to `m[ξ·xi_stride + t·lanes + n]`.
    fn transform_gradient_tiles(plane: &[f32], row_stride: usize, lanes: usize, tiles: [usize; 2], m: &mut [f32], xi_stride: usize) {
        for t in 0..tiles[0] * tiles[1] {
            let d = block::<4>(plane, row_stride, lanes, 2, [t / tiles[1], t % tiles[1]]);
            lanewise(d, rows_of(m, xi_stride, t * lanes, lanes), lanes, filter_transform, false);
        }
    }
}

crate::simd_dispatch! {
    /// The output transform of one output channel's tiles (tile t's products for sample n at
    /// `m[ξ·xi_stride + t·lanes + n]`) into its interleaved 2×2 blocks,
    /// `blocks[(4t + 2α + β)·lanes + n]`.
    fn transform_output_tiles(m: &[f32], xi_stride: usize, lanes: usize, tiles: usize, blocks: &mut [f32]) {
        for (t, blocks) in blocks.chunks_exact_mut(4 * lanes).take(tiles).enumerate() {
            let p: [&[f32]; 9] = std::array::from_fn(|xi| &m[xi * xi_stride + t * lanes..][..lanes]);
            lanewise(p, rows_of(blocks, lanes, 0, lanes), lanes, output_transform, false);
        }
    }
}

crate::simd_dispatch! {
    /// The adjoint input transform of one source channel's tiles (tile t's values for sample n at
    /// `v[ξ·xi_stride + t·lanes + n]`), added into the overlapping 3×3 blocks of its interleaved
    /// plane (which the caller zeroes).
    fn add_input_tiles(v: &[f32], xi_stride: usize, lanes: usize, tiles: [usize; 2], plane: &mut [f32], row_stride: usize) {
        for t in 0..tiles[0] * tiles[1] {
            let (ty, tx) = (t / tiles[1], t % tiles[1]);
            let p: [&[f32]; 9] = std::array::from_fn(|xi| &v[xi * xi_stride + t * lanes..][..lanes]);
            // The block's three rows, each three neighbouring elements of lanes.
            let mut rest = &mut plane[(2 * ty * row_stride + 2 * tx) * lanes..];
            let rows: [&mut [f32]; 3] = std::array::from_fn(|_| {
                let rest_len = rest.len();
                let (row, tail) = std::mem::take(&mut rest).split_at_mut((row_stride * lanes).min(rest_len));
                rest = tail;
                &mut row[..3 * lanes]
            });
            let out: [&mut [f32]; 9] = {
                let mut cells = rows.into_iter().flat_map(|r| r.chunks_exact_mut(lanes));
                std::array::from_fn(|_| cells.next().expect("3×3 block"))
            };
            lanewise(p, out, lanes, input_transform_adjoint, true);
        }
    }
}

/// A table entry for an element that lies in the padding.
const PADDING: u32 = u32::MAX;

/// How one sample's plane is gathered into a (padded) plane: the elements that are padding,
/// and (element, offset in the sample's plane) for the others — from a table with one entry per
/// element (its offset, or [`PADDING`]).
struct Gather {
    zeros: Vec<u32>,
    pairs: Vec<(u32, u32)>,
    len: usize,
    /// One past the largest offset read.
    reach: usize,
}

impl Gather {
    fn new(table: &[u32]) -> Self {
        let zeros = (0..table.len() as u32).filter(|&i| table[i as usize] == PADDING).collect();
        let pairs: Vec<(u32, u32)> = (0..table.len() as u32).map(|i| (i, table[i as usize])).filter(|&(_, o)| o != PADDING).collect();
        let reach = pairs.iter().map(|&(_, o)| o as usize + 1).max().unwrap_or(0);
        Gather { zeros, pairs, len: table.len(), reach }
    }
}

/// Interleaves `lanes` samples' planes (`sample_stride` apart in `src`):
/// `dst[i·lanes + n]` = element i of sample n's gathered plane.
fn interleave(src: &[f32], sample_stride: usize, gather: &Gather, lanes: usize, dst: &mut [MaybeUninit<f32>]) {
    assert!(dst.len() >= gather.len * lanes, "interleaved planes inside the buffer");
    assert!(lanes == 0 || (lanes - 1) * sample_stride + gather.reach <= src.len(), "gathered planes inside the input");
    for &i in &gather.zeros {
        dst[i as usize * lanes..][..lanes].iter_mut().for_each(|d| _ = d.write(0.0));
    }
    // Sample by sample: the samples' planes are a multiple of 4 KiB apart, so reading all
    // samples of one element at once would hit one cache set per element.
    for n in 0..lanes {
        let src = &src[n * sample_stride..];
        for &(i, offset) in &gather.pairs {
            // SAFETY: i < gather.len, so i·lanes + n < dst.len(); offset < reach ≤ src.len()
            // (asserts above).
            unsafe { dst.get_unchecked_mut(i as usize * lanes + n).write(*src.get_unchecked(offset as usize)) };
        }
    }
}

/// The inverse of [`interleave`]: `dst[n·sample_stride + i] = src[table[i]·lanes + n]` for every
/// element i of a sample's plane (`table.len()` of them), 0 where `table[i]` is [`PADDING`].
fn deinterleave(src: &[f32], table: &[u32], lanes: usize, dst: &mut [MaybeUninit<f32>], sample_stride: usize) {
    let reach = table.iter().filter(|&&at| at != PADDING).map(|&at| at as usize + 1).max().unwrap_or(0);
    assert!(reach * lanes <= src.len(), "interleaved planes inside the buffer");
    for n in 0..lanes {
        let dst = &mut dst[n * sample_stride..][..table.len()];
        for (d, &at) in dst.iter_mut().zip(table) {
            // SAFETY: at < reach, so at·lanes + n < src.len() (assert above).
            d.write(if at == PADDING { 0.0 } else { unsafe { *src.get_unchecked(at as usize * lanes + n) } });
        }
    }
}

/// The four polyphase planes of a stride-2 convolution's input `g` (each `rows × cols`, phase
/// (qy, qx) at `(2·qy + qx)·rows·cols`): plane (qy, qx) holds `x[2i + qy − ph][2k + qx − pw]` at
/// `(i, k)`. For each element of the planes, its offset in the image plane (or [`PADDING`]).
fn phase_table(g: &ConvGeometry, [rows, cols]: [usize; 2]) -> Vec<u32> {
    let [ph, pw] = g.padding;
    let mut table = Vec::with_capacity(4 * rows * cols);
    for (qy, qx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        for i in 0..rows {
            for k in 0..cols {
                let (y, x) = ((2 * i + qy).wrapping_sub(ph), (2 * k + qx).wrapping_sub(pw));
                table.push(if y < g.height && x < g.width { (y * g.width + x) as u32 } else { PADDING });
            }
        }
    }
    table
}

/// The inverse of [`phase_table`]: for each image element, its position in the polyphase planes,
/// or [`PADDING`] where no window of the convolution reads it.
fn image_table(g: &ConvGeometry, phases: &[u32]) -> Vec<u32> {
    let mut table = vec![PADDING; g.height * g.width];
    for (position, &offset) in phases.iter().enumerate() {
        if offset != PADDING {
            table[offset as usize] = position as u32;
        }
    }
    table
}

/// For an `[h, w]` plane in the corner of a zero plane of `size`: each element's offset in the
/// plane, or [`PADDING`].
fn corner_table([h, w]: [usize; 2], size: [usize; 2]) -> Vec<u32> {
    (0..size[0] * size[1]).map(|i| if i / size[1] < h && i % size[1] < w { ((i / size[1]) * w + i % size[1]) as u32 } else { PADDING }).collect()
}

/// Per-chunk buffers of one task.
#[derive(Default)]
struct Scratch {
    planes: Vec<f32>,
    v: Vec<f32>,
    m: Vec<f32>,
}

/// The distance between the 9 matrices of `len` values of a transformed buffer: one cache line
/// more than their length, so that the 9 values of a tile, written or read together, do not all
/// fall into the same cache set (with the matrices a multiple of 4 KiB apart they did, and the
/// transforms ran at a fraction of their speed).
fn spaced(len: usize) -> usize {
    len.next_multiple_of(16) + 16
}

/// `v` = 9 matrices of `len` values [`spaced`] apart, written by `fill(v, stride)`; the gaps
/// keep whatever values the buffer held (nothing reads them).
fn nine(v: &mut Vec<f32>, len: usize, fill: impl FnOnce(&mut [f32], usize)) {
    let stride = spaced(len);
    if v.len() < 9 * stride {
        v.resize(9 * stride, 0.0);
    }
    fill(&mut v[..9 * stride], stride);
}

thread_local! {
    /// Buffers of earlier calls on this thread, for the next: allocating and zeroing tens of MiB
    /// per call (page faults, memset) cost a tenth of the transforms' time.
    static SPARE: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A buffer of at least `len` values, their contents unspecified (one this thread kept with
/// [`keep`], or a new one).
fn spare(len: usize) -> Vec<f32> {
    let mut v = SPARE.with_borrow_mut(Vec::pop).unwrap_or_default();
    if v.len() < len {
        v.resize(len, 0.0);
    }
    v
}

fn keep(v: Vec<f32>) {
    SPARE.with_borrow_mut(|s| s.push(v));
}

/// `v` (replaced) = `len` values written by `fill`, which must write them all.
fn rebuild(v: &mut Vec<f32>, len: usize, fill: impl FnOnce(&mut [MaybeUninit<f32>])) {
    v.clear();
    v.reserve(len);
    fill(&mut v.spare_capacity_mut()[..len]);
    // SAFETY: the caller's `fill` writes every element (each user's comment says how).
    unsafe { v.set_len(len) };
}

/// The 9 GEMMs of one chunk: `m[ξ] [rows × width] = u[ξ] [rows × inner] · v[ξ] [inner × width]`
/// (`u[ξ]` given by `lhs(ξ)`), `v`'s and `m`'s matrices [`spaced`] apart.
fn multiply<'a>(lhs: impl Fn(usize) -> View<'a>, v: &[f32], m: &mut Vec<f32>, [rows, inner, width]: [usize; 3], parallelism: gemm::Parallelism) {
    let vs = spaced(inner * width);
    nine(m, rows * width, |m, ms| {
        for xi in 0..9 {
            let rhs = View::rows(&v[xi * vs..][..inner * width], width);
            let dst = &mut m[xi * ms..][..rows * width];
            // SAFETY: `dst` holds the rows × width result, row-major, and is ours.
            unsafe { gemm_into(dst.as_mut_ptr(), [width, 1], lhs(xi), rhs, [rows, width, inner], parallelism) };
        }
    });
}

/// The parallelism of the GEMMs of a chunk of `count` samples: the spare threads when the batch
/// has fewer chunks than threads.
fn gemm_parallelism(batch: usize, count: usize) -> gemm::Parallelism {
    match rayon::current_num_threads() / batch.div_ceil(count.max(1)) {
        0 | 1 => gemm::Parallelism::None,
        n => gemm::Parallelism::Rayon(n),
    }
}

/// The shapes shared by the forward pass and the input gradient of one convolution.
struct Plan {
    /// `[9][O][4·C]` ([`spaced`] apart): the transformed filters, source channel `s = 4c + 2qy + qx`
    /// being the polyphase plane (qy, qx) of channel c.
    u: Vec<f32>,
    out_channels: usize,
    sources: usize,
    /// Tiles per axis of one sample's output (2×2 outputs each), and per sample.
    tiles: [usize; 2],
    per_sample: usize,
    /// One polyphase plane's shape and length (3×3 input blocks of the tiles, overlapping).
    phase_size: [usize; 2],
    phase_len: usize,
    /// The polyphase planes' sources in an image plane ([`phase_table`]), and as a gather.
    phases: Vec<u32>,
    gather: Gather,
}

impl Drop for Plan {
    fn drop(&mut self) {
        keep(std::mem::take(&mut self.u));
    }
}

impl Plan {
    fn new(weight: &[f32], out_channels: usize, g: &ConvGeometry) -> Self {
        let (c, o) = (g.channels, out_channels);
        assert_eq!(weight.len(), o * c * 16, "convolution weight size");
        let sources = 4 * c;
        let tiles = [g.out_height.div_ceil(2), g.out_width.div_ceil(2)];
        let phase_size = [2 * tiles[0] + 1, 2 * tiles[1] + 1];
        // u[ξ][o][s] = (G·K·Gᵀ)[ξ], K[j][l] = weight[o][c][2j + qy][2l + qx].
        let stride = spaced(o * sources);
        let mut u = spare(9 * stride);
        let addr = u.as_mut_ptr() as usize;
        (0..o).into_par_iter().for_each(|oc| {
            for s in 0..sources {
                let w = &weight[(oc * c + s / 4) * 16..][..16];
                let q = 4 * (s / 2 % 2) + s % 2;
                for (xi, value) in filter_transform([w[q], w[q + 2], w[q + 8], w[q + 10]]).into_iter().enumerate() {
                    // SAFETY: ξ·stride + oc·sources + s < 9·stride = u.len(); each oc is one task's.
                    unsafe { (addr as *mut f32).add(xi * stride + oc * sources + s).write(value) };
                }
            }
        });
        let phases = phase_table(g, phase_size);
        Plan { u, out_channels: o, sources, tiles, per_sample: tiles[0] * tiles[1], phase_size, phase_len: phase_size[0] * phase_size[1], gather: Gather::new(&phases), phases }
    }

    fn u(&self, xi: usize) -> &[f32] {
        &self.u[xi * spaced(self.out_channels * self.sources)..][..self.out_channels * self.sources]
    }
}

/// Convolution `x [N, C, H, W] * weight [O, C, 4, 4]` with stride 2 → `[N, O, oh, ow]`
/// (requires [`applies`]).
pub fn conv_forward(x: &[f32], weight: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    assert_eq!(x.len(), g.batch * g.channels * g.height * g.width, "conv input size");
    let p = Plan::new(weight, out_channels, g);
    let (c, o, s, tt) = (g.channels, out_channels, p.sources, p.per_sample);
    let (plane_len, image, out_len) = (g.height * g.width, g.channels * g.height * g.width, g.out_height * g.out_width);
    let output = corner_table([g.out_height, g.out_width], [2 * p.tiles[0], 2 * p.tiles[1]]);
    let blocks_table = block_positions(p.tiles, &output);
    chunked(g.batch, tt, o * out_len, |first, lanes, dst, Scratch { planes, v, m }| {
        let width = lanes * tt;
        nine(v, s * width, |v, vs| {
            for ch in 0..c {
                // SAFETY (interleave): the table covers the 4 phase planes.
                rebuild(planes, 4 * p.phase_len * lanes, |d| interleave(&x[first * image + ch * plane_len..], image, &p.gather, lanes, d));
                for q in 0..4 {
                    transform_input_tiles(&planes[q * p.phase_len * lanes..][..p.phase_len * lanes], p.phase_size[1], lanes, p.tiles, &mut v[(4 * ch + q) * width..], vs);
                }
            }
        });
        multiply(|xi| View::rows(p.u(xi), s), v, m, [o, s, width], gemm_parallelism(g.batch, lanes));
        planes.resize(4 * width, 0.0);
        for oc in 0..o {
            transform_output_tiles(&m[oc * width..], spaced(o * width), lanes, tt, planes);
            deinterleave(planes, &blocks_table, lanes, &mut dst[oc * out_len..], o * out_len);
        }
    })
}

/// For each element of an output plane: where its value is among the tiles' interleaved 2×2
/// blocks (`(4t + 2α + β)`), from the output's place in the `2·tiles` grid (`grid`, its corner).
fn block_positions([ta, tb]: [usize; 2], grid: &[u32]) -> Vec<u32> {
    let mut table = vec![PADDING; grid.iter().filter(|&&o| o != PADDING).count()];
    for (i, &offset) in grid.iter().enumerate() {
        if offset != PADDING {
            let (a, b) = (i / (2 * tb), i % (2 * tb));
            table[offset as usize] = (4 * ((a / 2) * tb + b / 2) + 2 * (a % 2) + b % 2) as u32;
        }
    }
    debug_assert!(table.len() <= 4 * ta * tb);
    table
}

/// The transposed convolution with the stride-2 4×4 `weight [O, C, 4, 4]` — the input gradient of
/// the convolution `g` — of `grad [N, O, oh, ow]`: `[N, C, H, W]` (requires [`applies`]).
pub fn conv_transpose(grad: &[f32], weight: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    let (oh, ow) = (g.out_height, g.out_width);
    assert_eq!(grad.len(), g.batch * out_channels * oh * ow, "transposed convolution input size");
    let p = Plan::new(weight, out_channels, g);
    let (c, o, s, tt) = (g.channels, out_channels, p.sources, p.per_sample);
    let grid = [2 * p.tiles[0], 2 * p.tiles[1]];
    let (grid_len, plane_len, image) = (grid[0] * grid[1], oh * ow, c * g.height * g.width);
    let gradient = Gather::new(&corner_table([oh, ow], grid));
    let input = image_table(g, &p.phases);
    let (phase_len, phase_row) = (p.phase_len, p.phase_size[1]);
    chunked(g.batch, tt, image, |first, lanes, dst, Scratch { planes, v, m }| {
        let width = lanes * tt;
        // SAFETY (interleave): the table covers each gradient channel's tile grid.
        rebuild(planes, o * grid_len * lanes, |d| {
            for (oc, d) in d.chunks_exact_mut(grid_len * lanes).enumerate() {
                interleave(&grad[(first * o + oc) * plane_len..], o * plane_len, &gradient, lanes, d);
            }
        });
        nine(m, o * width, |m, ms| {
            for oc in 0..o {
                transform_gradient_tiles(&planes[oc * grid_len * lanes..][..grid_len * lanes], grid[1], lanes, p.tiles, &mut m[oc * width..], ms);
            }
        });
        // v[ξ] = u[ξ]ᵀ · m[ξ]: [4·C × O] · [O × width].
        multiply(|xi| View::transposed(p.u(xi), s), m, v, [s, o, width], gemm_parallelism(g.batch, lanes));
        for ch in 0..c {
            planes.clear();
            planes.resize(4 * phase_len * lanes, 0.0);
            for q in 0..4 {
                add_input_tiles(&v[(4 * ch + q) * width..], spaced(s * width), lanes, p.tiles, &mut planes[q * phase_len * lanes..][..phase_len * lanes], phase_row);
            }
            deinterleave(planes, &input, lanes, &mut dst[ch * g.height * g.width..], image);
        }
    })
}

/// Samples per group of the weight gradient's transforms: fixed, so that the order of its sums
/// (over the whole batch's tiles, group after group) does not depend on the number of threads.
const GRADIENT_LANES: usize = 16;

/// Output channels per task of the weight gradient's GEMMs.
const GRADIENT_ROWS: usize = 64;

/// The weight gradient of the convolution `x [N, C, H, W] * weight [O, C, 4, 4]` (stride 2) from
/// `grad [N, O, oh, ow]`: `[O, C, 4, 4]` (requires [`applies`]).
///
/// The adjoint of the filter transform: `Ū[ξ] = M̄[ξ]·V[ξ]ᵀ` summed over the whole batch's tiles
/// (one GEMM per ξ, its inner dimension the tiles), then `Aᵀ·Ū·A` per filter (`G = A`), with
/// `M̄ = A·dy·Aᵀ` of the gradient blocks and `V` the forward's input tiles.
pub fn weight_gradient(x: &[f32], grad: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    let (c, o, (oh, ow)) = (g.channels, out_channels, (g.out_height, g.out_width));
    assert_eq!(x.len(), g.batch * c * g.height * g.width, "weight gradient input size");
    assert_eq!(grad.len(), g.batch * o * oh * ow, "weight gradient output-gradient size");
    let s = 4 * c;
    let tiles = [oh.div_ceil(2), ow.div_ceil(2)];
    let tt = tiles[0] * tiles[1];
    let phase_size = [2 * tiles[0] + 1, 2 * tiles[1] + 1];
    let phase_len = phase_size[0] * phase_size[1];
    let (phases, grid) = (Gather::new(&phase_table(g, phase_size)), [2 * tiles[0], 2 * tiles[1]]);
    let gradient = Gather::new(&corner_table([oh, ow], grid));
    // Rows `[channel][ξ][tile column]`, ξ rows `row` apart (spaced against cache-set conflicts):
    // column group·tt·16 + tile·lanes + n for sample group·16 + n.
    let columns = g.batch * tt;
    let row = spaced(columns);
    let groups: Vec<(usize, usize)> = (0..g.batch).step_by(GRADIENT_LANES).map(|first| (first, GRADIENT_LANES.min(g.batch - first))).collect();
    let (plane_len, image, out_len) = (g.height * g.width, c * g.height * g.width, oh * ow);
    let mut v = spare(s * 9 * row);
    v[..s * 9 * row].par_chunks_mut(4 * 9 * row).enumerate().for_each_init(Vec::new, |planes, (ch, v)| {
        for &(first, lanes) in &groups {
            // SAFETY (interleave): the table covers the 4 phase planes.
            rebuild(planes, 4 * phase_len * lanes, |d| interleave(&x[first * image + ch * plane_len..], image, &phases, lanes, d));
            for q in 0..4 {
                transform_input_tiles(&planes[q * phase_len * lanes..][..phase_len * lanes], phase_size[1], lanes, tiles, &mut v[q * 9 * row + first * tt..], row);
            }
        }
    });
    let mut m = spare(o * 9 * row);
    let grid_len = grid[0] * grid[1];
    m[..o * 9 * row].par_chunks_mut(9 * row).enumerate().for_each_init(Vec::new, |planes, (oc, m)| {
        for &(first, lanes) in &groups {
            // SAFETY (interleave): the table covers the tile grid.
            rebuild(planes, grid_len * lanes, |d| interleave(&grad[first * o * out_len + oc * out_len..], o * out_len, &gradient, lanes, d));
            transform_gradient_tiles(planes, grid[1], lanes, tiles, &mut m[first * tt..], row);
        }
    });
    // ū[ξ][o][s] = Σ_t m[o][ξ][t]·v[s][ξ][t]: one task per ξ and block of output channels. The
    // blocks do not depend on the number of threads (gemm's blocking of the sum may depend on
    // the rows it is given).
    let ustride = spaced(o * s);
    let mut u = spare(9 * ustride);
    let u_addr = u.as_mut_ptr() as usize;
    let blocks = o.div_ceil(GRADIENT_ROWS);
    (0..9 * blocks).into_par_iter().for_each(|task| {
        let (xi, block) = (task / blocks, task % blocks);
        let (o0, o1) = (block * GRADIENT_ROWS, ((block + 1) * GRADIENT_ROWS).min(o));
        let lhs = View::with_strides(&m[o0 * 9 * row + xi * row..], 9 * row, 1);
        let rhs = View::with_strides(&v[xi * row..], 1, 9 * row);
        // SAFETY: rows o0..o1 of ū[ξ] lie inside `u` and belong to this task only.
        unsafe { gemm_into((u_addr as *mut f32).add(xi * ustride + o0 * s), [s, 1], lhs, rhs, [o1 - o0, s, columns], gemm::Parallelism::None) };
    });
    // dW[o][c][2j + qy][2l + qx] = (Aᵀ·ū[·][o][4c + 2qy + qx]·A)[j][l].
    let mut dw = vec![0.0; o * c * 16];
    dw.par_chunks_mut(c * 16).enumerate().for_each(|(oc, dw)| {
        for src in 0..s {
            let k = output_transform(std::array::from_fn(|xi| u[xi * ustride + oc * s + src]));
            let (ch, q) = (src / 4, 4 * (src / 2 % 2) + src % 2);
            for (i, offset) in [0, 2, 8, 10].into_iter().enumerate() {
                dw[ch * 16 + q + offset] = k[i];
            }
        }
    });
    keep(v);
    keep(m);
    keep(u);
    dw
}

/// `[N, per_sample]` values built a chunk of samples at a time (about [`TILES_PER_CHUNK`] tiles
/// of `tiles_per_sample` each), in parallel: `fill(first, count, dst, scratch)` must write every
/// element of `dst`, the outputs of samples `first..first + count`.
fn chunked(batch: usize, tiles_per_sample: usize, per_sample: usize, fill: impl Fn(usize, usize, &mut [MaybeUninit<f32>], &mut Scratch) + Sync) -> Vec<f32> {
    let threads = rayon::current_num_threads();
    let samples = TILES_PER_CHUNK.div_ceil(tiles_per_sample).min(batch.div_ceil(threads)).max(1);
    // SAFETY (rebuild): the chunks cover every sample.
    let mut out = Vec::new();
    rebuild(&mut out, batch * per_sample, |out| {
        out.par_chunks_mut(samples * per_sample).enumerate().for_each(|(chunk, dst)| {
            let mut run = |scratch: &mut Scratch| fill(chunk * samples, dst.len() / per_sample, dst, scratch);
            // The thread's scratch, unless a GEMM's own parallel loop brought this thread here
            // from inside another chunk.
            SCRATCH.with(|s| match s.try_borrow_mut() {
                Ok(mut scratch) => run(&mut scratch),
                Err(_) => run(&mut Scratch::default()),
            })
        });
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv::{col2im_transpose_forward, im2col_forward, im2col_weight_gradient};

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len).map(|i| (((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) % 2001) as f32 / 1000.0 - 1.0).collect()
    }

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(a, b)| a * b).sum()
    }

    #[test]
    fn transforms_compute_a_two_tap_correlation_and_adjoints_are_adjoint() {
        let (d, g): ([f32; 9], [f32; 4]) = (values(9, 1).try_into().unwrap(), values(4, 2).try_into().unwrap());
        let (u, v) = (filter_transform(g), input_transform(d));
        let y = output_transform(std::array::from_fn(|i| u[i] * v[i]));
        for (i, y) in y.into_iter().enumerate() {
            let (a, b) = (i / 2, i % 2);
            let direct: f32 = (0..4).map(|k| d[(a + k / 2) * 3 + b + k % 2] * g[k]).sum();
            assert!((y - direct).abs() < 1e-5, "({a}, {b}): {y} vs {direct}");
        }
        let (w, z): ([f32; 9], [f32; 4]) = (values(9, 3).try_into().unwrap(), values(4, 4).try_into().unwrap());
        assert!((dot(&input_transform(d), &w) - dot(&d, &input_transform_adjoint(w))).abs() < 1e-5);
        assert!((dot(&output_transform(w), &z) - dot(&w, &filter_transform(z))).abs() < 1e-5);
    }

    #[test]
    fn weight_gradient_is_the_same_on_any_number_of_threads() {
        let g = ConvGeometry::conv(37, 32, [8, 8], [4, 4], 2, [1, 1]);
        let (x, grad) = (values(37 * 32 * 64, 5), values(37 * 96 * 16, 6));
        let on = |threads: usize| rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| weight_gradient(&x, &grad, 96, &g));
        let one = on(1);
        for threads in [2, 3, 8] {
            assert_eq!(on(threads), one, "on {threads} threads");
        }
    }

    /// Forward and transposed passes against the im2col/col2im ones, on even and odd sizes and
    /// paddings 0–2 (with image rows no window reads), batches that do and do not divide into
    /// chunks or blocks of lanes.
    #[test]
    fn matches_the_im2col_passes() {
        for &(batch, c, o, size, pad) in &[(3, 32, 40, 16, 1), (5, 33, 32, 7, 1), (2, 32, 32, 9, 0), (3, 32, 32, 11, 0), (4, 40, 36, 10, 2), (70, 32, 32, 4, 1)] {
            let g = ConvGeometry::conv(batch, c, [size, size], [4, 4], 2, [pad, pad]);
            assert!(applies(&g, o));
            let (x, w) = (values(batch * c * size * size, 1), values(o * c * 16, 2));
            let scale = 1e-5 * (c * 16) as f32;
            let (fast, reference) = (conv_forward(&x, &w, o, &g), im2col_forward(&x, &w, o, &g));
            let worst = fast.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(worst < scale, "forward {batch}×{c}→{o} at {size} pad {pad}: off by {worst}");
            let grad = values(batch * o * g.out_height * g.out_width, 3);
            let (fast, reference) = (conv_transpose(&grad, &w, o, &g), col2im_transpose_forward(&grad, &w, o, &g));
            let worst = fast.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(worst < scale * o as f32 / c as f32 + 1e-5, "transposed {batch}×{o}→{c} at {size} pad {pad}: off by {worst}");
            let (fast, reference) = (weight_gradient(&x, &grad, o, &g), im2col_weight_gradient(&x, &grad, o, &g));
            let worst = fast.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            let scale = 1e-5 * (batch * g.out_height * g.out_width) as f32;
            assert!(worst < scale, "weight gradient {batch}×{c}→{o} at {size} pad {pad}: off by {worst}");
        }
    }
}
