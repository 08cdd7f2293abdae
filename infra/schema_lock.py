"""The table shapes last released, kept in infra/schema.lock.json, and the rules for changing them.

CloudFormation cannot apply every model change to a live table: a new key schema replaces the table
(with a generated name and RETAIN, that is a new, empty table beside the old one), a GSI cannot change
its keys or projection in place, and one update may add OR delete one GSI, not both (so renaming an
index fails the deploy). tests/infra checks the models against this lock; after a deliberate, deployable
change, refresh it with `.venv/bin/python -m infra.schema_lock`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra import ROOT

LOCK = ROOT / "infra" / "schema.lock.json"


def current() -> dict[str, Any]:
    from loyalty.adapters.models import table_definitions

    return json.loads(json.dumps(table_definitions()))  # tuples -> lists, as stored


def locked(path: Path = LOCK) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def problems(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Why `new` cannot be deployed over `old` in one CloudFormation update (empty: it can)."""
    out = []
    for table, before in old.items():
        if table not in new:
            out.append(f"{table}: the table left MODELS; CloudFormation would orphan it (RETAIN)")
            continue
        after = new[table]
        if before["key"] != after["key"]:
            out.append(
                f"{table}: key schema {before['key']} -> {after['key']} replaces the table (new, empty)"
            )
        for kind in ("global_indexes", "local_indexes"):
            old_ix, new_ix = before.get(kind, {}), after.get(kind, {})
            removed, added = sorted(set(old_ix) - set(new_ix)), sorted(set(new_ix) - set(old_ix))
            for name in sorted(set(old_ix) & set(new_ix)):
                if old_ix[name] != new_ix[name]:
                    out.append(f"{table}.{name}: an index cannot change its keys or projection in place")
            if kind == "local_indexes" and (removed or added):
                out.append(
                    f"{table}: local indexes {removed} -> {added} can only be set when the table is created"
                )
            elif removed and added:
                out.append(
                    f"{table}: indexes {removed} removed and {added} added in one update (a rename?): "
                    "CloudFormation refuses both in one deploy; add the new index in one release, remove the "
                    "old one in the next"
                )
            elif len(removed) + len(added) > 1:
                out.append(
                    f"{table}: more than one index added or removed ({removed or added}) in one update"
                )
    return out


def main() -> None:
    old, new = locked(), current()
    for problem in problems(old, new):
        print(f"warning: {problem}")
    LOCK.write_text(json.dumps(new, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {LOCK.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
