/// Depthwise convolution along an axis the output is contiguous on: `len` output points, each
/// the bias plus every `taps[t] * input[offsets[t] + i * in_stride]`.
///
/// Same contract as the aarch64 and wasm kernels. The arithmetic is the scalar walk's, in the
/// same order: the bias, then one multiply and one add per tap. It uses no FMA, so every output
/// is bit-identical to the scalar path and a plan gives the same results with or without this
/// kernel. `in_stride == 1` is vectorised at any tap count; any other stride stays scalar.
///
/// # Safety
/// `input.offset(offsets[t] + i * in_stride)` must be readable for every tap and every `i` below
/// `len`, and `len` output points writable from `output`. The CPU must support AVX.
#[cfg(target_arch = "x86_64")]
pub unsafe fn depthwise_w_f32(
    input: *const f32,
    output: *mut f32,
    taps: &[f32],
    offsets: &[isize],
    bias: f32,
    len: usize,
    in_stride: isize,
) {
    unsafe {
        match in_stride {
            1 => contiguous(input, output, taps, offsets, bias, len),
            _ => scalar(input, output, taps, offsets, bias, 0, len, in_stride),
        }
    }
}

/// The `in_stride == 1` case, with the tap count taken at runtime.
///
/// Taps are the outer loop and 32 output points the inner one: four 8-lane accumulators give
/// the adder independent chains, and each tap's broadcast is paid once per 32 points. Real 3x3,
/// 7x7 or 9x9 kernels reach here with 9, 49 or 81 taps.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn contiguous(
    input: *const f32,
    output: *mut f32,
    taps: &[f32],
    offsets: &[isize],
    bias: f32,
    len: usize,
) {
    use std::arch::x86_64::*;
    unsafe {
        let biasv = _mm256_set1_ps(bias);
        let mut i = 0usize;
        while i + 32 <= len {
            let mut a0 = biasv;
            let mut a1 = biasv;
            let mut a2 = biasv;
            let mut a3 = biasv;
            for (tap, offset) in taps.iter().zip(offsets) {
                let k = _mm256_set1_ps(*tap);
                let p = input.offset(*offset).add(i);
                a0 = _mm256_add_ps(a0, _mm256_mul_ps(_mm256_loadu_ps(p), k));
                a1 = _mm256_add_ps(a1, _mm256_mul_ps(_mm256_loadu_ps(p.add(8)), k));
                a2 = _mm256_add_ps(a2, _mm256_mul_ps(_mm256_loadu_ps(p.add(16)), k));
                a3 = _mm256_add_ps(a3, _mm256_mul_ps(_mm256_loadu_ps(p.add(24)), k));
            }
            _mm256_storeu_ps(output.add(i), a0);
            _mm256_storeu_ps(output.add(i + 8), a1);
            _mm256_storeu_ps(output.add(i + 16), a2);
            _mm256_storeu_ps(output.add(i + 24), a3);
            i += 32;
        }
        while i + 8 <= len {
            let mut acc = biasv;
            for (tap, offset) in taps.iter().zip(offsets) {
                let x = _mm256_loadu_ps(input.offset(*offset).add(i));
                acc = _mm256_add_ps(acc, _mm256_mul_ps(x, _mm256_set1_ps(*tap)));
            }
            _mm256_storeu_ps(output.add(i), acc);
            i += 8;
        }
        scalar(input, output, taps, offsets, bias, i, len, 1);
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
unsafe fn scalar(
    input: *const f32,
    output: *mut f32,
    taps: &[f32],
    offsets: &[isize],
    bias: f32,
    from: usize,
    len: usize,
    in_stride: isize,
) {
    unsafe {
        for i in from..len {
            let mut sum = bias;
            for (tap, offset) in taps.iter().zip(offsets) {
                sum += tap * *input.offset(*offset + i as isize * in_stride);
            }
            *output.add(i) = sum;
        }
    }
}

bail_stub!(x86_64; pub unsafe fn depthwise_w_f32(
    *const f32, *mut f32, &[f32], &[isize], f32, usize, isize
));

submit_routine!(x86_64; DepthwiseWF32, DepthwiseW, "x86_64_avx_depthwise_w_f32", depthwise_w_f32,
    isa(X86_64Avx));

/// Depthwise convolution with the channel as the contiguous dim: `len` output positions of
/// `channels` channels each. Point `i`, channel `c`, is `bias[c]` plus every
/// `kernel[tap_indices[t] * k_stride + c] * input[i * in_stride + offsets[t] + c]`, the taps
/// accumulated in order with fused multiply-adds.
///
/// Same contract as the aarch64 and wasm kernels. Because the channel is the vector lane, every
/// stride, every tap count and every zone (padding borders included) runs vectorised: this is
/// what lets a plan move its depthwise convolutions channel-last on x86-64, as it does on arm64.
/// Channels run 32 at a time in four 8-lane accumulators, then 8 at a time, then one by one
/// with `mul_add`, so a channel's value does not depend on which of the three computed it.
///
/// # Safety
/// `input.offset(i * in_stride + offsets[t] + c)` and `kernel.add(tap_indices[t] * k_stride + c)`
/// must be readable for every tap, every `i` below `len` and every `c` below `channels`;
/// `channels` values must be readable from `bias`, and `channels` values writable from
/// `output.offset(i * out_stride)` for every `i` below `len`. The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn depthwise_c_f32(
    input: *const f32,
    output: *mut f32,
    kernel: *const f32,
    tap_indices: &[usize],
    offsets: &[isize],
    bias: *const f32,
    channels: usize,
    k_stride: usize,
    len: usize,
    in_stride: isize,
    out_stride: isize,
) {
    unsafe {
        channel_inner_fma(
            input,
            output,
            kernel,
            tap_indices,
            offsets,
            bias,
            channels,
            k_stride,
            len,
            in_stride,
            out_stride,
        )
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn channel_inner_fma(
    input: *const f32,
    output: *mut f32,
    kernel: *const f32,
    tap_indices: &[usize],
    offsets: &[isize],
    bias: *const f32,
    channels: usize,
    k_stride: usize,
    len: usize,
    in_stride: isize,
    out_stride: isize,
) {
    use std::arch::x86_64::*;
    unsafe {
        for i in 0..len {
            let iptr = input.offset(i as isize * in_stride);
            let optr = output.offset(i as isize * out_stride);
            let mut c = 0usize;
            while c + 32 <= channels {
                let mut a0 = _mm256_loadu_ps(bias.add(c));
                let mut a1 = _mm256_loadu_ps(bias.add(c + 8));
                let mut a2 = _mm256_loadu_ps(bias.add(c + 16));
                let mut a3 = _mm256_loadu_ps(bias.add(c + 24));
                for (&kix, &off) in tap_indices.iter().zip(offsets) {
                    let k = kernel.add(kix * k_stride + c);
                    let x = iptr.offset(off).add(c);
                    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(k), a0);
                    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x.add(8)), _mm256_loadu_ps(k.add(8)), a1);
                    a2 =
                        _mm256_fmadd_ps(_mm256_loadu_ps(x.add(16)), _mm256_loadu_ps(k.add(16)), a2);
                    a3 =
                        _mm256_fmadd_ps(_mm256_loadu_ps(x.add(24)), _mm256_loadu_ps(k.add(24)), a3);
                }
                _mm256_storeu_ps(optr.add(c), a0);
                _mm256_storeu_ps(optr.add(c + 8), a1);
                _mm256_storeu_ps(optr.add(c + 16), a2);
                _mm256_storeu_ps(optr.add(c + 24), a3);
                c += 32;
            }
            while c + 8 <= channels {
                let mut acc = _mm256_loadu_ps(bias.add(c));
                for (&kix, &off) in tap_indices.iter().zip(offsets) {
                    acc = _mm256_fmadd_ps(
                        _mm256_loadu_ps(iptr.offset(off).add(c)),
                        _mm256_loadu_ps(kernel.add(kix * k_stride + c)),
                        acc,
                    );
                }
                _mm256_storeu_ps(optr.add(c), acc);
                c += 8;
            }
            while c < channels {
                let mut sum = *bias.add(c);
                for (&kix, &off) in tap_indices.iter().zip(offsets) {
                    sum = (*iptr.offset(off).add(c)).mul_add(*kernel.add(kix * k_stride + c), sum);
                }
                *optr.add(c) = sum;
                c += 1;
            }
        }
    }
}

/// [`depthwise_c_f32`] on 16-lane registers: channels run 64 at a time, then 16 at a time, and
/// what is left goes to the 8-lane kernel, which takes the same steps in the same order, so the
/// two agree bit for bit.
///
/// # Safety
/// As [`depthwise_c_f32`]; the CPU must support AVX-512F as well.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn depthwise_c_f32_avx512(
    input: *const f32,
    output: *mut f32,
    kernel: *const f32,
    tap_indices: &[usize],
    offsets: &[isize],
    bias: *const f32,
    channels: usize,
    k_stride: usize,
    len: usize,
    in_stride: isize,
    out_stride: isize,
) {
    unsafe {
        let wide = channels / 16 * 16;
        channel_inner_avx512(
            input,
            output,
            kernel,
            tap_indices,
            offsets,
            bias,
            wide,
            k_stride,
            len,
            in_stride,
            out_stride,
        );
        if wide < channels {
            channel_inner_fma(
                input.add(wide),
                output.add(wide),
                kernel.add(wide),
                tap_indices,
                offsets,
                bias.add(wide),
                channels - wide,
                k_stride,
                len,
                in_stride,
                out_stride,
            )
        }
    }
}

/// The channels of [`depthwise_c_f32_avx512`], a multiple of 16: four output positions at a
/// time (then two, then one), each run of channels as 64, then 32, then 16 at a time. Taken
/// one position and 16 channels at a time, a sum is one chain of multiply-adds, each waiting on
/// the one before; side by side, the chains overlap and each tap's kernel values serve every
/// position.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn channel_inner_avx512(
    input: *const f32,
    output: *mut f32,
    kernel: *const f32,
    tap_indices: &[usize],
    offsets: &[isize],
    bias: *const f32,
    channels: usize,
    k_stride: usize,
    len: usize,
    in_stride: isize,
    out_stride: isize,
) {
    #[target_feature(enable = "avx512f")]
    unsafe fn positions<const P: usize>(
        input: *const f32,
        output: *mut f32,
        taps: &Taps,
        channels: usize,
        i: usize,
        in_stride: isize,
        out_stride: isize,
    ) {
        let at = |p: usize| (i + p) as isize;
        let inputs: [*const f32; P] =
            std::array::from_fn(|p| unsafe { input.offset(at(p) * in_stride) });
        let outputs: [*mut f32; P] =
            std::array::from_fn(|p| unsafe { output.offset(at(p) * out_stride) });
        let mut c = 0;
        unsafe {
            while c + 64 <= channels {
                blocks_avx512::<4, P>(inputs, outputs, taps, c);
                c += 64;
            }
            if c + 32 <= channels {
                blocks_avx512::<2, P>(inputs, outputs, taps, c);
                c += 32;
            }
            if c + 16 <= channels {
                blocks_avx512::<1, P>(inputs, outputs, taps, c);
            }
        }
    }
    let taps = Taps { kernel, tap_indices, offsets, bias, k_stride };
    let mut i = 0;
    unsafe {
        while i + 4 <= len {
            positions::<4>(input, output, &taps, channels, i, in_stride, out_stride);
            i += 4;
        }
        if i + 2 <= len {
            positions::<2>(input, output, &taps, channels, i, in_stride, out_stride);
            i += 2;
        }
        if i < len {
            positions::<1>(input, output, &taps, channels, i, in_stride, out_stride);
        }
    }
}

/// What every output position of one [`depthwise_c_f32_avx512`] call shares.
#[cfg(target_arch = "x86_64")]
struct Taps<'a> {
    kernel: *const f32,
    tap_indices: &'a [usize],
    offsets: &'a [isize],
    bias: *const f32,
    k_stride: usize,
}

/// `B` blocks of 16 channels from `c` for `P` output positions: `B * P` independent sums, each
/// tap's `B` kernel registers loaded once for all `P`. Each sum takes the taps in order with one
/// fused multiply-add each, as the one-at-a-time loop did.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn blocks_avx512<const B: usize, const P: usize>(
    inputs: [*const f32; P],
    outputs: [*mut f32; P],
    taps: &Taps,
    c: usize,
) {
    use std::arch::x86_64::*;
    unsafe {
        let bias: [__m512; B] = std::array::from_fn(|b| _mm512_loadu_ps(taps.bias.add(c + 16 * b)));
        let mut sums = [bias; P];
        for (&kix, &off) in taps.tap_indices.iter().zip(taps.offsets) {
            let k = taps.kernel.add(kix * taps.k_stride + c);
            let weights: [__m512; B] = std::array::from_fn(|b| _mm512_loadu_ps(k.add(16 * b)));
            for (sums, input) in sums.iter_mut().zip(inputs) {
                let x = input.offset(off).add(c);
                for (b, sum) in sums.iter_mut().enumerate() {
                    *sum = _mm512_fmadd_ps(_mm512_loadu_ps(x.add(16 * b)), weights[b], *sum);
                }
            }
        }
        for (sums, output) in sums.iter().zip(outputs) {
            for (b, sum) in sums.iter().enumerate() {
                _mm512_storeu_ps(output.add(c + 16 * b), *sum);
            }
        }
    }
}

bail_stub!(x86_64; pub unsafe fn depthwise_c_f32_avx512(
    *const f32, *mut f32, *const f32, &[usize], &[isize], *const f32, usize, usize, usize, isize,
    isize
));

submit_routine!(x86_64; DepthwiseCF32, DepthwiseC, "x86_64_avx512_depthwise_c_f32",
    depthwise_c_f32_avx512, isa(X86_64Avx512f, X86_64Avx2, X86_64Fma));

bail_stub!(x86_64; pub unsafe fn depthwise_c_f32(
    *const f32, *mut f32, *const f32, &[usize], &[isize], *const f32, usize, usize, usize, isize,
    isize
));

submit_routine!(x86_64; DepthwiseCF32, DepthwiseC, "x86_64_fma_depthwise_c_f32", depthwise_c_f32,
    isa(X86_64Avx2, X86_64Fma));

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    fn reference(
        input: &[f32],
        taps: &[f32],
        offsets: &[isize],
        bias: f32,
        len: usize,
        in_stride: isize,
        center: usize,
    ) -> Vec<f32> {
        (0..len)
            .map(|i| {
                taps.iter().zip(offsets).fold(bias, |sum, (tap, offset)| {
                    sum + tap * input[(center as isize + offset + i as isize * in_stride) as usize]
                })
            })
            .collect()
    }

    fn compare(taps: usize, len: usize, in_stride: isize) {
        if !std::is_x86_feature_detected!("avx") {
            return;
        }
        let k: Vec<f32> = (0..taps).map(|t| (t as f32 * 0.7).sin()).collect();
        let offsets: Vec<isize> = (0..taps as isize).map(|t| t - taps as isize / 2).collect();
        let center = taps;
        let input: Vec<f32> = (0..center * 2 + len * in_stride as usize + 1)
            .map(|i| (i as f32 * 0.37).cos())
            .collect();
        let expected = reference(&input, &k, &offsets, 0.25, len, in_stride, center);
        let mut output = vec![0f32; len];
        unsafe {
            depthwise_w_f32(
                input.as_ptr().add(center),
                output.as_mut_ptr(),
                &k,
                &offsets,
                0.25,
                len,
                in_stride,
            )
        };
        // Same operations in the same order: the results must match bit for bit.
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&output), bits(&expected), "taps {taps} len {len} stride {in_stride}");
    }

    /// Runs the channel-inner kernel on channels `block` of a `channels`-wide image with
    /// `taps` taps, `len` output positions and an input stride of `s` positions, and checks it
    /// against the contract's sum, fused in the same order, bit for bit. Channels outside the
    /// block must be left alone.
    fn compare_c(
        taps: usize,
        channels: usize,
        block: std::ops::Range<usize>,
        len: usize,
        s: isize,
    ) {
        if !(std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")) {
            return;
        }
        let kernel: Vec<f32> = (0..taps * channels).map(|i| (i as f32 * 0.7).sin()).collect();
        // Taps in another order than the kernel's, as a padding border hands them over.
        let tap_indices: Vec<usize> = (0..taps).rev().collect();
        let offsets: Vec<isize> =
            (0..taps as isize).map(|t| (t - taps as isize / 2) * channels as isize).collect();
        let bias: Vec<f32> = (0..channels).map(|i| i as f32 * 0.05 - 0.1).collect();
        let in_stride = channels as isize * s;
        let out_stride = channels as isize;
        let center = (taps / 2) * channels;
        let input: Vec<f32> =
            (0..center + len.saturating_sub(1) * in_stride as usize + (taps - taps / 2) * channels)
                .map(|i| (i as f32 * 0.11).cos())
                .collect();
        let out_len = len * channels;
        let mut want: Vec<f32> = (0..out_len).map(|i| i as f32).collect();
        for i in 0..len {
            for c in block.clone() {
                let mut sum = bias[c];
                for (t, &kix) in tap_indices.iter().enumerate() {
                    let x =
                        input[(center as isize + i as isize * in_stride + offsets[t]) as usize + c];
                    sum = x.mul_add(kernel[kix * channels + c], sum);
                }
                want[i * channels + c] = sum;
            }
        }
        let kernels: [(&str, crate::routines::DepthwiseCF32, bool); 2] = [
            ("fma", depthwise_c_f32, true),
            ("avx512", depthwise_c_f32_avx512, std::is_x86_feature_detected!("avx512f")),
        ];
        for (name, run, runnable) in kernels {
            if !runnable {
                continue;
            }
            let mut got: Vec<f32> = (0..out_len).map(|i| i as f32).collect();
            for i in 0..len {
                got[i * channels..][block.clone()].fill(f32::NAN);
            }
            unsafe {
                run(
                    input.as_ptr().add(center + block.start),
                    got.as_mut_ptr().add(block.start),
                    kernel.as_ptr().add(block.start),
                    &tap_indices,
                    &offsets,
                    bias.as_ptr().add(block.start),
                    block.len(),
                    channels,
                    len,
                    in_stride,
                    out_stride,
                )
            };
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&got),
                bits(&want),
                "{name}: taps {taps} channels {channels} block {block:?} len {len} stride {s}"
            );
        }
    }

    #[test]
    fn channel_inner_matches_the_fused_sum_bit_for_bit() {
        for taps in [1, 2, 4, 6, 9, 25] {
            for channels in [1, 3, 8, 15, 16, 24, 32, 33, 40, 64, 80, 96, 100, 144] {
                for len in [0, 1, 2, 5, 19] {
                    for s in [1, 2, 3] {
                        compare_c(taps, channels, 0..channels, len, s);
                    }
                }
            }
        }
    }

    #[test]
    fn channel_inner_runs_a_block_of_channels_on_its_own() {
        for (channels, block) in
            [(96, 16..48), (100, 32..100), (40, 33..40), (64, 0..8), (144, 16..144)]
        {
            for s in [1, 2] {
                compare_c(9, channels, block.clone(), 7, s);
            }
        }
    }

    #[test]
    fn registered_as_this_hosts_channel_inner_kernel() {
        let chosen = crate::routines::best_for(
            crate::routines::Func::DepthwiseC,
            tract_data::prelude::DatumType::F32,
            &crate::isa::native(),
        )
        .map(|routine| routine.name());
        if std::is_x86_feature_detected!("avx512f") {
            assert_eq!(chosen, Some("x86_64_avx512_depthwise_c_f32"));
        } else if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            assert_eq!(chosen, Some("x86_64_fma_depthwise_c_f32"));
        }
        assert_eq!(chosen.is_some(), crate::routines::depthwise_c_f32().is_some());
    }

    #[test]
    fn matches_scalar_bit_for_bit() {
        for taps in [1, 2, 3, 4, 5, 9, 25, 49, 81] {
            for len in [0, 1, 7, 8, 9, 31, 32, 33, 64, 100, 224] {
                compare(taps, len, 1);
                compare(taps, len, 2);
            }
        }
    }
}
