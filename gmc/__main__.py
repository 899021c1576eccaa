"""``python -m gmc`` is the ``gmc`` command."""
import sys

from gmc.cli import main

sys.exit(main())
