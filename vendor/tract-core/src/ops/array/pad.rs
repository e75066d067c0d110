use crate::internal::*;

/// How a padded region is filled. A `Constant` value carries a single element
/// in the datum type the model builder gave it, f32 for a float graph, and no
/// pass retypes it: a consumer casts it to the datum type of the tensor it pads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PadMode {
    Constant(Arc<Tensor>),
    Reflect,
    Edge,
}

impl Default for PadMode {
    fn default() -> PadMode {
        PadMode::Constant(Arc::new(0.0f32.into()))
    }
}

#[derive(Debug, Clone, new, Default, Hash, PartialEq, Eq)]
pub struct Pad {
    pub pads: Vec<(usize, usize)>,
    pub mode: PadMode,
}

impl Pad {
    fn eval_t<T>(&self, input_tensor: TValue) -> TractResult<TValue>
    where
        T: Copy + Datum,
    {
        use tract_ndarray::*;
        let input = input_tensor.to_plain_array_view::<T>()?;
        let output_shape: Vec<usize> =
            input.shape().iter().zip(self.pads.iter()).map(|(&d, &(a, b))| d + a + b).collect();
        let element = match &self.mode {
            PadMode::Constant(f) => f.cast_to_scalar::<T>()?,
            _ => T::default(),
        };
        let mut output = ArrayD::<T>::from_elem(output_shape, element);
        if let (PadMode::Constant(_), Some(data), Some(out)) =
            (&self.mode, input.as_slice(), output.as_slice_mut())
        {
            Self::copy_rows(input.shape(), &self.pads, data, out);
        } else {
            let slice_spec: Vec<SliceInfoElem> = self
                .pads
                .iter()
                .map(|&(a, b)| SliceInfoElem::Slice {
                    start: a as isize,
                    end: if b != 0 { Some(-(b as isize)) } else { None },
                    step: 1,
                })
                .collect();
            let slice_info = SliceInfo::<_, IxDyn, IxDyn>::try_from(slice_spec).unwrap();
            output.slice_mut(slice_info.as_ref()).assign(&input);
        }
        if self.mode == PadMode::Reflect || self.mode == PadMode::Edge {
            for (ax, &(bef, aft)) in self.pads.iter().enumerate() {
                let axis = Axis(ax);
                let dim = output.shape()[ax];
                {
                    let (mut pad, data) = output.view_mut().split_at(axis, bef);
                    for i in 0..bef {
                        let mut target = pad.slice_axis_mut(axis, Slice::from(i..i + 1));
                        let source_slice = match self.mode {
                            PadMode::Edge => 0,
                            PadMode::Reflect => bef - i,
                            _ => panic!(),
                        };
                        let source =
                            data.slice_axis(axis, Slice::from(source_slice..source_slice + 1));
                        target.assign(&source);
                    }
                }
                {
                    let (data, mut pad) = output.view_mut().split_at(axis, dim - aft);
                    for i in 0..aft {
                        let mut target = pad.slice_axis_mut(axis, Slice::from(i..i + 1));
                        let source_slice = match self.mode {
                            PadMode::Edge => dim - aft - 1,
                            PadMode::Reflect => dim - aft - 2 - i,
                            _ => panic!(),
                        };
                        let source =
                            data.slice_axis(axis, Slice::from(source_slice..source_slice + 1));
                        target.assign(&source);
                    }
                }
            }
        }
        let mut output = output.into_tensor();
        unsafe { output.set_datum_type(input_tensor.datum_type()) }
        Ok(output.into_tvalue())
    }

    /// Copies a row-major input into its place in a row-major output already
    /// filled with the constant: from the last padded axis in, a row of the
    /// input is one contiguous run in both (a 300x300x3 image padded on its
    /// height and width: 300 runs of 900 values), so each is one copy where
    /// ndarray's strided assignment went three values at a time.
    fn copy_rows<T: Copy>(shape: &[usize], pads: &[(usize, usize)], input: &[T], output: &mut [T]) {
        let Some(last) = pads.iter().rposition(|&(before, after)| before + after > 0) else {
            output.copy_from_slice(input);
            return;
        };
        let run: usize = shape[last..].iter().product();
        if run == 0 {
            return;
        }
        let padded: Vec<usize> = shape.iter().zip(pads).map(|(d, (b, a))| d + b + a).collect();
        let mut strides = vec![1usize; shape.len()];
        for axis in (0..shape.len().saturating_sub(1)).rev() {
            strides[axis] = strides[axis + 1] * padded[axis + 1];
        }
        // Axes after `last` are not padded: the run is contiguous in the output too.
        for (row, source) in input.chunks_exact(run).enumerate() {
            let mut at = pads[last].0 * strides[last];
            let mut rest = row;
            for axis in (0..last).rev() {
                at += (rest % shape[axis] + pads[axis].0) * strides[axis];
                rest /= shape[axis];
            }
            output[at..][..run].copy_from_slice(source);
        }
    }
}

impl Op for Pad {
    fn name(&self) -> StaticName {
        "Pad".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("Mode: {:?}, pads: {:?})", self.mode, self.pads,)])
    }

    op_as_typed_op!();
}

impl EvalOp for Pad {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        Ok(tvec!(dispatch_numbers!(Self::eval_t(input.datum_type())(self, input))?))
    }
}

impl TypedOp for Pad {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut fact = inputs[0].without_value();
        if self.pads.len() != fact.rank() {
            bail!("Inconsistent pad: input of rank {}, pads are: {:?}", fact.rank(), self.pads);
        }
        for (ix, (b, e)) in self.pads.iter().enumerate() {
            fact.shape.set(ix, fact.shape[ix].clone() + *b + *e);
        }
        Ok(tvec!(fact))
    }

    fn input_roi(
        &self,
        model: &TypedModel,
        node: &TypedNode,
    ) -> TractResult<Option<TVec<Option<TDim>>>> {
        let output_fact = model.outlet_fact(OutletId::new(node.id, 0))?;
        rule_if_some!(roi = &output_fact.region_of_interest);
        // For each padded axis, substitute 🎯axis → 🎯axis - before
        let mut input_roi = roi.clone();
        for (axis, &(before, _)) in self.pads.iter().enumerate() {
            if before == 0 {
                continue;
            }
            if let Some(sym) = input_roi
                .symbols()
                .into_iter()
                .find(|s| crate::ops::logic::sym_to_coord_axis(s) == Some(axis))
            {
                let shifted = TDim::Sym(sym.clone()) - TDim::Val(before as i64);
                input_roi = input_roi.substitute(&sym, &shifted).unwrap_or(input_roi);
            }
        }
        Ok(Some(tvec![Some(input_roi)]))
    }

    fn axes_mapping(
        &self,
        inputs: &[&TypedFact],
        outputs: &[&TypedFact],
    ) -> TractResult<AxesMapping> {
        let mut result = AxesMapping::disconnected(inputs, outputs)?;
        for (ix, pads) in self.pads.iter().enumerate() {
            if pads == &(0, 0) {
                result = result.linking((InOut::In(0), ix), (InOut::Out(0), ix))?;
            }
        }
        Ok(result)
    }

    fn change_axes(
        &self,
        model: &TypedModel,
        node: &TypedNode,
        io: InOut,
        change: &AxisOp,
    ) -> TractResult<Option<AxisChangeConsequence>> {
        let mut new_op = self.clone();
        if let (InOut::In(0), AxisOp::Rm(ix)) = (io, change)
            && new_op.pads.remove(*ix) == (0, 0)
        {
            return Ok(Some(AxisChangeConsequence::new(
                model,
                node,
                Some(Box::new(new_op)),
                change,
            )));
        }
        if let (InOut::In(0), AxisOp::Add(ix)) = (io, change) {
            new_op.pads.insert(*ix, (0, 0));
            return Ok(Some(AxisChangeConsequence::new(
                model,
                node,
                Some(Box::new(new_op)),
                change,
            )));
        }
        Ok(None)
    }

    fn declutter(
        &self,
        model: &TypedModel,
        node: &TypedNode,
    ) -> TractResult<Option<TypedModelPatch>> {
        if self.pads.iter().all(|p| p.0 == 0 && p.1 == 0) {
            TypedModelPatch::shunt_one_op(model, node)
        } else {
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The padded tensor by coordinates, one value at a time.
    fn reference(shape: &[usize], pads: &[(usize, usize)], input: &[f32], fill: f32) -> Vec<f32> {
        let padded: Vec<usize> = shape.iter().zip(pads).map(|(d, (b, a))| d + b + a).collect();
        let input = tract_ndarray::ArrayViewD::from_shape(shape, input).unwrap();
        tract_ndarray::ArrayD::from_shape_fn(padded, |at| {
            let inside: Option<Vec<usize>> = (0..shape.len())
                .map(|ax| at[ax].checked_sub(pads[ax].0).filter(|x| *x < shape[ax]))
                .collect();
            inside.map(|at| input[&*at]).unwrap_or(fill)
        })
        .into_raw_vec_and_offset()
        .0
    }

    /// Constant padding copies rows in place of ndarray's strided assignment,
    /// the same values wherever the pads fall: the detector's image
    /// (height and width after), leading and trailing axes, none, empty.
    #[test]
    fn constant_padding_puts_every_value_in_its_place() -> TractResult<()> {
        let cases: [(&[usize], &[(usize, usize)]); 7] = [
            (&[1, 5, 4, 3], &[(0, 0), (0, 1), (0, 1), (0, 0)]),
            (&[2, 3, 4], &[(1, 2), (0, 0), (3, 1)]),
            (&[2, 3, 4], &[(0, 0), (2, 0), (0, 0)]),
            (&[3, 4], &[(0, 0), (0, 0)]),
            (&[6], &[(2, 3)]),
            (&[2, 0, 3], &[(1, 1), (0, 0), (1, 0)]),
            (&[1, 2, 2, 2, 2], &[(1, 0), (0, 1), (1, 0), (0, 1), (1, 1)]),
        ];
        for (shape, pads) in cases {
            let values: Vec<f32> = (0..shape.iter().product::<usize>()).map(|i| i as f32).collect();
            let input = Tensor::from_shape(shape, &values)?;
            let pad = Pad::new(pads.to_vec(), PadMode::Constant(rctensor0(-1f32)));
            let output = pad.eval_t::<f32>(input.into_tvalue())?;
            let expected = reference(shape, pads, &values, -1.0);
            assert_eq!(
                output.to_plain_array_view::<f32>()?.iter().copied().collect::<Vec<_>>(),
                expected,
                "{shape:?} {pads:?}"
            );
        }
        Ok(())
    }
}
