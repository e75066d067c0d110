//! Puts the depthwise convolutions back channel-last when the model is loaded.
//!
//! tract moves a depthwise convolution to the channel-last layout while
//! decluttering wherever the CPU has a channel-last depthwise kernel (arm64,
//! and x86-64 with the patched `tract-linalg` in `vendor/`), which runs the
//! detector about 0.7x the time of the channel-first plan. NNEF cannot say
//! "channel-last convolution", so the model file carries each one as a
//! channel-first convolution between two transposes, and generating code alone
//! would keep both the slow layout and the transposes. This pass applies only
//! the layout changes the operators suggest, not the rest of tract's declutter
//! passes, which are already in the file and were half of the cold start.

use std::collections::HashSet;

use anyhow::Context;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::change_axes::AxisChange;
use tract_onnx::tract_core::optim::change_axes::change_axes;
use tract_onnx::tract_core::optim::{Optimizer, OptimizerSession, TypedPass};

/// The axis changes operators suggest for themselves (a depthwise convolution:
/// its channel axis last), each applied once, propagated through the graph.
#[derive(Clone, Debug, Default)]
struct SuggestedLayouts {
    tried: HashSet<AxisChange>,
    /// Nodes before this one have no suggestion left to try.
    from: usize,
}

impl TypedPass for SuggestedLayouts {
    fn reset(&mut self) -> TractResult<()> {
        self.tried.clear();
        self.from = 0;
        Ok(())
    }

    fn next(&mut self, _session: &mut OptimizerSession, model: &TypedModel) -> TractResult<Option<TypedModelPatch>> {
        let mut explored = HashSet::new();
        let mut interfaces = model.output_outlets()?.to_vec();
        interfaces.extend(model.input_outlets()?.iter());
        for node in &model.nodes[self.from..] {
            for (io, op) in node.op.suggested_axis_changes()? {
                let change = AxisChange {
                    outlet: io.as_outlet(node),
                    op,
                };
                if !self.tried.insert(change.clone()) {
                    continue;
                }
                if let Some((patch, _)) = change_axes(model, &change, &interfaces, &[], &mut explored)
                    .with_context(|| format!("changing the layout at {node}"))?
                {
                    self.from = node.id;
                    return Ok(Some(patch));
                }
            }
        }
        Ok(None)
    }
}

/// Applies the suggested layouts, then folds what they leave constant.
pub fn restore_layouts(model: &mut TypedModel) -> TractResult<()> {
    let mut optimizer = Optimizer::prop_consts();
    optimizer.add_pass(0, Box::<SuggestedLayouts>::default());
    model.optimize_with_session(&mut optimizer.session())
}
