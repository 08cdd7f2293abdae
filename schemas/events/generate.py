"""Write schemas/events/<DetailType>.json from loyalty.events.DETAIL_MODELS (the one truth).

.venv/bin/python schemas/events/generate.py          # rewrite the files
.venv/bin/python schemas/events/generate.py --check  # exit 1 if a file is stale
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "layers" / "loyalty" / "python"))

from loyalty.events import json_schemas  # noqa: E402


def rendered() -> dict[Path, str]:
    schemas = json_schemas().items()
    return {HERE / f"{name}.json": json.dumps(schema, indent=2) + "\n" for name, schema in schemas}


def main(argv: list[str]) -> int:
    stale = [path for path, text in rendered().items() if not path.exists() or path.read_text() != text]
    if "--check" in argv:
        for path in stale:
            print(f"stale: {path.name} (run schemas/events/generate.py)")
        return 1 if stale else 0
    for path, text in rendered().items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
