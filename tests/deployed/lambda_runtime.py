"""A stand-in for the Lambda Python runtime, run by tests/deployed in a fresh venv with `python -I`.

Standard library only: this file must not bring anything of the repository with it. Lambda's layout is
given on the command line: the task root (the function's code asset, also the working directory), the
folder playing /opt/python (the layers' python/ folders, merged as Lambda extracts them) and the
handler as the template names it ("handler.handler"). sys.path is set as Lambda sets it: task root,
then the layers, then the runtime's own packages (this venv's site-packages: boto3 and the packages of
the Powertools layer).

Protocol: one JSON event per line on stdin; one JSON line per answer on the file descriptor given as
`--answers-fd` ({"result": ...} or {"error": type, "message": ...}). The function's own output (logs,
EMF metrics) goes to stdout and stderr, as in Lambda, where the tests read it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import traceback
import uuid


class Context:
    """The attributes of the Lambda context object that Powertools reads."""

    def __init__(self, function_name: str, memory_mb: int, timeout_s: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        region = os.environ.get("AWS_REGION", "eu-west-1")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "deployed-artefact-test"
        self._timeout_ms = timeout_s * 1000

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout_ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--task-root", required=True)
    parser.add_argument("--opt-python", required=True)
    parser.add_argument("--handler", required=True)
    parser.add_argument("--answers-fd", type=int, required=True)
    args = parser.parse_args()

    runtime_packages = [p for p in sys.path if p.endswith("site-packages")]
    stdlib = [p for p in sys.path if p and not p.endswith("site-packages")]
    sys.path[:] = [args.task_root, args.opt_python, *stdlib, *runtime_packages]
    os.chdir(args.task_root)

    module_name, attribute = args.handler.rsplit(".", 1)
    answers = os.fdopen(args.answers_fd, "w", buffering=1)
    try:
        handler = getattr(importlib.import_module(module_name), attribute)  # the init phase
    except BaseException as exc:  # an init failure is what the test is for: report it, do not hide it
        failure = {"init_error": type(exc).__name__, "message": traceback.format_exc()}
        answers.write(json.dumps(failure) + "\n")
        return
    # Where each top-level package was imported from: the test checks each came from where it should.
    loaded = {
        name: getattr(module, "__file__", None)
        for name, module in sys.modules.items()
        if "." not in name and getattr(module, "__file__", None)
    }
    answers.write(json.dumps({"ready": loaded}) + "\n")

    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    memory = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
    timeout = int(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))
    for line in sys.stdin:
        event = json.loads(line)
        # What Lambda sets per invocation with active tracing: a sampled trace for the X-Ray SDK
        # (the Powertools Tracer) to hang its subsegments on, sent to AWS_XRAY_DAEMON_ADDRESS.
        root = f"1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"
        os.environ["_X_AMZN_TRACE_ID"] = f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=1"
        try:
            result = handler(event, Context(function_name, memory, timeout))
            answer = {"result": result}
        except Exception as exc:
            answer = {"error": type(exc).__name__, "message": traceback.format_exc()}
        sys.stdout.flush()
        answers.write(json.dumps(answer, default=str) + "\n")


if __name__ == "__main__":
    main()
