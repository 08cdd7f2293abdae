#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth` / `npx cdk deploy -c programme=programmes/default.json`."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "loyalty" / "python")]

from loyalty.programme import ProgrammeError  # noqa: E402

from infra.stack import build_app  # noqa: E402


def main() -> None:
    try:
        app, _ = build_app()
    except ProgrammeError as exc:
        sys.exit(f"cdk synth: the programme does not validate: {exc}")
    app.synth()


if __name__ == "__main__":
    main()
