//! [`ConvGeometry`]: one convolution's shapes, seen from the image side, and [`taps_inside`], the
//! window arithmetic that convolutions and pooling share.

/// One convolution's shapes, from the image side (`[height, width]` pairs for kernel and padding;
/// one stride for both axes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    pub batch: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: [usize; 2],
    pub stride: usize,
    pub padding: [usize; 2],
    pub out_height: usize,
    pub out_width: usize,
}

impl ConvGeometry {
    /// A convolution over a `channels × height × width` image.
    pub fn conv(batch: usize, channels: usize, [height, width]: [usize; 2], kernel: [usize; 2], stride: usize, padding: [usize; 2]) -> Self {
        let out = |size: usize, axis: usize| (size + 2 * padding[axis] - kernel[axis]) / stride + 1;
        ConvGeometry { batch, channels, height, width, kernel, stride, padding, out_height: out(height, 0), out_width: out(width, 1) }
    }

    /// The convolution whose input gradient is a transposed convolution from `input` to `output`
    /// (`[height, width]`; output padding included in the output size).
    pub fn transposed(batch: usize, out_channels: usize, input: [usize; 2], output: [usize; 2], kernel: [usize; 2], stride: usize, padding: [usize; 2]) -> Self {
        let ([out_height, out_width], [height, width]) = (input, output);
        ConvGeometry { batch, channels: out_channels, height, width, kernel, stride, padding, out_height, out_width }
    }

    pub(super) fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    pub(super) fn patch(&self) -> usize {
        self.channels * self.taps()
    }

    pub(super) fn positions(&self) -> usize {
        self.out_height * self.out_width
    }

    pub(super) fn columns(&self) -> usize {
        self.batch * self.positions()
    }

    /// The output positions `lo..hi` (of `out`) whose kernel tap `k` lands inside an image axis of
    /// `size` padded by `pad`; the tap reads position `o·stride + k − pad`.
    #[inline]
    pub(super) fn inside(&self, k: usize, size: usize, out: usize, pad: usize) -> (usize, usize) {
        taps_inside(k, size, out, pad, self.stride)
    }

    /// The rows and columns of tap `(ky, kx)` inside the image.
    #[inline]
    pub(super) fn tap_ranges(&self, ky: usize, kx: usize) -> ((usize, usize), (usize, usize)) {
        (self.inside(ky, self.height, self.out_height, self.padding[0]), self.inside(kx, self.width, self.out_width, self.padding[1]))
    }
}

/// The outputs `lo..hi` (of `out`) whose window tap `k` reads inside an axis of `size` padded by
/// `pad`, the tap reading position `o·stride + k − pad` (convolutions and pooling alike).
#[inline]
pub(super) fn taps_inside(k: usize, size: usize, out: usize, pad: usize, stride: usize) -> (usize, usize) {
    let lo = pad.saturating_sub(k).div_ceil(stride);
    let hi = if size + pad > k { ((size - 1 + pad - k) / stride + 1).min(out) } else { 0 };
    (lo.min(hi), hi)
}
