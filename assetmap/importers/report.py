"""What every import returns: counts, and each problem row with its line number and reason."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class RowProblem:
    row: int | None  # 1-based line number in the file (header = line 1), or feature index for GeoJSON
    reason: str
    column: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "file"
        col = f", column {self.column}" if self.column else ""
        val = f" ({self.value!r})" if self.value not in (None, "") else ""
        return f"{where}{col}: {self.reason}{val}"


@dataclass
class ImportReport:
    source: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    # Rows deliberately left out (closed libraries, inactive practices): counted by reason, not errors.
    skipped_reasons: Counter = field(default_factory=Counter)
    # What the file as a whole was found to be (codes of another vintage, with counts).
    notes: list[str] = field(default_factory=list)
    # What the import wrote (an assetmap.db.assets.AssetChanges), for the gap refresh after the
    # commit; None for imports of other things. Not part of the report kept.
    changes: Any = field(default=None, repr=False, compare=False)

    def skip(self, reason: str) -> None:
        self.skipped += 1
        self.skipped_reasons[reason] += 1

    def problem(self, row: int | None, reason: str, column: str | None = None, value=None) -> None:
        """A row that could not be imported: counted as skipped and reported."""
        self.skipped += 1
        self.skipped_reasons[reason] += 1
        self.problems.append(RowProblem(row, reason, column, None if value is None else str(value)))

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self, max_problems: int = 20) -> str:
        lines = [
            f"{self.source}: read {self.read}, inserted {self.inserted}, updated {self.updated}, "
            f"unchanged {self.unchanged}, skipped {self.skipped}"
        ]
        lines.extend(f"  note: {n}" for n in self.notes[:max_problems])
        if len(self.notes) > max_problems:
            lines.append(f"  ... and {len(self.notes) - max_problems} more notes")
        for reason, n in self.skipped_reasons.most_common():
            lines.append(f"  skipped {n}: {reason}")
        for p in self.problems[:max_problems]:
            lines.append(f"  {p}")
        if len(self.problems) > max_problems:
            lines.append(f"  ... and {len(self.problems) - max_problems} more problem rows")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "read": self.read,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "skipped_reasons": dict(self.skipped_reasons),
            "notes": list(self.notes),
            "problems": [vars(p) for p in self.problems[:1000]],
            "problem_count": len(self.problems),
        }


class Progress(Protocol):
    def update(self, n: int = 1) -> None: ...
    def close(self) -> None: ...


ProgressFactory = Callable[..., Progress]  # called as progress(total=..., desc=...)


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def silent_progress(total=None, desc=None) -> Progress:
    return _Silent()
