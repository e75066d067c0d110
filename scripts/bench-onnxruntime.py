"""Times onnxruntime on the person-detector model with one thread, on an input
tensor written by the Rust benchmark, so both runtimes see identical input.
Prints one JSON object: load time, per-inference times, and the max person score."""
import json
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort

model, input_path, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
started = time.perf_counter()
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
load_ms = (time.perf_counter() - started) * 1000
tensor = np.fromfile(input_path, dtype=np.float32).reshape(1, 300, 300, 3)
name = session.get_inputs()[0].name
for _ in range(3):
    session.run(None, {name: tensor})
times = []
for _ in range(runs):
    started = time.perf_counter()
    outputs = session.run(None, {name: tensor})
    times.append((time.perf_counter() - started) * 1000)
logits = outputs[1]
score = float((1 / (1 + np.exp(-logits[0, :, 1]))).max())
print(json.dumps({
    "version": ort.__version__,
    "load_ms": load_ms,
    "min_ms": min(times),
    "median_ms": statistics.median(times),
    "p90_ms": sorted(times)[int(len(times) * 0.9) - 1],
    "score": score,
}))
