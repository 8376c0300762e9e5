"""The state store's SQL, written once for SQLite, as PostgreSQL reads it.

The store's mixins (`adapters/sqlite/`: outbox, memory, health, queries, intake) speak SQLite's
SQL. The constructs they use that PostgreSQL spells differently are few and are translated
here, statement by statement (and cached): `?` parameters, `INSERT OR IGNORE`, `INSERT OR
REPLACE` (an upsert on the table's key that also resets the columns it does not name, as
SQLite's delete-and-insert does), `rowid` (an insertion sequence column), the two-argument
`MAX`, and `SUM` over a comparison. `tests/test_store_contract.py` runs the same tests on both.
"""

from __future__ import annotations

import functools
import re

# Each table's key: what INSERT OR REPLACE replaces on.
KEYS = {
    "jobs": ("job",),
    "leads": ("job", "lead_key"),
    "events": ("job", "lead_key", "event_name"),
    "row_digests": ("job", "lead_key"),
    "intake_leads": ("job", "lead_id"),
    "intake_forms": ("job", "form_id"),
}
# Columns SQLite's REPLACE would put back to their default because the INSERT does not name them.
DEFAULTS = {
    "events": {"detail": "''", "fbtrace_id": "NULL", "input_hash": "''", "match_keys": "''"},
    "row_digests": {"problems": "''"},
}
_OR_IGNORE = re.compile(r"^\s*INSERT OR IGNORE INTO", re.IGNORECASE)
_OR_REPLACE = re.compile(r"^\s*INSERT OR REPLACE INTO (\w+) \(([^)]*)\)", re.IGNORECASE)
_MAX_OF_TWO = re.compile(r"\bMAX\(([\w.]+), (excluded\.\w+)\)", re.IGNORECASE)
_SUM_OF_TEST = re.compile(r"\bSUM\(([^()]*?(?:>=|<=|=|>|<)[^()]*?)\)", re.IGNORECASE)


@functools.lru_cache(maxsize=256)
def translate(sql: str) -> str:
    text = sql.strip()
    if _OR_IGNORE.match(text):
        text = _OR_IGNORE.sub("INSERT INTO", text, count=1) + " ON CONFLICT DO NOTHING"
    elif replace := _OR_REPLACE.match(text):
        table = replace.group(1)
        named = [column.strip() for column in replace.group(2).split(",")]
        sets = [f"{column} = EXCLUDED.{column}" for column in named if column not in KEYS[table]]
        sets += [
            f"{column} = {default}"
            for column, default in DEFAULTS.get(table, {}).items()
            if column not in named
        ]
        text = (
            re.sub(r"^\s*INSERT OR REPLACE INTO", "INSERT INTO", text, count=1, flags=re.I)
            + f" ON CONFLICT ({', '.join(KEYS[table])}) DO UPDATE SET {', '.join(sets)}"
        )
    text = re.sub(r"\browid\b", "seq", text)
    text = _MAX_OF_TWO.sub(r"GREATEST(\1, \2)", text)
    text = _SUM_OF_TEST.sub(r"SUM(CASE WHEN \1 THEN 1 ELSE 0 END)", text)
    return text.replace("%", "%%").replace("?", "%s")
