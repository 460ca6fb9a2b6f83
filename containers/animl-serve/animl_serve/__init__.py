"""animl-serve: one SageMaker serving runtime for Animl's camera-trap models (ONNX Runtime)."""
