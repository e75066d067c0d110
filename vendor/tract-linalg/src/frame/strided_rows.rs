//! f32 operand whose rows the x86-64 AVX-512 kernels read in place.
//!
//! A channel-last activation `[pixels, channels]` is the B operand of a 1x1
//! convolution with its k values (channels) contiguous for each mn index
//! (pixel). A packed B panel wants the `r` values of one k side by side, so
//! packing transposes every panel (`pack_k_major`) before each matmul. A kernel
//! registering this format broadcasts each value straight from its row
//! instead, as onnxruntime's MLAS does: a panel is named by its first row and
//! the row stride, and nothing is copied.
//!
//! The last panel, when shorter than `r`, is copied out with zero rows after
//! it, so the kernel always reads `r` rows inside memory it may read. An
//! operand whose k axis is not contiguous is copied once into rows.

use std::alloc::Layout;
use std::fmt::Display;
use std::sync::Arc;

use tract_data::internal::*;

use crate::WeightType;
use crate::mmm::{EagerPackedInput, MMMInputFormat, MMMInputValue, PackedMatrixStorage};
use crate::strided_panel::NoFact;

/// What an `AddMatMul` passes as `pb` with this packing: two machine words,
/// the first row's address and the row stride in bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct RowsDesc {
    ptr: usize,
    row_byte_stride: usize,
}

/// f32 operand read as `r` rows of k contiguous values, `row_byte_stride` apart.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct StridedRows {
    r: usize,
}

impl StridedRows {
    pub const fn new(r: usize) -> Self {
        Self { r }
    }

    /// The operand over a tensor the caller already owns, `byte_offset` into
    /// it (one batch item). No bytes are copied when the k axis is contiguous
    /// and every row read lies in the allocation; otherwise the rows are
    /// copied out once.
    pub fn rows_from_arc(
        &self,
        tensor: Arc<Tensor>,
        byte_offset: isize,
        k_axis: usize,
        mn_axis: usize,
    ) -> TractResult<Box<dyn MMMInputValue>> {
        ensure!(k_axis != mn_axis, "k and mn axes are both {k_axis}");
        ensure!(k_axis < tensor.rank() && mn_axis < tensor.rank());
        ensure!(tensor.datum_type() == f32::datum_type());
        let k = tensor.shape()[k_axis];
        let mn = tensor.shape()[mn_axis];
        let k_stride = tensor.strides()[k_axis];
        let mn_stride = tensor.strides()[mn_axis];
        if k_stride == 1 && spans_allocation(&tensor, byte_offset, k, mn, mn_stride) {
            let row_byte_stride = mn_stride as usize * 4;
            return StridedRowsInput::new(
                *self,
                tensor,
                byte_offset as usize,
                row_byte_stride,
                k,
                mn,
            );
        }
        let view = unsafe {
            TensorView::from_bytes(&tensor, byte_offset, tensor.shape(), tensor.strides())
        };
        self.prepare_one_view(&view, k_axis, mn_axis)
    }
}

/// True when every row read, from the first value of the first row to the last
/// value of the last, lies in the allocation (k contiguous, rows `mn_stride`
/// values apart, not backwards).
fn spans_allocation(
    tensor: &Tensor,
    byte_offset: isize,
    k: usize,
    mn: usize,
    mn_stride: isize,
) -> bool {
    let bytes = tensor.as_bytes().len() as isize;
    if byte_offset < 0 || mn_stride < 0 {
        return false;
    }
    if k == 0 || mn == 0 {
        return byte_offset <= bytes;
    }
    let last_row = (mn as isize - 1).saturating_mul(mn_stride);
    let end = last_row.saturating_add(k as isize).saturating_mul(4).saturating_add(byte_offset);
    end <= bytes
}

impl MMMInputFormat for StridedRows {
    fn prepare_tensor(&self, t: &Tensor, k_axis: usize, mn_axis: usize) -> TractResult<Tensor> {
        let value = self.prepare_one(t, k_axis, mn_axis)?;
        Ok(PackedMatrixStorage::new(value).into_tensor(t.datum_type()))
    }

    fn prepare_one(
        &self,
        t: &Tensor,
        k_axis: usize,
        mn_axis: usize,
    ) -> TractResult<Box<dyn MMMInputValue>> {
        self.rows_from_arc(Arc::new(t.clone()), 0, k_axis, mn_axis)
    }

    /// Copies the view's rows out: a view borrows, and the value must not.
    fn prepare_one_view(
        &self,
        t: &TensorView,
        k_axis: usize,
        mn_axis: usize,
    ) -> TractResult<Box<dyn MMMInputValue>> {
        ensure!(k_axis != mn_axis, "k and mn axes are both {k_axis}");
        ensure!(k_axis < t.rank() && mn_axis < t.rank());
        ensure!(t.datum_type() == f32::datum_type());
        let (k, mn) = (t.shape()[k_axis], t.shape()[mn_axis]);
        let (k_stride, mn_stride) = (t.strides()[k_axis], t.strides()[mn_axis]);
        let mut rows = Vec::with_capacity(k * mn);
        if k * mn > 0 {
            let base = t.as_ptr::<f32>()?;
            for i in 0..mn as isize {
                for j in 0..k as isize {
                    rows.push(unsafe { *base.offset(i * mn_stride + j * k_stride) });
                }
            }
        }
        let rows = Arc::new(Tensor::from_shape(&[mn, k], &rows)?);
        StridedRowsInput::new(*self, rows, 0, k * 4, k, mn)
    }

    fn precursor(&self) -> WeightType {
        WeightType::Plain(f32::datum_type())
    }

    fn r(&self) -> usize {
        self.r
    }

    fn k_alignment(&self) -> usize {
        1
    }

    fn mem_size(&self, _k: TDim, _mn: TDim) -> TDim {
        0.to_dim()
    }

    fn extract_at_mn_f16(&self, _: &EagerPackedInput, _: usize, _: &mut [f16]) -> TractResult<()> {
        bail!("f32 rows have no f16 extract")
    }

    fn extract_at_mn_f32(&self, _: &EagerPackedInput, _: usize, _: &mut [f32]) -> TractResult<()> {
        bail!("f32 rows are not an EagerPackedInput")
    }
}

impl Display for StridedRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RowsF32[{}]", self.r)
    }
}

/// The rows of one matmul's B, kept alive with the tensor they sit in: a
/// descriptor per panel, and the short last panel's copy.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StridedRowsInput {
    format: StridedRows,
    tensor: Arc<Tensor>,
    tail: Option<Arc<Tensor>>,
    panels: Vec<RowsDesc>,
    byte_offset: usize,
    row_byte_stride: usize,
    k: usize,
    mn: usize,
}

impl StridedRowsInput {
    fn new(
        format: StridedRows,
        tensor: Arc<Tensor>,
        byte_offset: usize,
        row_byte_stride: usize,
        k: usize,
        mn: usize,
    ) -> TractResult<Box<dyn MMMInputValue>> {
        let mut input = Self {
            format,
            tensor,
            tail: None,
            panels: Vec::with_capacity(mn.div_ceil(format.r)),
            byte_offset,
            row_byte_stride,
            k,
            mn,
        };
        let full = mn / format.r;
        for panel in 0..full {
            let ptr = input.row(panel * format.r) as usize;
            input.panels.push(RowsDesc { ptr, row_byte_stride });
        }
        if full * format.r < mn {
            let mut rows = vec![0f32; format.r * k];
            for (row, mn) in (full * format.r..mn).enumerate().filter(|_| k > 0) {
                let from = unsafe { std::slice::from_raw_parts(input.row(mn) as *const f32, k) };
                rows[row * k..][..k].copy_from_slice(from);
            }
            let tail = Arc::new(Tensor::from_shape(&[format.r, k], &rows)?);
            let ptr = unsafe { tail.as_ptr_unchecked::<u8>() } as usize;
            input.panels.push(RowsDesc { ptr, row_byte_stride: k * 4 });
            input.tail = Some(tail);
        }
        Ok(Box::new(input))
    }

    /// True when the rows are read where the caller's tensor has them.
    pub fn is_view_of(&self, tensor: &Tensor) -> bool {
        std::ptr::eq(&*self.tensor, tensor)
    }

    fn row(&self, mn: usize) -> *const u8 {
        unsafe {
            self.tensor.as_ptr_unchecked::<u8>().add(self.byte_offset + mn * self.row_byte_stride)
        }
    }
}

impl MMMInputValue for StridedRowsInput {
    fn format(&self) -> &dyn MMMInputFormat {
        &self.format
    }

    fn scratch_panel_buffer_layout(&self) -> Option<Layout> {
        None
    }

    fn panel_bytes(&self, i: usize, _buffer: Option<*mut u8>) -> TractResult<*const u8> {
        self.panels
            .get(i)
            .map(|p| p as *const RowsDesc as *const u8)
            .with_context(|| format!("rows panel {i} of {}", self.panels.len()))
    }

    fn mn(&self) -> usize {
        self.mn
    }

    fn k(&self) -> usize {
        self.k
    }

    fn exotic_fact(&self) -> &dyn ExoticFact {
        &NoFact
    }

    fn extract_at_mn_f16(&self, _mn: usize, _slice: &mut [f16]) -> TractResult<()> {
        bail!("f32 rows have no f16 extract")
    }

    fn extract_at_mn_f32(&self, mn: usize, slice: &mut [f32]) -> TractResult<()> {
        ensure!(slice.len() == self.k && mn < self.mn);
        if self.k == 0 {
            return Ok(());
        }
        let row = unsafe { std::slice::from_raw_parts(self.row(mn) as *const f32, self.k) };
        slice.copy_from_slice(row);
        Ok(())
    }
}

impl Display for StridedRowsInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} k={} mn={}", self.format, self.k, self.mn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(input: &dyn MMMInputValue, panel: usize) -> (usize, usize) {
        let p = input.panel_bytes(panel, None).unwrap() as *const usize;
        unsafe { (*p, *p.add(1)) }
    }

    /// Full panels point into the map, rows one pixel apart; the short last
    /// one is a copy with zero rows after it.
    #[test]
    fn full_panels_are_read_in_place_and_the_short_one_is_copied() -> TractResult<()> {
        let (pixels, channels) = (10, 5);
        let values: Vec<f32> = (0..pixels * channels).map(|i| i as f32).collect();
        let map = Arc::new(Tensor::from_shape(&[pixels, channels], &values)?);
        let input = StridedRows::new(4).rows_from_arc(map.clone(), 0, 1, 0)?;
        assert!(input.downcast_ref::<StridedRowsInput>().unwrap().is_view_of(&map));
        assert_eq!(input.panels_count(), 3);
        let base = map.as_bytes().as_ptr() as usize;
        assert_eq!(desc(&*input, 0), (base, channels * 4));
        assert_eq!(desc(&*input, 1), (base + 4 * channels * 4, channels * 4));
        let (ptr, stride) = desc(&*input, 2);
        assert!(ptr < base || ptr >= base + map.as_bytes().len(), "the short panel is not a copy");
        assert_eq!(stride, channels * 4);
        let tail = unsafe { std::slice::from_raw_parts(ptr as *const f32, 4 * channels) };
        assert_eq!(&tail[..2 * channels], &values[8 * channels..]);
        assert!(tail[2 * channels..].iter().all(|v| *v == 0.0));
        Ok(())
    }

    /// One item of a batch, its rows further apart than k.
    #[test]
    fn an_item_of_a_batch_is_read_at_its_offset_and_stride() -> TractResult<()> {
        let values: Vec<f32> = (0..6 * 2 * 3).map(|i| i as f32).collect();
        let maps = Arc::new(Tensor::from_shape(&[6, 2, 3], &values)?);
        let input = StridedRows::new(3).rows_from_arc(maps.clone(), 12, 2, 0)?;
        let base = maps.as_bytes().as_ptr() as usize;
        assert_eq!(desc(&*input, 1), (base + 12 + 3 * 24, 24));
        let mut row = [0f32; 3];
        input.extract_at_mn_f32(4, &mut row)?;
        assert_eq!(row, [27.0, 28.0, 29.0]);
        Ok(())
    }

    /// A map with k not innermost ([k, mn], as a packed-path test hands it)
    /// is copied into rows once.
    #[test]
    fn a_map_with_k_outermost_is_copied_into_rows() -> TractResult<()> {
        let values: Vec<f32> = (0..3 * 8).map(|i| i as f32).collect();
        let map = Arc::new(Tensor::from_shape(&[3, 8], &values)?);
        let input = StridedRows::new(4).rows_from_arc(map.clone(), 0, 0, 1)?;
        assert!(!input.downcast_ref::<StridedRowsInput>().unwrap().is_view_of(&map));
        let mut row = [0f32; 3];
        input.extract_at_mn_f32(5, &mut row)?;
        assert_eq!(row, [5.0, 13.0, 21.0]);
        assert_eq!(desc(&*input, 1).1, 12);
        Ok(())
    }
}
