import sys

from otel_mon.cli import main

sys.exit(main())
