"""Interview notes: a folder of .md/.txt files stored verbatim, with injected instructions flagged.

The notes are customer-supplied text. They are kept as data (quoted later, never obeyed);
a note that reads like instructions to an AI is flagged so the document can say so.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from icp_agent.errors import UserError
from icp_agent.workspace import Workspace

SUFFIXES = {".md", ".txt", ".markdown"}


def interview_files(folder: Path) -> list[Path]:
    """The interview-note files (.md, .txt, .markdown) directly in `folder`, sorted by path."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def import_interviews(ws: Workspace, folder: str | Path) -> dict:
    """Store every note of a folder as one snapshot; re-importing the same notes changes nothing."""
    with ws.transaction() as con:
        return import_interviews_into(con, folder)


def import_interviews_into(con, folder: str | Path) -> dict:
    """`import_interviews` inside the caller's transaction (an import of several inputs is all or nothing)."""
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise UserError("no such folder", file=str(folder), hint="pass the folder holding the interview notes")
    files = [folder] if folder.is_file() else interview_files(folder)
    if not files:
        raise UserError("no .md or .txt interview notes in this folder", file=str(folder))
    docs = []
    digest = hashlib.sha256()
    for path in files:
        raw = path.read_bytes()
        try:
            body = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            body = raw.decode("latin-1")
        digest.update(path.name.encode() + b"\0" + raw)
        title = next((line.lstrip("# ").strip() for line in body.splitlines() if line.strip()), path.stem)
        docs.append((path.stem, path.name, title, body))
    import_id = f"interviews-{digest.hexdigest()[:12]}"
    from icp_agent.untrusted import looks_like_instructions  # its patterns compiled only when notes are read

    flagged = [name for _, name, _, body in docs if looks_like_instructions(body)]
    if not con.execute("SELECT count(*) FROM imports WHERE import_id = ?", [import_id]).fetchone()[0]:
        con.executemany("INSERT INTO interviews VALUES (?, ?, ?, ?, ?)", [(import_id, *doc) for doc in docs])
        con.execute(
            """INSERT INTO imports (import_id, kind, file_name, path, sha256, format, rows_read,
                       rows_kept, rows_rejected, duplicates_dropped, table_name, imported_at)
                       VALUES (?, 'interviews', ?, ?, ?, 'text', ?, ?, 0, 0, 'interviews', now())""",
            [import_id, folder.name, str(folder.resolve()), digest.hexdigest(), len(docs), len(docs)],
        )
    con.execute("INSERT OR REPLACE INTO current_snapshot VALUES ('interviews', ?)", [import_id])
    return {"import_id": import_id, "documents": len(docs), "contains_instructions": flagged}
