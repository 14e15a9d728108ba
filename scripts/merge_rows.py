"""Merge re-measured benchmark rows into a results file: rows of NEW replace the rows of OLD with the same world,
planner, horizon, settings source and MPC flag; the rest of OLD stays, in its order. Writes OLD's JSON again and,
with --markdown, the table ``graspviz bench --markdown`` would have written for the merged rows.

    python scripts/merge_rows.py OLD.json NEW.json [--markdown OLD.md]
"""

from __future__ import annotations

import argparse

from graspviz.analysis.report import from_json, settings_source, to_json, to_markdown
from graspviz.cli.common import write_text


def _key(r: dict) -> tuple:
    return r["world"], r["planner"], r["horizon"], settings_source(r), bool(r.get("mpc"))


def merge(old: list[dict], new: list[dict]) -> list[dict]:
    fresh = {_key(r): r for r in new}
    out = [fresh.pop(_key(r), r) for r in old]
    return out + list(fresh.values())


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old"), p.add_argument("new"), p.add_argument("--markdown")
    a = p.parse_args(argv)
    rows = merge(from_json(a.old), from_json(a.new))
    to_json(rows, a.old)
    if a.markdown:
        write_text(a.markdown, to_markdown(rows))
    print(f"{a.old}: {len(rows)} rows")


if __name__ == "__main__":
    main()
