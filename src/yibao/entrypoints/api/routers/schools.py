"""School batch enrolment: templates, uploads with a row-by-row report, declarations,
submission, review."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from yibao.domain.access import Principal, Role
from yibao.entrypoints.api.deps import Clerk, allow, services
from yibao.entrypoints.api.schemas import DbId, ErrorOut
from yibao.entrypoints.api.schools_schemas import (
    BatchOut,
    GuardianRowOut,
    ReportOut,
    ReviewIn,
    ReviewOut,
    RowIn,
    RowOut,
    RowsOut,
    SchoolIn,
    SchoolOut,
    SubmissionOut,
    report_example,
)
from yibao.service.class_lists import MAX_BYTES
from yibao.service.schools import SchoolsService

router = APIRouter(prefix="/v1", tags=["schools"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Not signed in (not_signed_in, invalid_token)"},
    403: {"model": ErrorOut, "description": "The account's role may not do this (forbidden)"},
    404: {"model": ErrorOut, "description": "Not found, or not the caller's to see"},
    409: {"model": ErrorOut, "description": "The row or batch is not in a state for this"},
    422: {"model": ErrorOut, "description": "The request cannot be done as sent (see code)"},
}

SchoolOrClerk = Annotated[Principal, Depends(allow(Role.SCHOOL, Role.CLERK))]
Reader = Annotated[Principal, Depends(allow(Role.SCHOOL, Role.CLERK, Role.APPROVER))]
School = Annotated[Principal, Depends(allow(Role.SCHOOL))]
Member = Annotated[Principal, Depends(allow(Role.GUARDIAN, Role.INSURED))]
Declarer = Annotated[Principal, Depends(allow(Role.GUARDIAN, Role.INSURED, Role.CLERK))]
RowNo = Annotated[int, Path(ge=1, le=10_000_000, description="The row in the sheet (header: 1)")]


def schools(request: Request) -> SchoolsService:
    return services(request).schools


Service = Annotated[SchoolsService, Depends(schools)]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/schools/template.csv",
    responses={**ERRORS, 200: {"content": {"text/csv": {}}, "description": "The template"}},
    response_class=Response,
)
def template_csv(service: Service, _who: SchoolOrClerk) -> Response:
    """The class list template: the header row (Chinese and English names) and one example
    row to delete. UTF-8 with a BOM, so Excel shows the Chinese right."""
    return Response(
        service.template("csv"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="class-list-template.csv"'},
    )


@router.get(
    "/schools/template.xlsx",
    responses={**ERRORS, 200: {"content": {XLSX: {}}, "description": "The template"}},
    response_class=Response,
)
def template_xlsx(service: Service, _who: SchoolOrClerk) -> Response:
    """The same template as an Excel workbook, its ID number and phone columns as text."""
    return Response(
        service.template("xlsx"),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="class-list-template.xlsx"'},
    )


@router.post("/schools", status_code=201, responses=ERRORS, response_model=SchoolOut)
def add_school(body: SchoolIn, service: Service, who: Clerk) -> dict[str, Any]:
    """Register a school of the clerk's region (then make its account: role school)."""
    return service.add_school(who, body.id, body.name, body.region)


@router.get("/schools", responses=ERRORS, response_model=list[SchoolOut])
def list_schools(service: Service, who: Reader) -> list[dict[str, Any]]:
    """Staff: the schools of their region; a school: itself."""
    return service.schools(who)


@router.get("/schools/{school_id}", responses=ERRORS, response_model=SchoolOut)
def get_school(school_id: str, service: Service, who: Reader) -> dict[str, Any]:
    """A school: for its own account and staff of its region."""
    return service.school(who, school_id)


@router.post(
    "/schools/{school_id}/batches",
    status_code=201,
    responses={
        **ERRORS,
        201: {"model": ReportOut, "description": "Every row passed: the list is stored"},
        422: {
            "model": ErrorOut,
            "description": "Rows with errors (code invalid_rows; details: the report, every "
            "bad row with its reason): nothing is stored. Or the request itself is wrong.",
            "content": {"application/json": {"example": report_example()}},
        },
    },
    response_model=ReportOut,
)
def upload(
    school_id: str,
    file: Annotated[UploadFile, File(description="The class list: .csv or .xlsx")],
    year: Annotated[int, Form(ge=2000, le=2100, description="The coverage year")],
    service: Service,
    who: SchoolOrClerk,
) -> Any:
    """Upload a class list for a coverage year. Every row is checked; the answer reports
    each bad row with its reason, and with any bad row nothing is stored."""
    content = file.file.read(MAX_BYTES + 1)
    report = service.upload(who, school_id, year, file.filename or "class list", content)
    if not report["ok"]:
        # An error like any other (code, message), with the whole report as its details.
        details = {k: v for k, v in report.items() if k not in ("code", "message")}
        body = {"code": report["code"], "message": report["message"], "details": details}
        return JSONResponse(body, status_code=422)
    return report


@router.get("/schools/{school_id}/batches", responses=ERRORS, response_model=list[BatchOut])
def batches(
    school_id: str,
    service: Service,
    who: Reader,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> list[dict[str, Any]]:
    """A school's class lists, oldest first, with their rows counted by status."""
    return service.batches(who, school_id, year)


@router.get("/school-batches/{batch_id}", responses=ERRORS, response_model=BatchOut)
def batch(batch_id: DbId, service: Service, who: Reader) -> dict[str, Any]:
    """A class list with its rows counted by status."""
    return service.batch(who, batch_id)


@router.get("/school-batches/{batch_id}/rows", responses=ERRORS, response_model=RowsOut)
def rows(
    batch_id: DbId,
    service: Service,
    who: Reader,
    status: Annotated[
        str | None, Query(pattern="^(imported|declared|submitted|accepted|returned)$")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """The rows of a class list in sheet order, optionally of one status."""
    return service.rows(who, batch_id, status=status, offset=offset, limit=limit)


@router.get("/school-rows", responses=ERRORS, response_model=list[GuardianRowOut])
def my_rows(service: Service, who: Member) -> list[dict[str, Any]]:
    """For a guardian: the class-list rows that give their phone number, to declare."""
    return service.my_rows(who)


@router.post(
    "/school-batches/{batch_id}/rows/{row_no}/declaration",
    responses=ERRORS,
    response_model=RowOut,
)
def declare(batch_id: DbId, row_no: RowNo, service: Service, who: Declarer) -> dict[str, Any]:
    """The guardian confirms and declares the pupil's row (a clerk: a paper declaration)."""
    return service.declare(who, batch_id, row_no)


@router.put("/school-batches/{batch_id}/rows/{row_no}", responses=ERRORS, response_model=RowOut)
def correct(
    batch_id: DbId, row_no: RowNo, body: RowIn, service: Service, who: School
) -> dict[str, Any]:
    """Correct a row (returned by the agency, or not yet submitted): checked as in an
    upload; it then awaits its guardian's declaration again."""
    return service.correct(who, batch_id, row_no, body.cells())


@router.post(
    "/school-batches/{batch_id}/submission", responses=ERRORS, response_model=SubmissionOut
)
def submit(batch_id: DbId, service: Service, who: School) -> dict[str, Any]:
    """Submit the declared rows to the agency; the answer lists the rows not declared."""
    return service.submit(who, batch_id)


@router.post("/school-batches/{batch_id}/review", responses=ERRORS, response_model=ReviewOut)
def review(batch_id: DbId, body: ReviewIn, service: Service, who: Clerk) -> dict[str, Any]:
    """Accept rows (registered, enrolled through the school, pending until the premium is
    collected) and return others with a reason each. All of it, or nothing."""
    return service.review(
        who,
        batch_id,
        accept=body.accept,
        returns=[(r.row, r.reason) for r in body.returns],
        accept_all=body.accept_all,
    )
