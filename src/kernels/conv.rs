//! Convolution on plain `f32` slices (NCHW): im2col / col2im around packed GEMMs.
//!
//! Everything is expressed with one geometry, seen from the *image* side of a convolution
//! (`c × h × w` image, `kh × kw` kernel, stride, padding, `oh × ow` positions):
//! - conv forward:            `Y[o, N·L] = W[o, c·kh·kw] · im2col(x)` (L = oh·ow)
//! - conv input gradient:     `col2im(Wᵀ · G)`; this is also the transposed convolution's forward
//! - conv weight gradient:    `dW = G · im2col(x)ᵀ`; with the roles of x and G swapped it is the
//!   transposed convolution's weight gradient
//!
//! The samples' columns sit side by side (columns = N·L), which keeps both cores busy even when
//! the spatial size is tiny (the 1×1, 2×2 and 4×4 layers of the DCGANs); the `[o, N·L]` ↔
//! `[N, o, L]` reorders cost one copy of the activation. Where the columns are large, they are
//! built and multiplied a cache-sized chunk of samples at a time ([`CHUNK_BYTES`],
//! [`GRADIENT_CHUNK_BYTES`]); forward passes with large images run one GEMM per sample (see
//! [`PER_SAMPLE_POSITIONS`]).
//!
//! The 4×4 stride-2 convolutions with enough channels go to [`super::winograd`] instead (all three
//! passes); weight gradients choose among three ways by geometry ([`WeightGradient`]).
//!
//! im2col and col2im of strided convolutions go through per-tap gather tables ([`TapTable`])
//! rather than row loops: with 8×8, 4×4 and 2×2 outputs the row loops were mostly loop overhead
//! (and per-plane divisions), about a fifth of a DCGAN training step.

use std::mem::MaybeUninit;

use rayon::prelude::*;

pub use super::geometry::ConvGeometry;
use super::matrix::{View, gemm_add_into, gemm_into, matmul, matmul_transposed_result};
use super::winograd;

/// Which image element every column of every kernel tap reads, for a group of `samples`
/// consecutive samples of one channel: the small spatial sizes of the DCGANs make per-row loops
/// mostly overhead (rows of 8, 4 or 2 positions), so strided convolutions gather through these
/// tables instead, over enough samples at once that each run is long.
struct TapTable {
    samples: usize,
    /// Per tap: (column within the group's samples·L columns, offset from the first sample's
    /// image plane of this channel).
    inside: Vec<Vec<(u32, u32)>>,
    /// Per tap: the columns whose source lies in the padding.
    padding: Vec<Vec<u32>>,
}

impl TapTable {
    fn new(g: &ConvGeometry, samples: usize) -> Self {
        let [kh, kw] = g.kernel;
        let (image, l) = (g.channels * g.height * g.width, g.positions());
        assert!(g.batch * image <= u32::MAX as usize, "tap table offsets fit u32");
        let (mut inside, mut padding) = (Vec::with_capacity(kh * kw), Vec::with_capacity(kh * kw));
        for (ky, kx) in (0..kh).flat_map(|ky| (0..kw).map(move |kx| (ky, kx))) {
            let ((y0, y1), (x0, x1)) = g.tap_ranges(ky, kx);
            let (mut tap_inside, mut tap_padding) = (Vec::new(), Vec::new());
            for sample in 0..samples {
                for oy in 0..g.out_height {
                    for ox in 0..g.out_width {
                        let column = (sample * l + oy * g.out_width + ox) as u32;
                        if (y0..y1).contains(&oy) && (x0..x1).contains(&ox) {
                            let pixel = (oy * g.stride + ky - g.padding[0]) * g.width + ox * g.stride + kx - g.padding[1];
                            tap_inside.push((column, (sample * image + pixel) as u32));
                        } else {
                            tap_padding.push(column);
                        }
                    }
                }
            }
            inside.push(tap_inside);
            padding.push(tap_padding);
        }
        TapTable { samples, inside, padding }
    }

    /// A table for groups of samples that divide the batch, with at least ~64 columns per group
    /// where the batch allows.
    fn grouped(g: &ConvGeometry) -> Self {
        TapTable::new(g, TapTable::group_samples(g))
    }

    /// The samples per group of [`TapTable::grouped`].
    fn group_samples(g: &ConvGeometry) -> usize {
        let wanted = 64usize.div_ceil(g.positions().max(1)).min(g.batch).max(1);
        (1..=wanted).rev().find(|d| g.batch.is_multiple_of(*d)).unwrap_or(1)
    }
}

/// `cols[(c·kh + ky)·kw + kx][n·L + oy·ow + ox] = x[n, c, oy·s + ky − ph, ox·s + kx − pw]`, 0 outside.
pub fn im2col(x: &[f32], g: &ConvGeometry) -> Vec<f32> {
    assert_eq!(x.len(), g.batch * g.channels * g.height * g.width, "im2col input size");
    let table = (g.stride > 1).then(|| TapTable::grouped(g));
    let cols = g.columns();
    // SAFETY: im2col_row writes every element of its row.
    unsafe { filled(g.patch() * cols, cols, |row, dst| im2col_row(x, g, table.as_ref(), row, 0, dst)) }
}

/// Row `row` of [`im2col`] for the samples `first..first + dst.len() / L` (a whole number of
/// the table's sample groups): every element of `dst` is written (zeros where the tap falls
/// into the padding), so it needs no zeroing.
fn im2col_row(x: &[f32], g: &ConvGeometry, table: Option<&TapTable>, row: usize, first: usize, dst: &mut [MaybeUninit<f32>]) {
    let ([kh, kw], [ph, pw], l) = (g.kernel, g.padding, g.positions());
    let (plane_len, ow) = (g.height * g.width, g.out_width);
    let (c, tap) = (row / (kh * kw), row % (kh * kw));
    let (ky, kx) = (tap / kw, tap % kw);
    let image = g.channels * plane_len;
    assert!(dst.len().is_multiple_of(table.map_or(1, |t| t.samples) * l), "im2col rows hold whole sample groups");
    if let Some(table) = table {
        for (group, dst) in dst.chunks_exact_mut(table.samples * l).enumerate() {
            let x = &x[(first + group * table.samples) * image + c * plane_len..];
            assert!(x.len() >= (table.samples - 1) * image + plane_len, "im2col group inside the input");
            // SAFETY: the table's columns are < samples·L = dst.len(), and its offsets
            // < (samples − 1)·image + plane_len ≤ x.len() (TapTable::new, assert above).
            unsafe {
                for &(column, offset) in &table.inside[tap] {
                    dst.get_unchecked_mut(column as usize).write(*x.get_unchecked(offset as usize));
                }
                for &column in &table.padding[tap] {
                    dst.get_unchecked_mut(column as usize).write(0.0);
                }
            }
        }
        return;
    }
    // Stride 1: each output row is one contiguous run of the image row.
    let ((y0, y1), (x0, x1)) = g.tap_ranges(ky, kx);
    let zero = |d: &mut [MaybeUninit<f32>]| d.iter_mut().for_each(|e| _ = e.write(0.0));
    for (n, dst) in dst.chunks_exact_mut(l).enumerate() {
        let plane = &x[((first + n) * g.channels + c) * plane_len..][..plane_len];
        zero(&mut dst[..y0 * ow]);
        zero(&mut dst[y1 * ow..]);
        for oy in y0..y1 {
            let src = &plane[(oy + ky - ph) * g.width..][..g.width];
            let dst = &mut dst[oy * ow..][..ow];
            zero(&mut dst[..x0]);
            zero(&mut dst[x1..]);
            write_all(&mut dst[x0..x1], &src[x0 + kx - pw..x1 + kx - pw]);
        }
    }
}

/// im2col of the samples from `first` on, `width` columns (whole samples) per row, into `cols`
/// (its old contents replaced).
fn im2col_samples(x: &[f32], g: &ConvGeometry, table: Option<&TapTable>, first: usize, width: usize, cols: &mut Vec<f32>) {
    let len = g.patch() * width;
    cols.clear();
    cols.reserve(len);
    for (row, dst) in cols.spare_capacity_mut()[..len].chunks_exact_mut(width).enumerate() {
        im2col_row(x, g, table, row, first, dst);
    }
    // SAFETY: every element of the patch rows was written (im2col_row).
    unsafe { cols.set_len(len) };
}

/// The adjoint of [`im2col`]: sums every column entry back into its image position. Each image
/// element gathers its column entries (in tap order) and is written once.
pub fn col2im(cols: &[f32], g: &ConvGeometry) -> Vec<f32> {
    assert_eq!(cols.len(), g.patch() * g.columns(), "col2im input size");
    let sources = Col2imSources::new(g, g.columns());
    let plane_len = g.height * g.width;
    // SAFETY: sum_plane writes every element of its plane.
    unsafe { filled(g.batch * g.channels * plane_len, plane_len, |p, plane| sources.sum_plane(cols, g, p / g.channels, p % g.channels, plane)) }
}

/// For each element of an image plane, where its column entries lie: offsets
/// `tap·row_stride + position` into a channel's rows of columns, in tap order.
struct Col2imSources {
    row_stride: usize,
    starts: Vec<usize>,
    offsets: Vec<usize>,
}

impl Col2imSources {
    fn new(g: &ConvGeometry, row_stride: usize) -> Self {
        let table = TapTable::new(g, 1);
        let mut sources = vec![Vec::new(); g.height * g.width];
        for (tap, inside) in table.inside.iter().enumerate() {
            for &(position, source) in inside {
                sources[source as usize].push(tap * row_stride + position as usize);
            }
        }
        let starts = std::iter::once(0).chain(sources.iter().scan(0, |end, s| { *end += s.len(); Some(*end) })).collect();
        Col2imSources { row_stride, starts, offsets: sources.concat() }
    }

    /// Plane `c` of sample `n` of col2im of `cols` (rows `row_stride` apart, sample `n`'s
    /// columns from `n·L` on); every element of `plane` is written.
    fn sum_plane(&self, cols: &[f32], g: &ConvGeometry, n: usize, c: usize, plane: &mut [MaybeUninit<f32>]) {
        let (kk, l) = (g.taps(), g.positions());
        let block = &cols[c * kk * self.row_stride + n * l..];
        assert!(block.len() >= (kk - 1) * self.row_stride + l, "col2im block inside the columns");
        assert_eq!(plane.len() + 1, self.starts.len(), "col2im plane size");
        for (i, e) in plane.iter_mut().enumerate() {
            // SAFETY: every offset is tap·row_stride + position < (kk − 1)·row_stride + L ≤ block.len().
            e.write(self.offsets[self.starts[i]..self.starts[i + 1]].iter().map(|&o| unsafe { *block.get_unchecked(o) }).sum());
        }
    }
}

/// A vector of `len` values built in parallel, `fill(i, chunk)` writing chunk i (`chunk` values,
/// the last one shorter) — without zeroing it first (a memset of every reordered activation).
///
/// # Safety
/// `fill` must write every element of every chunk it is given.
unsafe fn filled(len: usize, chunk: usize, fill: impl Fn(usize, &mut [MaybeUninit<f32>]) + Sync) -> Vec<f32> {
    let mut out = Vec::<f32>::with_capacity(len);
    out.spare_capacity_mut()[..len].par_chunks_mut(chunk.max(1)).enumerate().for_each(|(i, dst)| fill(i, dst));
    // SAFETY: the caller's `fill` wrote every element of the chunks, which cover 0..len.
    unsafe { out.set_len(len) };
    out
}

fn write_all(dst: &mut [MaybeUninit<f32>], src: &[f32]) {
    assert_eq!(dst.len(), src.len(), "copy length");
    dst.iter_mut().zip(src).for_each(|(d, &v)| _ = d.write(v));
}

/// `[rows, cols]` → `[cols, rows]`, in cache-sized tiles.
fn transpose(t: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const TILE: usize = 32;
    assert_eq!(t.len(), rows * cols, "transpose size");
    // SAFETY: each tile of TILE output rows (c0..c1) writes every (c, r) of its rows.
    unsafe {
        filled(t.len(), TILE * rows, |tile, dst| {
            let c0 = tile * TILE;
            let c1 = (c0 + TILE).min(cols);
            for r0 in (0..rows).step_by(TILE) {
                for c in c0..c1 {
                    for r in r0..(r0 + TILE).min(rows) {
                        dst[(c - c0) * rows + r].write(t[r * cols + c]);
                    }
                }
            }
        })
    }
}

/// `[N, C, L]` → `[C, N·L]`.
fn to_channel_major(t: &[f32], batch: usize, channels: usize, l: usize) -> Vec<f32> {
    // SAFETY: channel c's chunk is its N runs of L values, each written.
    unsafe {
        filled(t.len(), batch * l, |c, dst| {
            for (n, dst) in dst.chunks_exact_mut(l).enumerate() {
                write_all(dst, &t[(n * channels + c) * l..][..l]);
            }
        })
    }
}

/// `[C, N·L]` → `[N, C, L]`.
fn from_channel_major(t: &[f32], batch: usize, channels: usize, l: usize) -> Vec<f32> {
    // SAFETY: sample n's chunk is its C runs of L values, each written.
    unsafe {
        filled(t.len(), channels * l, |n, dst| {
            for (c, dst) in dst.chunks_exact_mut(l).enumerate() {
                write_all(dst, &t[c * batch * l + n * l..][..l]);
            }
        })
    }
}

/// `col2im(Wᵀ · m)` for `m [O, N·L]`: `[N, C, H, W]`, with the product built and summed back a
/// chunk of samples at a time (see [`CHUNK_BYTES`]); the whole product at once where there are
/// too few chunks.
fn col2im_of_transposed_times(weight: &[f32], m: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    match chunk_samples(g, 1) {
        Some(samples) => col2im_of_transposed_times_in_chunks(weight, m, out_channels, g, samples),
        None => col2im(&transposed_times(weight, m, out_channels, g), g),
    }
}

fn col2im_of_transposed_times_in_chunks(weight: &[f32], m: &[f32], out_channels: usize, g: &ConvGeometry, samples: usize) -> Vec<f32> {
    let (patch, l, ncols) = (g.patch(), g.positions(), g.columns());
    assert_eq!(m.len(), out_channels * ncols, "col2im product input size");
    let width = samples * l;
    let sources = Col2imSources::new(g, width);
    let (plane_len, image) = (g.height * g.width, g.channels * g.height * g.width);
    let total = g.batch * image;
    let mut out = Vec::<f32>::with_capacity(total);
    out.spare_capacity_mut()[..total].par_chunks_mut(samples * image).enumerate().for_each_init(Vec::<f32>::new, |product, (chunk, dst)| {
        let (first, count) = (chunk * samples, dst.len() / image);
        product.resize(patch * width, 0.0);
        // SAFETY: `product` holds patch rows of `width` ≥ count·L columns, and is this task's own.
        unsafe {
            let lhs = View::transposed(weight, patch);
            gemm_into(product.as_mut_ptr(), [width, 1], lhs, View::rows(m, ncols).from_column(first * l), [patch, count * l, out_channels], gemm::Parallelism::None);
        }
        for (p, plane) in dst.chunks_exact_mut(plane_len).enumerate() {
            sources.sum_plane(product, g, p / g.channels, p % g.channels, plane);
        }
    });
    // SAFETY: the chunks cover every plane, and sum_plane wrote every element of each.
    unsafe { out.set_len(total) };
    out
}

/// Convolution: `x [N, C, H, W]`, `weight [O, C, kh, kw]` → `[N, O, oh, ow]`.
pub fn conv_forward(x: &[f32], weight: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    if winograd::applies(g, out_channels) {
        return winograd::conv_forward(x, weight, out_channels, g);
    }
    im2col_forward(x, weight, out_channels, g)
}

/// [`conv_forward`] through im2col.
fn im2col_forward(x: &[f32], weight: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    if g.positions() >= PER_SAMPLE_POSITIONS && g.batch > 1 {
        return conv_forward_per_sample(x, weight, out_channels, g);
    }
    from_channel_major(&weight_times_im2col(weight, x, out_channels, g), g.batch, out_channels, g.positions())
}

/// The bytes of im2col columns one task builds and multiplies at a time: small enough to stay in
/// a core's cache between im2col writing them and the GEMM packing them (the whole batch's
/// columns, tens of MiB for the DCGANs' middle layers, went to memory and back: a third of
/// such a layer's forward time).
const CHUNK_BYTES: usize = 1 << 20;

/// Samples per chunk for the cache-sized passes — a multiple of `group`, which divides the batch —
/// or `None` when there would be too few chunks to keep every thread busy.
fn chunk_samples(g: &ConvGeometry, group: usize) -> Option<usize> {
    let per_group = g.patch() * g.positions() * group * size_of::<f32>();
    let samples = (CHUNK_BYTES / per_group).max(1) * group;
    (g.batch.div_ceil(samples) >= 2 * rayon::current_num_threads()).then_some(samples)
}

/// `W[O, C·kh·kw] · im2col(x)` as `[O, N·L]`, with im2col built and consumed a chunk of samples
/// at a time (see [`CHUNK_BYTES`]); one GEMM over the whole batch's columns where there are too
/// few chunks.
fn weight_times_im2col(weight: &[f32], x: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    let table = (g.stride > 1).then(|| TapTable::grouped(g));
    match chunk_samples(g, table.as_ref().map_or(1, |t| t.samples)) {
        Some(samples) => weight_times_im2col_in_chunks(weight, x, out_channels, g, table.as_ref(), samples),
        None => matmul(out_channels, g.columns(), g.patch(), View::rows(weight, g.patch()), View::rows(&im2col(x, g), g.columns())),
    }
}

fn weight_times_im2col_in_chunks(weight: &[f32], x: &[f32], out_channels: usize, g: &ConvGeometry, table: Option<&TapTable>, samples: usize) -> Vec<f32> {
    assert_eq!(x.len(), g.batch * g.channels * g.height * g.width, "im2col input size");
    assert!(samples.is_multiple_of(table.map_or(1, |t| t.samples)), "chunks of whole sample groups");
    let (patch, l, ncols) = (g.patch(), g.positions(), g.columns());
    let mut y = Vec::<f32>::with_capacity(out_channels * ncols);
    let y_addr = y.as_mut_ptr() as usize;
    (0..g.batch.div_ceil(samples)).into_par_iter().for_each_init(Vec::<f32>::new, |cols, chunk| {
        let first = chunk * samples;
        let width = samples.min(g.batch - first) * l;
        im2col_samples(x, g, table, first, width, cols);
        // SAFETY: `y` has capacity for O·N·L elements (row stride N·L); the chunks' column
        // ranges [first·L, first·L + width) are disjoint.
        unsafe {
            let dst = (y_addr as *mut f32).add(first * l);
            gemm_into(dst, [ncols, 1], View::rows(weight, patch), View::rows(cols, width), [out_channels, width, patch], gemm::Parallelism::None);
        }
    });
    // SAFETY: the chunks cover every column, and gemm wrote every row of each.
    unsafe { y.set_len(out_channels * ncols) };
    y
}

/// From this many output positions per sample on, the forward pass runs one GEMM per sample: the
/// GEMM is wide enough on its own, the activation needs no reordering, a 1×1 convolution needs no
/// im2col at all, and only one sample's columns are held at a time (Inception's early layers
/// would otherwise need hundreds of MiB of columns per batch).
pub const PER_SAMPLE_POSITIONS: usize = 1024;

fn conv_forward_per_sample(x: &[f32], weight: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    let one = ConvGeometry { batch: 1, ..*g };
    let (image, l) = (g.channels * g.height * g.width, g.positions());
    let pointwise = g.kernel == [1, 1] && g.stride == 1 && g.padding == [0, 0];
    let mut out = Vec::with_capacity(g.batch * out_channels * l);
    for n in 0..g.batch {
        let x = &x[n * image..][..image];
        let cols = if pointwise { std::borrow::Cow::Borrowed(x) } else { std::borrow::Cow::Owned(im2col(x, &one)) };
        out.extend(matmul(out_channels, l, one.patch(), View::rows(weight, one.patch()), View::rows(&cols, l)));
    }
    out
}

/// Transposed convolution, i.e. the input gradient of the convolution `g`:
/// `x [N, O, oh, ow]`, `weight [O, C, kh, kw]` → `[N, C, H, W]`.
pub fn conv_transpose_forward(x: &[f32], weight: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    if winograd::applies(g, out_channels) {
        return winograd::conv_transpose(x, weight, out_channels, g);
    }
    col2im_transpose_forward(x, weight, out_channels, g)
}

/// [`conv_transpose_forward`] through col2im.
fn col2im_transpose_forward(x: &[f32], weight: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    let x = to_channel_major(x, g.batch, out_channels, g.positions());
    col2im_of_transposed_times(weight, &x, out_channels, g)
}

/// `Wᵀ[C·kh·kw, O] · m[O, N·L]`.
fn transposed_times(weight: &[f32], m: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    matmul(g.patch(), g.columns(), out_channels, View::transposed(weight, g.patch()), View::rows(m, g.columns()))
}

/// The bytes of im2col columns one task of [`weight_gradient`] builds and multiplies at a time
/// (at least one of the gather tables' sample groups).
const GRADIENT_CHUNK_BYTES: usize = 8 << 20;

/// The weight gradient `m[O, N·L] · im2col(x)ᵀ` as `[O, C·kh·kw]`, summed over fixed chunks of
/// samples: each chunk's columns are built and multiplied by one task (a wave of chunks, one per
/// thread, at a time) and the chunks' products are added up in chunk order, so the sums do not
/// depend on the number of threads. The whole batch's columns (34 MB for dcgan-32's second
/// critic layer) are never held. With fewer than two chunks: the whole columns and one GEMM.
fn weight_gradient(m: &[f32], x: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    let (patch, l, ncols) = (g.patch(), g.positions(), g.columns());
    let group = if g.stride > 1 { TapTable::group_samples(g) } else { 1 };
    let samples = (GRADIENT_CHUNK_BYTES / (patch * l * size_of::<f32>()).max(1) / group).max(1) * group;
    if g.batch <= samples || out_channels == 0 {
        return times_cols_transposed(m, &im2col(x, g), out_channels, g);
    }
    let table = (g.stride > 1).then(|| TapTable::new(g, group));
    let chunks: Vec<usize> = (0..g.batch).step_by(samples).collect();
    // [C·kh·kw, O]: gemm writes a column-major result (see matmul_transposed_result).
    let mut gradient_t: Option<Vec<f32>> = None;
    let threads = rayon::current_num_threads();
    for wave in chunks.chunks(threads) {
        // Fewer chunks than threads (the last wave, or a batch of a few chunks on many cores):
        // each chunk's GEMM splits its output among the spare threads (gemm's own split, which
        // leaves the order of the sums alone).
        let parallelism = match threads / wave.len() {
            0 | 1 => gemm::Parallelism::None,
            n => gemm::Parallelism::Rayon(n),
        };
        let products: Vec<Vec<f32>> = wave
            .par_iter()
            .map(|&first| {
                let width = samples.min(g.batch - first) * l;
                let mut cols = Vec::new();
                im2col_samples(x, g, table.as_ref(), first, width, &mut cols);
                let mut product = Vec::<f32>::with_capacity(patch * out_channels);
                let (lhs, rhs) = (View::rows(m, ncols).from_column(first * l), View::transposed(&cols, width));
                // SAFETY: `product` has room for the O × patch result at strides [1, O]; this
                // task's own buffer, written whole.
                unsafe {
                    gemm_into(product.as_mut_ptr(), [1, out_channels], lhs, rhs, [out_channels, patch, width], parallelism);
                    product.set_len(patch * out_channels);
                }
                product
            })
            .collect();
        for product in products {
            match &mut gradient_t {
                None => gradient_t = Some(product),
                Some(sum) => sum.par_chunks_mut(1 << 14).zip(product.par_chunks(1 << 14)).for_each(|(s, p)| s.iter_mut().zip(p).for_each(|(s, p)| *s += p)),
            }
        }
    }
    transpose(&gradient_t.expect("at least two chunks"), patch, out_channels)
}

/// Samples per partial sum of [`weight_gradient_by_sample`] (fixed, so that the sums do not depend
/// on the number of threads).
const SAMPLES_PER_PARTIAL: usize = 8;

/// Whether [`weight_gradient_by_sample`] serves `g` with `out_channels` outputs: a small weight
/// (here ≤ 64 K values) over many positions per sample — the RGB layers of the DCGANs, whose
/// whole-batch GEMM (inner dimension N·L, 16 K for Conv2d(3, 128) on 32×32) spent most of its
/// time packing its operands.
fn by_sample(g: &ConvGeometry, out_channels: usize) -> bool {
    g.patch() * out_channels <= 1 << 16 && g.positions() >= 64
}

/// The weight gradient of `x` from the output gradient `grad [N, O, L]` (sample-major, as it
/// comes), sample by sample: `dW += grad_n [O × L] · im2col(x_n)ᵀ`, every operand a sample's
/// (cache-sized). Fixed groups of samples sum into partials, added up in group order.
fn weight_gradient_by_sample(grad: &[f32], x: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    let (patch, l) = (g.patch(), g.positions());
    assert_eq!(grad.len(), g.batch * out_channels * l, "weight gradient output-gradient size");
    let table = (g.stride > 1).then(|| TapTable::new(g, 1));
    let partials: Vec<Vec<f32>> = (0..g.batch.div_ceil(SAMPLES_PER_PARTIAL))
        .into_par_iter()
        .map(|group| {
            let (mut sum, mut cols) = (vec![0.0; out_channels * patch], Vec::new());
            for n in group * SAMPLES_PER_PARTIAL..((group + 1) * SAMPLES_PER_PARTIAL).min(g.batch) {
                im2col_samples(x, g, table.as_ref(), n, l, &mut cols);
                let lhs = View::rows(&grad[n * out_channels * l..][..out_channels * l], l);
                // SAFETY: `sum` holds the O × patch result, row-major, initialised, and is ours.
                unsafe { gemm_add_into(sum.as_mut_ptr(), [patch, 1], lhs, View::transposed(&cols, l), [out_channels, patch, l]) };
            }
            sum
        })
        .collect();
    let mut partials = partials.into_iter();
    let mut sum = partials.next().unwrap_or_else(|| vec![0.0; out_channels * patch]);
    for partial in partials {
        sum.iter_mut().zip(&partial).for_each(|(s, p)| *s += p);
    }
    sum
}

/// `m[O, N·L] · colsᵀ[N·L, C·kh·kw]`: a weight gradient.
fn times_cols_transposed(m: &[f32], cols: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    let (patch, ncols) = (g.patch(), g.columns());
    let gradient_t = matmul_transposed_result(out_channels, patch, ncols, View::rows(m, ncols), View::transposed(cols, ncols));
    transpose(&gradient_t, patch, out_channels)
}

/// Gradients of the convolution `x [N, C, H, W] * weight [O, C, kh, kw]` from `grad [N, O, oh, ow]`:
/// (input gradient, weight gradient), each only if asked for.
pub fn conv_backward(x: &[f32], weight: &[f32], grad: &[f32], out_channels: usize, g: &ConvGeometry, want: [bool; 2]) -> [Option<Vec<f32>>; 2] {
    if winograd::applies(g, out_channels) {
        return winograd::conv_backward(x, weight, grad, out_channels, g, want);
    }
    if want[1] && WeightGradient::choose(g, out_channels) != WeightGradient::Columns {
        let dx = want[0].then(|| col2im_transpose_forward(grad, weight, out_channels, g));
        return [dx, Some(weight_gradient_of(grad, x, out_channels, g))];
    }
    // The channel-major output gradient serves both col2im and the columns' weight gradient.
    let grad = to_channel_major(grad, g.batch, out_channels, g.positions());
    let dx = want[0].then(|| col2im_of_transposed_times(weight, &grad, out_channels, g));
    let dw = want[1].then(|| weight_gradient(&grad, x, out_channels, g));
    [dx, dw]
}

/// How the weight gradient of a convolution is computed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum WeightGradient {
    /// The kernel covers the unpadded image, one position: im2col is the image itself, and the
    /// gradient one GEMM `gradᵀ [O × N] · x [N × C·H·W]` (the DCGANs' last critic layers and
    /// their generators' first, a transposed 1×1 → 4×4 convolution; through im2col it was two
    /// transposes of the batch around a GEMM).
    Dense,
    /// [`weight_gradient_by_sample`].
    BySample,
    /// [`weight_gradient`] of the batch's im2col columns (in fixed chunks of samples).
    Columns,
}

impl WeightGradient {
    fn choose(g: &ConvGeometry, out_channels: usize) -> Self {
        if g.positions() == 1 && g.padding == [0, 0] && g.kernel == [g.height, g.width] {
            WeightGradient::Dense
        } else if by_sample(g, out_channels) {
            WeightGradient::BySample
        } else {
            WeightGradient::Columns
        }
    }
}

/// The weight gradient of the convolution `g` of `x` from `grad [N, O, oh, ow]` (as it comes).
fn weight_gradient_of(grad: &[f32], x: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    match WeightGradient::choose(g, out_channels) {
        WeightGradient::Dense => {
            // One GEMM on all threads: gemm splits its result, not the sums over the batch.
            let (patch, mut dw) = (g.patch(), Vec::with_capacity(out_channels * g.patch()));
            let (lhs, rhs) = (View::transposed(grad, out_channels), View::rows(x, patch));
            // SAFETY: `dw` has room for the O × patch result, row-major, and gemm writes all of it.
            unsafe {
                gemm_into(dw.as_mut_ptr(), [patch, 1], lhs, rhs, [out_channels, patch, g.batch], gemm::Parallelism::Rayon(rayon::current_num_threads()));
                dw.set_len(out_channels * patch);
            }
            dw
        }
        WeightGradient::BySample => weight_gradient_by_sample(grad, x, out_channels, g),
        WeightGradient::Columns => weight_gradient_of_columns(grad, x, out_channels, g),
    }
}

/// [`weight_gradient`] of `x` from `grad [N, O, oh, ow]` (made channel-major here).
fn weight_gradient_of_columns(grad: &[f32], x: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    weight_gradient(&to_channel_major(grad, g.batch, out_channels, g.positions()), x, out_channels, g)
}

/// The weight gradient of `x` from `grad [N, O, oh, ow]` through im2col (for comparisons).
#[cfg(test)]
fn im2col_weight_gradient(x: &[f32], grad: &[f32], out_channels: usize, g: &ConvGeometry) -> Vec<f32> {
    weight_gradient_of_columns(grad, x, out_channels, g)
}

/// Gradients of the transposed convolution [`conv_transpose_forward`]`(x, weight)` from
/// `grad [N, C, H, W]`: its input gradient is the convolution's forward, its weight gradient the
/// convolution's weight gradient with the roles of image and output gradient swapped.
pub fn conv_transpose_backward(x: &[f32], weight: &[f32], grad: &[f32], out_channels: usize, g: &ConvGeometry, want: [bool; 2]) -> [Option<Vec<f32>>; 2] {
    if winograd::applies(g, out_channels) {
        return winograd::conv_transpose_backward(x, weight, grad, out_channels, g, want);
    }
    // The input gradient builds its own (chunked) columns of `grad` rather than sharing the
    // weight gradient's: neither holds the whole batch's columns.
    let dx = want[0].then(|| conv_forward(grad, weight, out_channels, g));
    let dw = want[1].then(|| weight_gradient_of(x, grad, out_channels, g));
    [dx, dw]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(g: &ConvGeometry, o: usize, k: usize, size: usize, pad: usize) -> Option<usize> {
        (o * g.stride + k).checked_sub(pad).filter(|&i| i < size)
    }

    /// Direct definition of a convolution, for comparison.
    fn naive_conv(x: &[f32], w: &[f32], o: usize, g: &ConvGeometry) -> Vec<f32> {
        let mut y = vec![0.0; g.batch * o * g.positions()];
        for n in 0..g.batch {
            for oc in 0..o {
                for oy in 0..g.out_height {
                    for ox in 0..g.out_width {
                        let mut s = 0.0f64;
                        for c in 0..g.channels {
                            for ky in 0..g.kernel[0] {
                                for kx in 0..g.kernel[1] {
                                    if let (Some(iy), Some(ix)) = (source(g, oy, ky, g.height, g.padding[0]), source(g, ox, kx, g.width, g.padding[1])) {
                                        s += (x[((n * g.channels + c) * g.height + iy) * g.width + ix]
                                            * w[((oc * g.channels + c) * g.kernel[0] + ky) * g.kernel[1] + kx]) as f64;
                                    }
                                }
                            }
                        }
                        y[((n * o + oc) * g.out_height + oy) * g.out_width + ox] = s as f32;
                    }
                }
            }
        }
        y
    }

    #[test]
    fn forward_matches_the_definition_and_col2im_is_the_adjoint() {
        let mut seed = 1u32;
        let mut rnd = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                    (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
                })
                .collect()
        };
        let cases = [
            (3, 2, [40, 33], [3, 3], 1, [1, 1], 2),
            (2, 3, [36, 32], [1, 1], 1, [0, 0], 3),
            (2, 3, [7, 5], [3, 3], 1, [1, 1], 4),
            (1, 2, [8, 8], [4, 4], 2, [1, 1], 3),
            (3, 1, [28, 28], [2, 2], 2, [2, 2], 2),
            (2, 2, [5, 6], [5, 5], 2, [0, 0], 1),
            (2, 3, [9, 8], [1, 7], 1, [0, 3], 2),
            (1, 2, [8, 9], [7, 1], 2, [3, 0], 3),
            // Strided with few positions: im2col gathers groups of samples (here 10 of 40).
            (40, 2, [4, 4], [4, 4], 2, [1, 1], 3),
            (7, 3, [6, 5], [3, 3], 2, [1, 1], 2),
        ];
        for (n, c, hw, k, s, p, o) in cases {
            let g = ConvGeometry::conv(n, c, hw, k, s, p);
            let x = rnd(n * c * hw[0] * hw[1]);
            let wt = rnd(o * c * k[0] * k[1]);
            let y = conv_forward(&x, &wt, o, &g);
            let want = naive_conv(&x, &wt, o, &g);
            for (a, b) in y.iter().zip(&want) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b} for {g:?}");
            }
            // <im2col(x), c> = <x, col2im(c)>
            let cols = rnd(g.patch() * g.columns());
            let lhs: f64 = im2col(&x, &g).iter().zip(&cols).map(|(a, b)| (a * b) as f64).sum();
            let rhs: f64 = x.iter().zip(&col2im(&cols, &g)).map(|(a, b)| (a * b) as f64).sum();
            assert!((lhs - rhs).abs() < 1e-3 * (1.0 + lhs.abs()), "{lhs} vs {rhs}");
        }
    }

    /// The cache-sized chunks (any number of samples per chunk, the last one shorter) give
    /// exactly what the whole-batch passes give.
    #[test]
    fn chunked_passes_equal_the_whole_batch() {
        let value = |i: usize| ((i * 7919 % 1009) as f32 - 504.0) / 256.0;
        let cases = [(7, 3, [9, 8], [3, 3], 1, [1, 1], 4), (12, 2, [8, 8], [4, 4], 2, [1, 1], 5), (40, 2, [4, 4], [4, 4], 2, [1, 1], 3)];
        for (n, c, hw, k, s, p, o) in cases {
            let g = ConvGeometry::conv(n, c, hw, k, s, p);
            let x: Vec<f32> = (0..n * c * hw[0] * hw[1]).map(value).collect();
            let w: Vec<f32> = (0..o * g.patch()).map(|i| value(i + 13)).collect();
            let m: Vec<f32> = (0..o * g.columns()).map(|i| value(i + 29)).collect();
            let table = (s > 1).then(|| TapTable::grouped(&g));
            let group = table.as_ref().map_or(1, |t| t.samples);
            let whole = matmul(o, g.columns(), g.patch(), View::rows(&w, g.patch()), View::rows(&im2col(&x, &g), g.columns()));
            let whole_dx = col2im(&transposed_times(&w, &m, o, &g), &g);
            for samples in (1..=n).filter(|s| s.is_multiple_of(group)) {
                assert_eq!(weight_times_im2col_in_chunks(&w, &x, o, &g, table.as_ref(), samples), whole, "{g:?}, {samples} samples a chunk");
                assert_eq!(col2im_of_transposed_times_in_chunks(&w, &m, o, &g, samples), whole_dx, "{g:?}, {samples} samples a chunk");
            }
        }
    }

    /// The chunked weight gradient against its definition, on shapes with several sample chunks
    /// (the last one shorter), strided or not, strided with gather groups of 4 samples in two
    /// chunks, and one with a single chunk.
    #[test]
    fn weight_gradient_matches_the_definition() {
        let value = |i: usize| ((i * 7919 % 1009) as f32 - 504.0) / 512.0;
        let cases = [(20, 16, [64, 64], [4, 4], 2, [1, 1], 3), (11, 32, [40, 36], [3, 3], 1, [1, 1], 5), (4, 2, [8, 8], [4, 4], 2, [1, 1], 3), (64, 256, [8, 8], [4, 4], 2, [1, 1], 2), (19, 3, [32, 32], [4, 4], 2, [1, 1], 16), (5, 7, [4, 4], [4, 4], 1, [0, 0], 6)];
        for (n, c, hw, k, s, p, o) in cases {
            let g = ConvGeometry::conv(n, c, hw, k, s, p);
            let x: Vec<f32> = (0..n * c * hw[0] * hw[1]).map(value).collect();
            let m: Vec<f32> = (0..o * g.columns()).map(|i| value(i + 31)).collect();
            let grad = from_channel_major(&m, n, o, g.positions());
            let mut want = vec![0.0f64; o * g.patch()];
            for (oc, n, oy, ox) in (0..o).flat_map(|oc| (0..n).flat_map(move |n| (0..g.out_height).flat_map(move |oy| (0..g.out_width).map(move |ox| (oc, n, oy, ox))))) {
                let dy = m[oc * g.columns() + n * g.positions() + oy * g.out_width + ox] as f64;
                for (ci, ky, kx) in (0..c).flat_map(|ci| (0..k[0]).flat_map(move |ky| (0..k[1]).map(move |kx| (ci, ky, kx)))) {
                    if let (Some(iy), Some(ix)) = (source(&g, oy, ky, g.height, p[0]), source(&g, ox, kx, g.width, p[1])) {
                        want[((oc * c + ci) * k[0] + ky) * k[1] + kx] += dy * x[((n * c + ci) * g.height + iy) * g.width + ix] as f64;
                    }
                }
            }
            let scale = want.iter().fold(1.0f64, |a, v| a.max(v.abs()));
            // Every way, whichever the geometry would choose.
            for got in [weight_gradient(&m, &x, o, &g), weight_gradient_by_sample(&grad, &x, o, &g), weight_gradient_of(&grad, &x, o, &g)] {
                for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                    assert!((*a as f64 - b).abs() < 1e-5 * scale, "{g:?}: element {i}: {a} vs {b}");
                }
            }
        }
    }

    /// The weight gradients' sums do not depend on the number of threads (chunks of fixed size,
    /// added in order; fewer chunks than threads split their GEMM's output, not its sums).
    #[test]
    fn weight_gradient_is_the_same_on_any_number_of_threads() {
        let value = |i: usize| ((i * 7919 % 1009) as f32 - 504.0) / 512.0;
        for (n, c, hw, o) in [(20, 16, [64, 64], 3), (64, 256, [8, 8], 2)] {
            let g = ConvGeometry::conv(n, c, hw, [4, 4], 2, [1, 1]);
            let x: Vec<f32> = (0..n * c * hw[0] * hw[1]).map(value).collect();
            let m: Vec<f32> = (0..o * g.columns()).map(|i| value(i + 31)).collect();
            let grad = from_channel_major(&m, n, o, g.positions());
            let on = |threads: usize| rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| [weight_gradient(&m, &x, o, &g), weight_gradient_by_sample(&grad, &x, o, &g)]);
            let one = on(1);
            for threads in [2, 3, 8] {
                assert_eq!(on(threads), one, "{g:?} on {threads} threads");
            }
        }
        // The dense way, with more than 512 samples and few outputs (where gemm's blocking
        // depends on the shape of the part it is given).
        let g = ConvGeometry::conv(700, 8, [4, 4], [4, 4], 1, [0, 0]);
        assert_eq!(WeightGradient::choose(&g, 5), WeightGradient::Dense);
        let x: Vec<f32> = (0..700 * 8 * 16).map(value).collect();
        let grad: Vec<f32> = (0..700 * 5).map(|i| value(i + 31)).collect();
        let on = |threads: usize| rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| weight_gradient_of(&grad, &x, 5, &g));
        let one = on(1);
        for threads in [2, 3, 8] {
            assert_eq!(on(threads), one, "dense on {threads} threads");
        }
    }

    /// Deterministic values in [-1, 1].
    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len).map(|i| (((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) % 2001) as f32 / 1000.0 - 1.0).collect()
    }

    fn worst(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
    }

    /// Every Winograd pass against the im2col/col2im ones, on even and odd sizes and paddings 0–2
    /// (with image rows no window reads), batches that do and do not divide into groups of lanes.
    #[test]
    fn winograd_matches_the_im2col_passes() {
        for &(batch, c, o, size, pad) in &[(3, 32, 40, 16, 1), (5, 33, 32, 7, 1), (2, 32, 32, 9, 0), (3, 32, 32, 11, 0), (4, 40, 36, 10, 2), (70, 32, 32, 4, 1)] {
            let g = ConvGeometry::conv(batch, c, [size, size], [4, 4], 2, [pad, pad]);
            assert!(winograd::fits(&g, o));
            let case = format!("{batch}×{c}→{o} at {size} pad {pad}");
            let (x, w) = (values(batch * c * size * size, 1), values(o * c * 16, 2));
            let grad = values(batch * o * g.out_height * g.out_width, 3);
            // Tolerances: float rounding of sums of c·16, o·16 and batch·positions products.
            let (forward, transposed, weights) = (1e-5 * (c * 16) as f32, 1e-5 * (o * 16) as f32, 1e-5 * (batch * g.out_height * g.out_width) as f32);
            let e = worst(&winograd::conv_forward(&x, &w, o, &g), &im2col_forward(&x, &w, o, &g));
            assert!(e < forward, "forward {case}: off by {e}");
            let e = worst(&winograd::conv_transpose(&grad, &w, o, &g), &col2im_transpose_forward(&grad, &w, o, &g));
            assert!(e < transposed, "transposed {case}: off by {e}");
            let [dx, dw] = winograd::conv_backward(&x, &w, &grad, o, &g, [true, true]).map(Option::unwrap);
            let e = worst(&dx, &col2im_transpose_forward(&grad, &w, o, &g));
            assert!(e < transposed, "input gradient {case}: off by {e}");
            let e = worst(&dw, &im2col_weight_gradient(&x, &grad, o, &g));
            assert!(e < weights, "weight gradient {case}: off by {e}");
            // The transposed convolution of `grad`, its output gradient an image `x`.
            let [dgrad, dw] = winograd::conv_transpose_backward(&grad, &w, &x, o, &g, [true, true]).map(Option::unwrap);
            let e = worst(&dgrad, &im2col_forward(&x, &w, o, &g));
            assert!(e < forward, "transposed convolution's input gradient {case}: off by {e}");
            let e = worst(&dw, &im2col_weight_gradient(&x, &grad, o, &g));
            assert!(e < weights, "transposed convolution's weight gradient {case}: off by {e}");
        }
    }
}
