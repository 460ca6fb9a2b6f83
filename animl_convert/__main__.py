import sys

from checkout import RUNTIME_DIR

# The inputs are prepared, and detector outputs decoded, by the runtime's own code.
sys.path.insert(0, str(RUNTIME_DIR))

from animl_convert.cli import app

app(prog_name="python -m animl_convert")
