"""The model converter: what a model developer hands over (ONNX, TorchScript, PyTorch code and
weights, a YOLOv5 checkpoint, Keras) to the ONNX graph `animl-serve` runs, always with a parity
report, and optionally calibrated INT8. A build-time tool: its torch and TensorFlow come from
requirements/convert.txt (`make setup-convert`), never into the runtime image or the CDK app.

    python -m animl_convert MODEL SOURCE --from FORMAT --out DIR [options]
"""
