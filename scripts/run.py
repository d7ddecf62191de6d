"""`make run`: sets up the stores and broker, then serves every service that exists.

(The demo workload, the reference court client and demo tokens join as they land.)
"""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIAOJIE = [sys.executable, "-m", "services.cli"]


def main():
    if subprocess.call([*TIAOJIE, "setup"], cwd=ROOT) != 0:
        return 1
    serve = subprocess.Popen([*TIAOJIE, "serve", "all"], cwd=ROOT, env=dict(os.environ))
    try:
        return serve.wait()
    except KeyboardInterrupt:
        serve.terminate()
        return serve.wait()


if __name__ == "__main__":
    sys.exit(main())
