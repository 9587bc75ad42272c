"""Actions on one report from its page: share it (so a role or a person may see its personal data)
and attach more evidence files. Both go through the service, which checks who may do them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from kalkan.errors import InputError
from kalkan.register import service
from kalkan.register.pages._report import MAX_FILES, uploads
from kalkan.register.pages._web import PageError, check_csrf, page, writing

router = APIRouter()


@router.post("/incidents/{incident_id}/share", include_in_schema=False)
def share(
    request: Request,
    incident_id: int,
    role: Annotated[str, Form(max_length=20)] = "",
    user: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Share a restricted report with a whole role or with one user by name."""
    current = page(request, required="read")
    check_csrf(current, csrf)
    assert current.user is not None
    role, user = role.strip(), user.strip()
    try:
        with writing(request) as session:
            service.share_incident(session, current.user, incident_id, role=role or None, user=user or None)
    except service.AccessDenied as error:
        raise PageError(403, current._("Not open to your role"), str(error)) from error
    except InputError as error:
        raise PageError(422, current._("Not done"), str(error)) from error
    return RedirectResponse(f"/incidents/{incident_id}?shared=1", status_code=303)


@router.post("/incidents/{incident_id}/attachments", include_in_schema=False)
async def attach(request: Request, incident_id: int) -> Response:
    """Attach more files to a report (its reporter, analysts, investigators and admins)."""
    current = page(request, required="attach")
    form = await request.form(max_files=MAX_FILES + 1, max_fields=10)
    try:
        check_csrf(current, str(form.get("csrf") or ""))
        files = await uploads(form)
        if not files:
            raise InputError(current._("Choose at least one file to attach."))
        assert current.user is not None
        with writing(request) as session:
            known = {a.sha256 for a in service.get_incident(session, current.user, incident_id).attachments}
            for upload, sha in files:
                if sha in known:
                    continue
                known.add(sha)
                assert isinstance(upload, UploadFile)
                service.attach_evidence(
                    session,
                    current.user,
                    incident_id,
                    filename=upload.filename or "evidence",
                    media_type=upload.content_type or "application/octet-stream",
                    stream=upload.file,
                )
    except service.AccessDenied as error:
        raise PageError(403, current._("Not open to your role"), str(error)) from error
    except InputError as error:
        raise PageError(422, current._("Not done"), str(error)) from error
    finally:
        await form.close()
    return RedirectResponse(f"/incidents/{incident_id}?attached=1", status_code=303)
