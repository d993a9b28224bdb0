import sys

from rig.cli.main import main

sys.exit(main())
