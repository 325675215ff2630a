"""Schools, class-list batches and their rows as the API and the pages show them."""

from __future__ import annotations

from typing import Any


def school_view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "region": row.region, "name": row.name}


def batch_view(row: Any, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": row.id,
        "school_id": row.school_id,
        "year": row.year,
        "status": row.status,
        "file_name": row.file_name,
        "rows": row.rows,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
        "submitted_at": None if row.submitted_at is None else row.submitted_at.isoformat(),
        "reviewed_at": None if row.reviewed_at is None else row.reviewed_at.isoformat(),
        "counts": {
            status: counts.get(status, 0)
            for status in ("imported", "declared", "submitted", "accepted", "returned")
        },
    }


def row_view(row: Any) -> dict[str, Any]:
    return {
        "batch_id": row.batch_id,
        "row": row.row_no,
        "id_number": row.id_number,
        "name": row.name,
        "birth_date": row.birth_date.isoformat(),
        "sex": row.sex,
        "class_name": row.class_name,
        "guardian_name": row.guardian_name,
        "guardian_phone": row.guardian_phone,
        "assistance": bool(row.assistance),
        "status": row.status,
        "return_reason": row.return_reason,
        "person_id": row.person_id,
        "declared_by": row.declared_by,
        "declared_at": None if row.declared_at is None else row.declared_at.isoformat(),
    }
