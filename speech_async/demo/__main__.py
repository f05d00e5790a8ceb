import sys

from speech_async.demo import main

sys.exit(main())
