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
//! The weight gradient is the adjoint of the filter transform: `Ū[ξ] = M̄[ξ]·V[ξ]ᵀ` summed over
//! every tile of the batch (one GEMM per ξ, its inner dimension the tiles), then `Aᵀ·Ū·A` per
//! filter. On dcgan-32 this takes the middle layers' three passes from 16 to 9 multiplications per
//! tap pair.
//!
//! Every pass works on the whole batch's transformed tiles: the transforms run one channel per
//! task over groups of [`GROUP`] samples interleaved (`[position][sample]`), so that every
//! transform works on vectors of samples; the GEMMs run one task per ξ and fixed block of tile
//! columns. No sum is split by the number of threads (the weight gradient's GEMM splits its
//! output, not its inner dimension), so the results do not depend on it.

use std::cell::RefCell;
use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::geometry::ConvGeometry;
use super::matrix::{View, gemm_into};

/// Both channel counts must reach this: a GEMM with fewer rows or a shorter inner dimension
/// (the RGB layers of a DCGAN) runs too far below the GEMM's peak for the saved multiplications
/// to pay for the transforms.
const MIN_CHANNELS: usize = 32;

/// Samples transformed together as one block of vector registers (16 f32 = one AVX-512 vector).
const LANE_BLOCK: usize = 16;

/// Whether the passes of the convolution `g` (image side) with `out_channels` outputs go through
/// Winograd here (its geometry [`fits`], and it is not turned off).
pub fn applies(g: &ConvGeometry, out_channels: usize) -> bool {
    enabled() && fits(g, out_channels)
}

/// Whether the convolution's geometry suits Winograd: a 4×4 kernel with stride 2, enough
/// channels each way, and more than one output per axis.
pub(super) fn fits(g: &ConvGeometry, out_channels: usize) -> bool {
    g.kernel == [4, 4] && g.stride == 2 && g.channels >= MIN_CHANNELS && out_channels >= MIN_CHANNELS && g.out_height > 1 && g.out_width > 1
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
#[inline(always)]
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
#[inline(always)]
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

/// The inverse of [`interleave`]: element i of sample n's plane (`table.len()` elements) at
/// `dst + n·sample_stride + i` is `src[table[i]·lanes + n]`, 0 where `table[i]` is [`PADDING`].
///
/// # Safety
/// `dst` must be valid for writes of those elements, which no other thread touches.
unsafe fn deinterleave(src: &[f32], table: &[u32], lanes: usize, dst: *mut f32, sample_stride: usize) {
    let reach = table.iter().filter(|&&at| at != PADDING).map(|&at| at as usize + 1).max().unwrap_or(0);
    assert!(reach * lanes <= src.len(), "interleaved planes inside the buffer");
    for n in 0..lanes {
        for (i, &at) in table.iter().enumerate() {
            // SAFETY: at < reach, so at·lanes + n < src.len() (assert above); the caller vouches
            // for `dst`.
            unsafe { dst.add(n * sample_stride + i).write(if at == PADDING { 0.0 } else { *src.get_unchecked(at as usize * lanes + n) }) };
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

/// Samples per group of the transforms (the vector lanes of one pass). Fixed, so that the order
/// of the weight gradient's sums (over the whole batch's tiles, group after group) does not
/// depend on the number of threads.
const GROUP: usize = 16;

/// Sample groups per GEMM task of the forward pass and the input gradient.
const GROUPS_PER_BLOCK: usize = 2;

thread_local! {
    /// Buffers of earlier calls on this thread, for the next: allocating and zeroing tens of MiB
    /// per call (page faults, memset) cost a tenth of the transforms' time.
    static SPARE: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// The buffers a thread keeps (at most), and the largest it keeps (in values: 64 MiB).
const SPARE_BUFFERS: usize = 4;
const SPARE_MAX: usize = 16 << 20;

/// A buffer of at least `len` values, their contents unspecified: the smallest big enough that
/// this thread kept with [`keep`] (else its largest, grown, or a new one).
fn spare(len: usize) -> Vec<f32> {
    let mut v = SPARE
        .with_borrow_mut(|pool| {
            let fitting = (0..pool.len()).filter(|&i| pool[i].len() >= len).min_by_key(|&i| pool[i].len());
            let pick = fitting.or_else(|| (0..pool.len()).max_by_key(|&i| pool[i].len()));
            pick.map(|i| pool.swap_remove(i))
        })
        .unwrap_or_default();
    if v.len() < len {
        v.resize(len, 0.0);
    }
    v
}

/// Keeps `v` for this thread's next [`spare`], unless it is larger than [`SPARE_MAX`]; at most
/// [`SPARE_BUFFERS`] are kept (the smallest goes).
fn keep(v: Vec<f32>) {
    if v.len() > SPARE_MAX {
        return;
    }
    SPARE.with_borrow_mut(|pool| {
        pool.push(v);
        if pool.len() > SPARE_BUFFERS {
            let smallest = (0..pool.len()).min_by_key(|&i| pool[i].len()).expect("a kept buffer");
            pool.swap_remove(smallest);
        }
    });
}

/// The distance between the 9 rows of one channel in a transformed buffer: one cache line more
/// than a row, so that the 9 values of a tile, written or read together, do not all fall into
/// the same cache set (with rows a multiple of 4 KiB apart they did, and the transforms ran at a
/// fraction of their speed).
fn spaced(len: usize) -> usize {
    len.next_multiple_of(16) + 16
}

/// A raw output pointer shared by tasks that write disjoint elements.
#[derive(Clone, Copy)]
struct Shared(*mut f32);

impl Shared {
    /// # Safety
    /// As for `pointer::add`.
    unsafe fn add(self, i: usize) -> *mut f32 {
        // SAFETY: the caller's.
        unsafe { self.0.add(i) }
    }
}
// SAFETY: only used by tasks writing disjoint elements (each use says which).
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

/// The shapes of one convolution's Winograd passes, from the image side: `[N, C, H, W]` image,
/// `[N, O, oh, ow]` output. A transformed buffer of the whole batch has, per channel, 9 rows
/// (one per ξ, [`spaced`] `row` apart) of `columns` tile columns: sample group g's tiles from
/// `first·per_sample` on, tile t of its sample n at `t·lanes + n`.
struct Plan {
    g: ConvGeometry,
    out_channels: usize,
    /// 4·C: source channel `s = 4c + 2qy + qx` is the polyphase plane (qy, qx) of channel c.
    sources: usize,
    /// Tiles per axis of one sample's output (2×2 outputs each), and per sample.
    tiles: [usize; 2],
    per_sample: usize,
    columns: usize,
    row: usize,
    /// (first sample, samples) of each group.
    groups: Vec<(usize, usize)>,
    /// One polyphase plane's shape and length (the tiles' overlapping 3×3 input blocks).
    phase_size: [usize; 2],
    phase_len: usize,
    /// The polyphase planes gathered from an image plane; where each image element lies in them.
    phases: Gather,
    image: Vec<u32>,
    /// The output gradient gathered into the `2·tiles` grid; where each output lies among the
    /// tiles' 2×2 blocks.
    grid: [usize; 2],
    gradient: Gather,
    outputs: Vec<u32>,
}

impl Plan {
    fn new(out_channels: usize, g: &ConvGeometry) -> Self {
        debug_assert!(fits(g, out_channels), "Winograd plan for {g:?}");
        let tiles = [g.out_height.div_ceil(2), g.out_width.div_ceil(2)];
        let phase_size = [2 * tiles[0] + 1, 2 * tiles[1] + 1];
        let grid = [2 * tiles[0], 2 * tiles[1]];
        let (phases, corner) = (phase_table(g, phase_size), corner_table([g.out_height, g.out_width], grid));
        let per_sample = tiles[0] * tiles[1];
        Plan {
            g: *g,
            out_channels,
            sources: 4 * g.channels,
            tiles,
            per_sample,
            columns: g.batch * per_sample,
            row: spaced(g.batch * per_sample),
            groups: (0..g.batch).step_by(GROUP).map(|first| (first, GROUP.min(g.batch - first))).collect(),
            phase_size,
            phase_len: phase_size[0] * phase_size[1],
            image: image_table(g, &phases),
            phases: Gather::new(&phases),
            grid,
            gradient: Gather::new(&corner),
            outputs: block_positions(tiles, &corner),
        }
    }

    /// `[9][O][4·C]` ([`spaced`] apart): the transformed filters,
    /// `u[ξ][o][s] = (G·K·Gᵀ)[ξ]` with `K[j][l] = weight[o][c][2j + qy][2l + qx]`.
    fn filters(&self, weight: &[f32]) -> Vec<f32> {
        let (c, o, s) = (self.g.channels, self.out_channels, self.sources);
        assert_eq!(weight.len(), o * c * 16, "convolution weight size");
        let stride = spaced(o * s);
        let mut u = spare(9 * stride);
        let addr = Shared(u.as_mut_ptr());
        (0..o).into_par_iter().for_each(|oc| {
            for src in 0..s {
                let w = &weight[(oc * c + src / 4) * 16..][..16];
                let q = 4 * (src / 2 % 2) + src % 2;
                for (xi, value) in filter_transform([w[q], w[q + 2], w[q + 8], w[q + 10]]).into_iter().enumerate() {
                    // SAFETY: ξ·stride + oc·s + src < 9·stride ≤ u.len(); each oc is one task's.
                    unsafe { addr.add(xi * stride + oc * s + src).write(value) };
                }
            }
        });
        u
    }

    /// Filter matrix ξ of [`Plan::filters`].
    fn filter<'u>(&self, u: &'u [f32], xi: usize) -> &'u [f32] {
        let len = self.out_channels * self.sources;
        &u[xi * spaced(len)..][..len]
    }

    /// The forward input tiles of the whole batch of images `x [N, C, H, W]`: `[4·C][9][row]`.
    fn input_tiles(&self, x: &[f32]) -> Vec<f32> {
        let g = &self.g;
        let (plane_len, image) = (g.height * g.width, g.channels * g.height * g.width);
        assert_eq!(x.len(), g.batch * image, "convolution input size");
        let (row, pl) = (self.row, self.phase_len);
        let mut v = spare(self.sources * 9 * row);
        v[..self.sources * 9 * row].par_chunks_mut(4 * 9 * row).enumerate().for_each_init(Vec::new, |planes, (ch, v)| {
            for &(first, lanes) in &self.groups {
                // SAFETY (rebuild): `interleave` writes the 4 phase planes whole.
                rebuild(planes, 4 * pl * lanes, |d| interleave(&x[first * image + ch * plane_len..], image, &self.phases, lanes, d));
                for q in 0..4 {
                    transform_input_tiles(&planes[q * pl * lanes..][..pl * lanes], self.phase_size[1], lanes, self.tiles, &mut v[q * 9 * row + first * self.per_sample..], row);
                }
            }
        });
        v
    }

    /// The adjoint output transforms of the whole batch's output gradient `[N, O, oh, ow]`:
    /// `[O][9][row]`.
    fn gradient_tiles(&self, grad: &[f32]) -> Vec<f32> {
        let (o, out_len) = (self.out_channels, self.g.out_height * self.g.out_width);
        assert_eq!(grad.len(), self.g.batch * o * out_len, "convolution output-gradient size");
        let (row, grid_len) = (self.row, self.grid[0] * self.grid[1]);
        let mut m = spare(o * 9 * row);
        m[..o * 9 * row].par_chunks_mut(9 * row).enumerate().for_each_init(Vec::new, |planes, (oc, m)| {
            for &(first, lanes) in &self.groups {
                // SAFETY (rebuild): `interleave` writes the tile grid whole.
                rebuild(planes, grid_len * lanes, |d| interleave(&grad[(first * o + oc) * out_len..], o * out_len, &self.gradient, lanes, d));
                transform_gradient_tiles(planes, self.grid[1], lanes, self.tiles, &mut m[first * self.per_sample..], row);
            }
        });
        m
    }

    /// `dst[ξ] [rows × columns] = lhs(ξ) [rows × inner] · tiles[ξ] [inner × columns]` for the
    /// transformed buffers `tiles` (`[inner][9][row]`) and `dst` (`[rows][9][row]`).
    fn products<'a>(&self, lhs: impl Fn(usize) -> View<'a> + Sync, tiles: &[f32], [rows, inner]: [usize; 2]) -> Vec<f32> {
        let (row, columns) = (self.row, self.columns);
        let mut dst = spare(rows * 9 * row);
        let out = Shared(dst.as_mut_ptr());
        // One task per ξ and block of columns ([`GROUPS_PER_BLOCK`] sample groups), each GEMM
        // single-threaded; the blocks do not depend on the number of threads (gemm's blocking of
        // the sums may depend on the width it is given).
        let blocks = self.groups.len().div_ceil(GROUPS_PER_BLOCK);
        (0..9 * blocks).into_par_iter().for_each(|task| {
            let (xi, block) = (task / blocks, task % blocks);
            let group = |b: usize| self.groups.get(b * GROUPS_PER_BLOCK).map_or(columns, |&(first, _)| first * self.per_sample);
            let (c0, c1) = (group(block), group(block + 1));
            let rhs = View::with_strides(&tiles[xi * row + c0..], 9 * row, 1);
            // SAFETY: columns c0..c1 of the rows × columns result ξ at row stride 9·row lie in
            // `dst` and belong to this task only.
            unsafe { gemm_into(out.add(xi * row + c0), [9 * row, 1], lhs(xi), rhs, [rows, c1 - c0, inner], gemm::Parallelism::None) };
        });
        dst
    }
}

/// Convolution `x [N, C, H, W] * weight [O, C, 4, 4]` with stride 2 → `[N, O, oh, ow]`
/// (requires [`applies`]).
pub fn conv_forward(x: &[f32], weight: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    let p = Plan::new(out_channels, g);
    let v = p.input_tiles(x);
    let y = forward_from(&p, weight, &v);
    keep(v);
    y
}

/// The convolution's output from the input tiles `v`.
fn forward_from(p: &Plan, weight: &[f32], v: &[f32]) -> Vec<f32> {
    let (g, o, s) = (&p.g, p.out_channels, p.sources);
    let u = p.filters(weight);
    let m = p.products(|xi| View::rows(p.filter(&u, xi), s), v, [o, s]);
    keep(u);
    // The output transforms, one output channel per task.
    let out_len = g.out_height * g.out_width;
    let mut y = Vec::<f32>::with_capacity(g.batch * o * out_len);
    let dst = Shared(y.as_mut_ptr());
    (0..o).into_par_iter().for_each_init(Vec::new, |blocks, oc| {
        for &(first, lanes) in &p.groups {
            blocks.resize(4 * p.per_sample * lanes, 0.0);
            transform_output_tiles(&m[oc * 9 * p.row + first * p.per_sample..], p.row, lanes, p.per_sample, blocks);
            // SAFETY: channel oc's planes of samples first..first + lanes, inside `y`'s capacity
            // and written by this task only.
            unsafe { deinterleave(blocks, &p.outputs, lanes, dst.add((first * o + oc) * out_len), o * out_len) };
        }
    });
    keep(m);
    // SAFETY: every (sample, channel) plane was written whole (`outputs` covers a plane).
    unsafe { y.set_len(g.batch * o * out_len) };
    y
}

/// The transposed convolution with the stride-2 4×4 `weight [O, C, 4, 4]` — the input gradient of
/// the convolution `g` — of `grad [N, O, oh, ow]`: `[N, C, H, W]` (requires [`applies`]).
pub fn conv_transpose(grad: &[f32], weight: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    let p = Plan::new(out_channels, g);
    let m = p.gradient_tiles(grad);
    let dx = input_gradient(&p, weight, &m);
    keep(m);
    dx
}

/// The input gradient from the adjoint output transforms `m` of the output gradient.
fn input_gradient(p: &Plan, weight: &[f32], m: &[f32]) -> Vec<f32> {
    let (g, o, s) = (&p.g, p.out_channels, p.sources);
    let u = p.filters(weight);
    // v[ξ] = u[ξ]ᵀ · m[ξ]: [4·C × O] · [O × columns].
    let v = p.products(|xi| View::transposed(p.filter(&u, xi), s), m, [s, o]);
    keep(u);
    // The adjoint input transforms, added into each channel's phase planes, one channel per task.
    let (plane_len, image, pl) = (g.height * g.width, g.channels * g.height * g.width, p.phase_len);
    let mut dx = Vec::<f32>::with_capacity(g.batch * image);
    let dst = Shared(dx.as_mut_ptr());
    (0..g.channels).into_par_iter().for_each_init(Vec::new, |planes, ch| {
        for &(first, lanes) in &p.groups {
            planes.clear();
            planes.resize(4 * pl * lanes, 0.0);
            for q in 0..4 {
                add_input_tiles(&v[(4 * ch + q) * 9 * p.row + first * p.per_sample..], p.row, lanes, p.tiles, &mut planes[q * pl * lanes..][..pl * lanes], p.phase_size[1]);
            }
            // SAFETY: channel ch's planes of samples first..first + lanes, inside `dx`'s capacity
            // and written by this task only.
            unsafe { deinterleave(planes, &p.image, lanes, dst.add((first * g.channels + ch) * plane_len), image) };
        }
    });
    keep(v);
    // SAFETY: every (sample, channel) plane was written whole (`image` covers a plane).
    unsafe { dx.set_len(g.batch * image) };
    dx
}

/// The weight gradient from the forward input tiles `v` and the adjoint output transforms `m`
/// of the output gradient: `Ū[ξ] = M̄[ξ]·V[ξ]ᵀ`, summed over the whole batch's tiles (one GEMM
/// per ξ, its inner dimension the tiles), then `Aᵀ·Ū·A` per filter (the adjoint of the filter
/// transform, as `G = A`).
fn weight_gradient_from(p: &Plan, v: &[f32], m: &[f32]) -> Vec<f32> {
    let (c, o, s, row) = (p.g.channels, p.out_channels, p.sources, p.row);
    let ustride = spaced(o * s);
    let mut u = spare(9 * ustride);
    for xi in 0..9 {
        // Computed as its transpose, ūᵀ[ξ] = V[ξ]·M̄[ξ]ᵀ, written row-major as ū[ξ].
        let lhs = View::with_strides(&v[xi * row..], 9 * row, 1);
        let rhs = View::with_strides(&m[xi * row..], 1, 9 * row);
        let dst = &mut u[xi * ustride..][..o * s];
        // SAFETY: `dst` holds the O × 4C result, and is ours.
        unsafe { gemm_into(dst.as_mut_ptr(), [1, s], lhs, rhs, [s, o, p.columns], gemm::Parallelism::Rayon(rayon::current_num_threads())) };
    }
    let mut dw = vec![0.0; o * c * 16];
    dw.par_chunks_mut(c * 16).enumerate().for_each_init(Vec::new, |k, (oc, dw)| filter_gradients(&u[oc * s..], ustride, s, k, dw));
    keep(u);
    dw
}

/// Both gradients of the convolution (requires [`applies`]), each only if asked for: the
/// output gradient's transforms are shared.
pub fn conv_backward(x: &[f32], weight: &[f32], grad: &[f32], out_channels: usize, g: &ConvGeometry, want: [bool; 2]) -> [Option<Vec<f32>>; 2] {
    let p = Plan::new(out_channels, g);
    let m = p.gradient_tiles(grad);
    let dx = want[0].then(|| input_gradient(&p, weight, &m));
    let dw = want[1].then(|| {
        let v = p.input_tiles(x);
        let dw = weight_gradient_from(&p, &v, &m);
        keep(v);
        dw
    });
    keep(m);
    [dx, dw]
}

/// Both gradients of the transposed convolution `x [N, O, oh, ow]` → `[N, C, H, W]` (the
/// input gradient of the convolution `g`, requires [`applies`]) from `grad [N, C, H, W]`: its
/// input gradient is the convolution of `grad`, its weight gradient the convolution's with the
/// roles of image and output gradient swapped; the tiles of `grad` are shared.
pub fn conv_transpose_backward(x: &[f32], weight: &[f32], grad: &[f32], out_channels: usize, g: &ConvGeometry, want: [bool; 2]) -> [Option<Vec<f32>>; 2] {
    let p = Plan::new(out_channels, g);
    let v = p.input_tiles(grad);
    let dx = want[0].then(|| forward_from(&p, weight, &v));
    let dw = want[1].then(|| {
        let m = p.gradient_tiles(x);
        let dw = weight_gradient_from(&p, &v, &m);
        keep(m);
        dw
    });
    keep(v);
    [dx, dw]
}

crate::simd_dispatch! {
    /// One output channel's weight gradient `dw [C, 4, 4]` from its ū rows (`u[ξ·xi_stride + s]`,
    /// s < 4·C): `dw[c][2j + qy][2l + qx] = (Aᵀ·ū·A)[j][l]` for s = 4c + 2qy + qx.
    fn filter_gradients(u: &[f32], xi_stride: usize, sources: usize, k: &mut Vec<f32>, dw: &mut [f32]) {
        k.resize(4 * sources, 0.0);
        let rows: [&[f32]; 9] = std::array::from_fn(|xi| &u[xi * xi_stride..][..sources]);
        lanewise(rows, rows_of(k, sources, 0, sources), sources, output_transform, false);
        for src in 0..sources {
            let at = 16 * (src / 4) + 4 * (src / 2 % 2) + src % 2;
            for (i, offset) in [0, 2, 8, 10].into_iter().enumerate() {
                dw[at + offset] = k[i * sources + src];
            }
        }
    }
}

/// `v` (replaced) = `len` values written by `fill`, which must write them all.
fn rebuild(v: &mut Vec<f32>, len: usize, fill: impl FnOnce(&mut [MaybeUninit<f32>])) {
    v.clear();
    v.reserve(len);
    fill(&mut v.spare_capacity_mut()[..len]);
    // SAFETY: the caller's `fill` writes every element (each user's comment says how).
    unsafe { v.set_len(len) };
}

/// For each element of an output plane: where its value is among the tiles' interleaved 2×2
/// blocks (`(4t + 2α + β)`), from the output's place in the `2·tiles` grid (`grid`, its corner).
fn block_positions([_, tb]: [usize; 2], grid: &[u32]) -> Vec<u32> {
    let mut table = vec![PADDING; grid.iter().filter(|&&o| o != PADDING).count()];
    for (i, &offset) in grid.iter().enumerate() {
        if offset != PADDING {
            let (a, b) = (i / (2 * tb), i % (2 * tb));
            table[offset as usize] = (4 * ((a / 2) * tb + b / 2) + 2 * (a % 2) + b % 2) as u32;
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let on = |threads: usize| rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| conv_backward(&x, &[0.0; 96 * 32 * 16], &grad, 96, &g, [false, true]));
        let one = on(1);
        for threads in [2, 3, 8] {
            assert_eq!(on(threads), one, "on {threads} threads");
        }
    }
}
