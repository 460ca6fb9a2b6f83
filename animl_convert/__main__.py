import sys

from animl_ops.local_runtime import RUNTIME_DIR

# The parity check decodes detector outputs with the runtime's own geometry.
sys.path.insert(0, str(RUNTIME_DIR))

from animl_convert.cli import app

app(prog_name="python -m animl_convert")
