//! Puts the convolutions back channel-last when the model is loaded.
//!
//! tract moves a depthwise convolution to the channel-last layout while
//! decluttering wherever the CPU has a channel-last depthwise kernel (arm64,
//! and x86-64 with the patched `tract-linalg` in `vendor/`), which runs the
//! detector about 0.7x the time of the channel-first plan. NNEF cannot say
//! "channel-last convolution", so tract-nnef writes each one as a
//! channel-first convolution between two transposes, and generating code alone
//! would keep both the slow layout and the transposes. This pass finds that
//! shape (channel-last to channel-first, the convolution, and back) and puts
//! one channel-last convolution in its place, reading and writing the
//! channel-last wires directly; then it drops the transposes that change
//! neither a shape nor where a value is (those around the 1x1 maps). The plan
//! computes the same sums as the one tract's axis-change search gives
//! (outputs the same to the bit) in a few milliseconds instead of 29-49
//! (`docs/performance.md`).
//!
//! Last, on a host whose 1x1 convolutions can read a channel-last map in
//! place, it turns the stretches the file keeps channel-first (from each
//! projection's output through the residual sums to the next expansion's
//! input) channel-last, so none packs its map first.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::change_axes::{AxisChange, AxisOp};
use tract_onnx::tract_core::ops::cnn::Conv;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::konst::Const;
use tract_onnx::tract_core::ops::nn::DataFormat;
use tract_onnx::tract_core::optim::change_axes::change_axes;

/// A channel-first convolution wrapped in transposes from and back to the
/// channel-last layout, as tract-nnef writes a channel-last one.
struct WrappedConv {
    /// The channel-last wire the first transpose reads.
    input: OutletId,
    conv: usize,
    /// The second transpose, whose channel-last output the convolution's takes over.
    output: usize,
}

/// The wrapped convolution at `node`, if it is one.
fn wrapped_conv(model: &TypedModel, node: &TypedNode) -> Option<WrappedConv> {
    let conv = node.op_as::<Conv>()?;
    let float = conv.q_params.is_none() && node.inputs.len() == 3;
    if !float || conv.pool_spec.data_format != DataFormat::NCHW || node.outputs[0].successors.len() != 1 {
        return None;
    }
    let rank = model.outlet_fact(node.inputs[0]).ok()?.rank();
    let into = model.node(node.inputs[0].node);
    let back = model.node(node.outputs[0].successors[0].node);
    let is_move = |node: &TypedNode, from: usize, to: usize| node.op_as::<AxisOp>() == Some(&AxisOp::Move(from, to));
    (is_move(into, rank - 1, 1) && is_move(back, 1, rank - 1)).then(|| WrappedConv {
        input: into.inputs[0],
        conv: node.id,
        output: back.id,
    })
}

/// A move that changes neither the shape nor where any value is, as the
/// transposes the file keeps around the 1x1 maps: the same shape, and the
/// moved axis is a unit axis or every axis it passes is. A copy for nothing.
/// (The same shape alone is not enough: swapping the two axes of a square map
/// keeps the shape and transposes the values.)
fn idle_move(model: &TypedModel, node: &TypedNode) -> bool {
    let Some(&AxisOp::Move(from, to)) = node.op_as::<AxisOp>() else {
        return false;
    };
    let Ok(fact) = model.outlet_fact(node.inputs[0]) else {
        return false;
    };
    let unit = |axis: usize| fact.shape[axis].is_one();
    let in_place = unit(from) || (from.min(to)..=from.max(to)).filter(|&axis| axis != from).all(unit);
    in_place && fact.shape == node.outputs[0].fact.shape
}

/// Replaces every wrapped convolution by a channel-last one, then drops the
/// idle moves left, one patch each.
pub fn restore_layouts(model: &mut TypedModel) -> TractResult<()> {
    let mut from = 0;
    while let Some(wrapped) = model.nodes()[from..].iter().find_map(|node| wrapped_conv(model, node)) {
        from = wrapped.conv + 1;
        let node = model.node(wrapped.conv);
        let mut conv = node.op_as::<Conv>().expect("a convolution").clone();
        conv.pool_spec.data_format = DataFormat::NHWC;
        let mut patch = TypedModelPatch::new(format!("channel-last {}", node.name));
        let inputs = patch.taps(model, &[wrapped.input, node.inputs[1], node.inputs[2]])?;
        let output = patch.wire_node(&node.name, conv, &inputs)?[0];
        patch.shunt_outside(model, wrapped.output.into(), output)?;
        patch.apply(model)?;
    }
    let idle: Vec<usize> = model
        .nodes()
        .iter()
        .filter(|node| idle_move(model, node))
        .map(|node| node.id)
        .collect();
    for id in idle {
        if let Some(patch) = TypedModelPatch::shunt_one_op(model, model.node(id))? {
            patch.apply(model)?;
        }
    }
    if reads_maps_in_place() {
        channel_last_everywhere(model)?;
    }
    Ok(())
}

/// True where tract's 1x1 convolutions read a channel-last map in place (the
/// AVX-512 kernels of the vendored tract-linalg), the only hosts where the
/// turn to channel-last is measured (0.82-0.88x of inference). Elsewhere,
/// arm64 included, the plan stays as the file has it.
fn reads_maps_in_place() -> bool {
    use tract_onnx::tract_core::tract_linalg::isa::{Isa, native};
    native().has(Isa::X86_64Avx512f)
}

/// Where a 1x1 convolution's matmul writes its output channels before its
/// pixels: the output positions of the weights' own axis (in the constant
/// only) and the map's (in the activation only).
fn channel_first_output(model: &TypedModel, node: &TypedNode) -> Option<(usize, usize)> {
    let einsum = node.op_as::<EinSum>()?;
    if node.inputs.len() != 2 || !model.node(node.inputs[0].node).op_is::<Const>() {
        return None;
    }
    let only_in = |slot: usize| -> Option<usize> {
        let mut axes = einsum.axes.iter_all_axes().filter(|axis| {
            axis.inputs[slot].len() == 1 && axis.inputs[1 - slot].is_empty() && axis.outputs[0].len() == 1
        });
        let axis = axes.next()?;
        axes.next().is_none().then_some(axis.outputs[0][0])
    };
    let (channels, pixels) = (only_in(0)?, only_in(1)?);
    (channels < pixels).then_some((channels, pixels))
}

/// Moves the channel axis of every channel-first 1x1 convolution's output
/// last, with everything the change reaches (the residual sums, the reshapes
/// around the map, the next expansion's input), where tract can carry it
/// through. In the file the residual stretches are channel-first: each
/// projection wrote its output channels first and the next expansion read
/// them so. Each projection packed the channel-last map it read into panels
/// before its product (`pack_k_major`, 8 % of an inference), each expansion
/// its channel-first input. Channel-last end to end, every 1x1 convolution
/// reads its map in place as rows (the `StridedRows` packing of the vendored
/// tract-linalg).
fn channel_last_everywhere(model: &mut TypedModel) -> TractResult<()> {
    let locked: Vec<OutletId> = model
        .output_outlets()?
        .iter()
        .chain(model.input_outlets()?)
        .copied()
        .collect();
    let mut from = 0;
    while let Some((id, (channels, pixels))) = model.nodes()[from..]
        .iter()
        .find_map(|node| channel_first_output(model, node).map(|axes| (node.id, axes)))
    {
        from = id + 1;
        let change = AxisChange {
            outlet: id.into(),
            op: AxisOp::Move(channels, pixels),
        };
        if let Some((patch, _)) = change_axes(model, &change, &locked, &[], &mut Default::default())? {
            patch.apply(model)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::tract_core::internal::Approximation;
    use tract_onnx::tract_core::ops::cnn::{KernelFormat, PaddingSpec, PoolSpec};

    fn values(len: usize) -> Vec<f32> {
        (0..len).map(|i| (i % 7) as f32 - 3.0).collect()
    }

    /// A 3x3 depthwise convolution over a channel-last 6x5 map of 16
    /// channels, written as tract-nnef writes it.
    fn wrapped_depthwise() -> TractResult<TypedModel> {
        let mut model = TypedModel::default();
        let map = model.add_source("map", f32::fact([1, 6, 5, 16]))?;
        let nchw = model.wire_node("into", AxisOp::Move(3, 1), &[map])?;
        let kernel = tensor1(&values(16 * 9)).into_shape(&[16, 1, 3, 3])?;
        let kernel = model.add_const("kernel", kernel)?;
        let bias = model.add_const("bias", tensor1(&values(16)))?;
        let padding = PaddingSpec::Explicit(tvec!(1, 1), tvec!(1, 1));
        let pool_spec = PoolSpec::new(DataFormat::NCHW, tvec!(3, 3), padding, None, None, 16, 16);
        let conv = Conv::new(pool_spec, KernelFormat::OIHW, 16, None);
        let conv = model.wire_node("conv", conv, &[nchw[0], kernel, bias])?;
        let back = model.wire_node("back", AxisOp::Move(1, 3), &conv)?;
        model.select_output_outlets(&back)?;
        Ok(model)
    }

    fn run(model: TypedModel) -> TractResult<Arc<Tensor>> {
        let map = tensor1(&values(6 * 5 * 16)).into_shape(&[1, 6, 5, 16])?;
        let outputs = model.into_optimized()?.into_runnable()?.run(tvec!(map.into()))?;
        Ok(outputs[0].clone().into_arc_tensor())
    }

    #[test]
    fn a_wrapped_convolution_becomes_one_channel_last_convolution_with_the_same_sums() -> TractResult<()> {
        let mut model = wrapped_depthwise()?;
        let expected = run(model.clone())?;
        restore_layouts(&mut model)?;
        model.compact()?;
        let kinds: Vec<String> = model.nodes().iter().map(|node| node.op().name().to_string()).collect();
        assert!(!kinds.iter().any(|kind| kind == "MoveAxis"), "{kinds:?}");
        let conv = model
            .nodes()
            .iter()
            .find_map(|node| node.op_as::<Conv>())
            .expect("a convolution");
        assert_eq!(conv.pool_spec.data_format, DataFormat::NHWC);
        run(model)?.close_enough(&expected, Approximation::Exact)
    }

    /// A residual stretch as the file has it: two projections of a
    /// channel-last map of 24 channels over 30 pixels write 16 channels
    /// first, summed with a bias each, reshaped to the 6x5 map and back, and
    /// read by an expansion to 32 channels that writes them last.
    fn channel_first_stretch() -> TractResult<TypedModel> {
        let mut model = TypedModel::default();
        let map = model.add_source("map", f32::fact([30, 24]))?;
        let mut sums = tvec!();
        for name in ["projection", "skip"] {
            let weights = tensor1(&values(16 * 24)).into_shape(&[16, 24])?;
            let weights = model.add_const(format!("{name}.weights"), weights)?;
            let projection = EinSum::new("mk,nk->mn".parse()?, f32::datum_type());
            let output = model.wire_node(name, projection, &[weights, map])?;
            let bias = model.add_const(format!("{name}.bias"), tensor1(&values(16)).into_shape(&[16, 1])?)?;
            sums.push(
                model.wire_node(
                    format!("{name}.biased"),
                    tract_onnx::tract_core::ops::math::add(),
                    &[output[0], bias],
                )?[0],
            );
        }
        let sum = model.wire_node("residual", tract_onnx::tract_core::ops::math::add(), &sums)?;
        let unmerged = model.wire_node(
            "unmerge",
            AxisOp::Reshape(1, tvec!(30.into()), tvec!(6.into(), 5.into())),
            &sum,
        )?;
        let merged = model.wire_node(
            "merge",
            AxisOp::Reshape(1, tvec!(6.into(), 5.into()), tvec!(30.into())),
            &unmerged,
        )?;
        let weights = model.add_const("expansion.weights", tensor1(&values(32 * 16)).into_shape(&[32, 16])?)?;
        let expansion = EinSum::new("km,nk->mn".parse()?, f32::datum_type());
        let output = model.wire_node("expansion", expansion, &[merged[0], weights])?;
        model.select_output_outlets(&output)?;
        Ok(model)
    }

    #[test]
    fn a_channel_first_stretch_turns_channel_last_with_the_same_sums() -> TractResult<()> {
        let mut model = channel_first_stretch()?;
        let map = tensor1(&values(30 * 24)).into_shape(&[30, 24])?;
        let run = |model: TypedModel| -> TractResult<Arc<Tensor>> {
            let outputs = model
                .into_optimized()?
                .into_runnable()?
                .run(tvec!(map.clone().into()))?;
            Ok(outputs[0].clone().into_arc_tensor())
        };
        let expected = run(model.clone())?;
        channel_last_everywhere(&mut model)?;
        model.compact()?;
        for name in ["projection", "skip"] {
            let node = model.node(model.node_id_by_name(name)?);
            assert_eq!(
                node.outputs[0].fact.shape.to_tvec(),
                tvec!(30.to_dim(), 16.to_dim()),
                "{name}"
            );
        }
        let kinds: Vec<String> = model.nodes().iter().map(|node| node.op().name().to_string()).collect();
        assert!(
            !kinds.iter().any(|kind| kind == "MoveAxis"),
            "a transpose was left: {kinds:?}"
        );
        run(model)?.close_enough(&expected, Approximation::Exact)
    }

    /// The nodes left after the pass, by name.
    fn restored(mut model: TypedModel) -> TractResult<Vec<String>> {
        restore_layouts(&mut model)?;
        model.compact()?;
        Ok(model.nodes().iter().map(|node| node.name.clone()).collect())
    }

    #[test]
    fn a_move_between_unit_axes_is_dropped_and_real_or_reshaping_ones_kept() -> TractResult<()> {
        let mut model = TypedModel::default();
        let pixel = model.add_source("pixel", f32::fact([1, 1, 8, 2]))?;
        let idle = model.wire_node("idle", AxisOp::Move(0, 1), &[pixel])?;
        let real = model.wire_node("real", AxisOp::Move(3, 2), &idle)?;
        let reshaping = model.wire_node("reshaping", AxisOp::Move(1, 3), &real)?;
        model.select_output_outlets(&reshaping)?;
        assert_eq!(restored(model)?, ["pixel", "real", "reshaping"]);
        Ok(())
    }

    #[test]
    fn a_square_map_transposed_is_kept_though_its_shape_is_the_same() -> TractResult<()> {
        let mut model = TypedModel::default();
        let map = model.add_source("map", f32::fact([1, 5, 5, 3]))?;
        let transposed = model.wire_node("transposed", AxisOp::Move(1, 2), &[map])?;
        model.select_output_outlets(&transposed)?;
        assert_eq!(restored(model)?, ["map", "transposed"]);
        Ok(())
    }
}
