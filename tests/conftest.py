"""Shared test setup: fake AWS credentials so nothing can reach a real account, and a state
directory of the suite's own so the stacks it starts never replace the engineer's `make local`
record (.loyalty/local.json)."""

import atexit
import os
import shutil
import tempfile

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Loyalty",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)
for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(var, None)

_STATE_DIR = tempfile.mkdtemp(prefix="loyalty-test-state-")
os.environ["LOYALTY_STATE_DIR"] = _STATE_DIR  # tools/loyalty_tools/local.py STATE_DIR_ENV
atexit.register(shutil.rmtree, _STATE_DIR, True)
