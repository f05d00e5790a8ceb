import sys

from speech_async.cli import main

sys.exit(main())
