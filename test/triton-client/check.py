"""Triton's own Python HTTP client (tritonclient.http) against a running `fogline cloud --no-auth`.

Called by run.sh: `python3 check.py <host:port> <model>`. Exercises what a Triton user calls: health,
server and model metadata, get_model_config, JSON and binary infer, batch 8, async infer, request and
response compression (gzip, deflate), statistics, the repository index, load_model with a config
override (applied, round-tripped, refused), unload/load, and errors. Prints one line per check and
exits non-zero if any failed.
"""

import json
import sys
import time

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

URL, MODEL = sys.argv[1], sys.argv[2]
client = httpclient.InferenceServerClient(url=URL, concurrency=4)
failures = []


def check(name, fn):
    try:
        detail = fn()
        print(f"PASS {name}" + (f": {detail}" if detail else ""))
    except Exception as e:  # noqa: BLE001 - every failure is reported, then the next check runs
        failures.append(name)
        print(f"FAIL {name}: {type(e).__name__}: {e}")


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def raises(fn, pattern):
    try:
        fn()
    except InferenceServerException as e:
        expect(pattern in str(e), f"error {str(e)!r} lacks {pattern!r}")
        return str(e)
    raise AssertionError("no error raised")


rng = np.random.default_rng(7)
images = rng.random((8, 1, 28, 28), dtype=np.float32)


def infer(batch, binary, **kwargs):
    inp = httpclient.InferInput("image", [batch, 1, 28, 28], "FP32")
    inp.set_data_from_numpy(images[:batch], binary_data=binary)
    out = httpclient.InferRequestedOutput("logits", binary_data=binary)
    return client.infer(MODEL, [inp], outputs=[out], request_id="r1", **kwargs)


for _ in range(100):
    try:
        if client.is_server_ready():
            break
    except Exception:  # noqa: BLE001 - not listening yet
        pass
    time.sleep(0.2)

check("is_server_live / is_server_ready", lambda: expect(client.is_server_live() and client.is_server_ready(), "not ready"))
check("get_server_metadata", lambda: client.get_server_metadata()["extensions"])
check("is_model_ready", lambda: expect(client.is_model_ready(MODEL) and client.is_model_ready(MODEL, "1"), "not ready"))
check("get_model_metadata", lambda: client.get_model_metadata(MODEL)["inputs"])


def model_config():
    c = client.get_model_config(MODEL)
    expect(c["platform"] == "onnxruntime_onnx" and c["backend"] == "onnxruntime", c)
    expect(c["input"][0]["data_type"] == "TYPE_FP32" and c["input"][0]["dims"] == [1, 28, 28], c["input"])
    expect(c["output"][0]["dims"] == [10], c["output"])
    expect(c["instance_group"][0]["kind"] == "KIND_CPU", c["instance_group"])
    expect("max_queue_delay_microseconds" in c["dynamic_batching"], c["dynamic_batching"])
    expect(client.get_model_config(MODEL, "1") == c, "versioned config differs")
    return f"max_batch_size={c['max_batch_size']} dynamic_batching={c['dynamic_batching']}"


check("get_model_config", model_config)

reference = {}


def json_and_binary():
    j = infer(8, False).as_numpy("logits")
    b = infer(8, True).as_numpy("logits")
    expect(j.shape == (8, 10) and b.shape == (8, 10), (j.shape, b.shape))
    expect(np.allclose(j, b, atol=1e-6), "JSON and binary results differ")
    reference["logits"] = b
    return f"batch 8, argmax {b.argmax(axis=1).tolist()}"


check("infer JSON and binary, batch 8", json_and_binary)
check("infer response id", lambda: expect(infer(1, True).get_response()["id"] == "r1", "id not echoed"))


def async_infer():
    inp = httpclient.InferInput("image", [2, 1, 28, 28], "FP32")
    inp.set_data_from_numpy(images[:2])
    handles = [client.async_infer(MODEL, [inp]) for _ in range(8)]
    for h in handles:
        expect(np.allclose(h.get_result().as_numpy("logits"), reference["logits"][:2], atol=1e-6), "async differs")
    return "8 in flight"


check("async_infer", async_infer)

for req in (None, "gzip", "deflate"):
    for resp in (None, "gzip", "deflate"):
        if req is None and resp is None:
            continue

        def compressed(req=req, resp=resp):
            for binary in (True, False):
                r = infer(8, binary, request_compression_algorithm=req, response_compression_algorithm=resp)
                expect(np.allclose(r.as_numpy("logits"), reference["logits"], atol=1e-6), "results differ")

        check(f"infer request_compression={req} response_compression={resp}", compressed)


def statistics():
    s = client.get_inference_statistics(MODEL)["model_stats"][0]
    keys = set(s["inference_stats"])
    want = {"success", "fail", "queue", "compute_input", "compute_infer", "compute_output", "cache_hit", "cache_miss"}
    expect(want <= keys, f"missing {want - keys}")
    expect(s["inference_stats"]["compute_input"]["count"] > 0, s["inference_stats"])
    expect(all({"compute_input", "compute_infer", "compute_output"} <= set(b) for b in s["batch_stats"]), s["batch_stats"])
    return f"success={s['inference_stats']['success']} batches={[b['batch_size'] for b in s['batch_stats']]}"


check("get_inference_statistics", statistics)
check("get_model_repository_index", lambda: client.get_model_repository_index())


def load_override():
    override = {"max_batch_size": 4, "dynamic_batching": {"preferred_batch_size": [2, 4], "max_queue_delay_microseconds": 500}}
    client.load_model(MODEL, config=json.dumps(override))
    c = client.get_model_config(MODEL)
    expect(c["max_batch_size"] == 4 and c["dynamic_batching"]["preferred_batch_size"] == [2, 4], c)
    expect(c["dynamic_batching"]["max_queue_delay_microseconds"] == 500, c["dynamic_batching"])
    msg = raises(lambda: infer(8, True), "outside 1..4")
    infer(4, True)
    client.load_model(MODEL, config=json.dumps(c))  # get_model_config -> load_model round trip
    expect(client.get_model_config(MODEL) == c, "round trip changed the config")
    client.load_model(MODEL)
    expect(client.get_model_config(MODEL)["max_batch_size"] != 4, "plain load kept the override")
    return f"applied; batch 8 then refused: {msg}"


check("load_model(config=...) applied", load_override)


def load_refused():
    a = raises(lambda: client.load_model(MODEL, config=json.dumps({"max_batch_size": 0})), "max_batch_size")
    b = raises(
        lambda: client.load_model(MODEL, config=json.dumps({"instance_group": [{"kind": "KIND_GPU", "count": 1}]})),
        "KIND_CPU",
    )
    c = raises(lambda: client.load_model(MODEL, config=json.dumps({"sequence_batching": {}})), "not supported")
    expect(client.is_model_ready(MODEL), "model stopped serving")
    return f"{a} | {b} | {c}"


check("load_model(config=...) refused with the reason", load_refused)


def unload_load():
    client.unload_model(MODEL)
    expect(not client.is_model_ready(MODEL), "still ready after unload")
    client.load_model(MODEL)
    expect(client.is_model_ready(MODEL), "not ready after load")


check("unload_model / load_model", unload_load)


def errors():
    one = httpclient.InferInput("image", [1, 1, 28, 28], "FP32")
    one.set_data_from_numpy(images[:1])
    a = raises(lambda: client.infer("nope", [one]), "unknown model")
    b = raises(lambda: client.get_model_config("nope"), "unknown model")
    c = raises(lambda: client.load_model("ghost"), "unknown model")
    expect("/tmp" not in c and "/work" not in c and "/home" not in c, f"server path in {c!r}")
    bad = httpclient.InferInput("image", [1, 28, 28], "FP32")
    bad.set_data_from_numpy(images[0])
    d = raises(lambda: client.infer(MODEL, [bad]), "expects")
    return f"{a} | {b} | {c} | {d}"


check("errors", errors)

client.close()
print(f"{'FAILED ' + ', '.join(failures) if failures else 'ALL PASSED'}")
sys.exit(1 if failures else 0)
