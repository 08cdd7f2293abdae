#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth` / `npx cdk deploy -c programme=programmes/default.json`."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "loyalty" / "python")]

from loyalty.programme import ProgrammeError  # noqa: E402

from infra.regions import UnsupportedRegion  # noqa: E402
from infra.stack import build_app  # noqa: E402


def main() -> None:
    # The CLI's region and account (from the AWS profile, AWS_REGION / AWS_DEFAULT_REGION): the synth
    # checks the region offers what the stack needs.
    region, account = os.environ.get("CDK_DEFAULT_REGION"), os.environ.get("CDK_DEFAULT_ACCOUNT")
    try:
        app, _ = build_app(region=region, account=account)
    except ProgrammeError as exc:
        sys.exit(f"cdk synth: the programme does not validate: {exc}")
    except UnsupportedRegion as exc:
        sys.exit(f"cdk synth: {exc}")
    app.synth()


if __name__ == "__main__":
    main()
