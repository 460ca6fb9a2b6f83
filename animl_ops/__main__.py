import sys

from animl_ops.cli import main

sys.exit(main())
