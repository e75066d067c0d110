"""Times onnxruntime on the person-detector model with one thread, on an input
tensor written by the Rust benchmark, so both runtimes see identical input.

Prints one JSON object on loading (version, load time, max person score), then
serves the benchmark's rounds: for each line read (a number of runs) it runs
that many inferences and prints their times as one JSON list, until stdin
closes. The benchmark alternates these rounds with tract's, so both runtimes
are timed under the same load."""
import json
import sys
import time

import numpy as np
import onnxruntime as ort

model, input_path = sys.argv[1], sys.argv[2]
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
    outputs = session.run(None, {name: tensor})
logits = outputs[1]
score = float((1 / (1 + np.exp(-logits[0, :, 1]))).max())
print(json.dumps({"version": ort.__version__, "load_ms": load_ms, "score": score}), flush=True)
for line in sys.stdin:
    times = []
    for _ in range(int(line)):
        started = time.perf_counter()
        session.run(None, {name: tensor})
        times.append((time.perf_counter() - started) * 1000)
    print(json.dumps(times), flush=True)
