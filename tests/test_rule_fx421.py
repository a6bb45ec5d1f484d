"""The wording of FX421 (request-data-in-file-path-or-url): the rule examples check
*where* it fires, these check *what it says*, the link to the parameter, and the near
misses it must leave alone."""

from __future__ import annotations

from fastapi_expert.review.rules.base import Invalid
from rule_messages import findings_by_line as _findings_by_line
from rule_messages import invalid as _invalid
from rule_messages import messages as _messages

_FILE_ADVICE = (
    "resolve the path and check that it `is_relative_to()` the base directory before using it, "
    "or take an id and look the file up."
)
_URL_ADVICE = "check the URL's scheme and host against an allow-list before the call."


def test_fx421_file_response_names_the_call_the_parameter_and_the_attack() -> None:
    example = _invalid("FX421", "settings.storage_dir / file_path")
    finding = _findings_by_line("FX421", example)[10]
    assert finding.message == (
        "`FileResponse()` in `download` serves a path built from the path parameter `file_path`, so a client "
        "can send `../../etc/passwd` and read any file the server can (path traversal); " + _FILE_ADVICE
    ), finding.message
    # The link points at the parameter and names the route with its router's prefix.
    [link] = finding.chain
    assert (link.location.path, link.location.line) == ("app/routers/files.py", 9)
    assert link.note == "the path parameter `file_path` of `GET /files/{file_path:path}`", link.note


def test_fx421_upload_write_and_delete_say_what_is_overwritten_or_deleted() -> None:
    example = _invalid("FX421", "upload_document")
    messages = _messages("FX421", example)
    assert list(messages) == [13, 19]
    assert messages[13].startswith(
        "`aiofiles.open()` in `upload_document` writes to a path built from the uploaded file name "
        "`file.filename`, so a client can send a file named `../../app/main.py` and overwrite any file"
    ), messages[13]
    assert messages[19].startswith(
        "`os.remove()` in `delete_document` deletes a path built from the query parameter `name`"
    ), messages[19]
    assert "delete any file the server can" in messages[19], messages[19]


def test_fx421_single_segments_say_dot_dot_not_a_path() -> None:
    # A `{segment}` cannot hold `/`: the message must not promise `../../etc/passwd`.
    example = _invalid("FX421", "delete_workspace")
    messages = _messages("FX421", example)
    assert "send `%2E%2E` (`..`) as `workspace` and reach files outside the directory meant" in messages[12]
    assert "send `%2E%2E` (`..`) as `workspace` and delete the directory above the one meant" in messages[16]
    assert all("etc/passwd" not in m for m in messages.values()), messages


def test_fx421_ssrf_names_the_body_field_and_the_metadata_address() -> None:
    example = _invalid("FX421", "link_preview")
    findings = _findings_by_line("FX421", example)
    assert findings[14].message == (
        "`client.get()` in `link_preview` calls a URL whose host comes from the field `url` of the request "
        "body `payload`, so a client can make the server request `http://169.254.169.254/latest/meta-data/` "
        "or any internal service (SSRF); " + _URL_ADVICE
    ), findings[14].message
    assert findings[19].message.startswith(
        "`requests.get()` in `node_health` calls a URL whose host comes from the query parameter `node`"
    )
    assert findings[14].chain[0].note == "the field `url` of the request body `payload` of `POST /link-preview`"


def test_fx421_long_receivers_are_shortened_to_the_method() -> None:
    example = _invalid("FX421", "def render(")
    messages = _messages("FX421", example)
    assert messages[12].startswith("`source.read_text()` in `render` reads a path built from the form field `template`")
    assert messages[13].startswith("`.write_text()` in `render` writes to a path built from the header `x_tenant`")


_NEAR_MISSES = """
    import os
    from pathlib import Path

    import httpx
    from fastapi import FastAPI, HTTPException, Request, UploadFile
    from fastapi.responses import FileResponse

    app = FastAPI()
    BASE = Path("/srv/files")
    backend = httpx.AsyncClient(base_url="http://backend:8000")

    @app.post("/uploads")
    async def upload(file: UploadFile):
        if file.filename == "":
            raise HTTPException(400)
        with open(BASE / file.filename, "wb") as out:
            out.write(await file.read())

    @app.get("/proxy/{path:path}")
    async def proxy(path: str, request: Request):
        relative = await backend.request(request.method, f"/{path}")
        absolute = await backend.request(request.method, path)
        return relative.text + absolute.text

    @app.get("/checked")
    def checked(name: str):
        path = Path(os.path.realpath(os.path.join(BASE, name)))
        try:
            path.relative_to(BASE)
        except ValueError:
            raise HTTPException(404)
        return FileResponse(path, filename=name)

    @app.get("/sites/{site}")
    def site_index(site: str):
        return FileResponse(BASE / site / "index.html")
"""


def test_fx421_near_misses() -> None:
    messages = _messages("FX421", Invalid(_NEAR_MISSES, lines=()))
    # `file.filename == ""` checks emptiness, not the path: still reported.
    assert 16 in messages, messages
    # A `{path:path}` value can be `http://169.254.169.254/...`, and an absolute URL replaces
    # httpx's `base_url`; after a leading `/` it stays on the backend.
    assert 22 in messages and 21 not in messages, messages
    assert "path parameter `path`" in messages[22]
    # Checked with `relative_to` in a `try`; a single `{site}` segment before a fixed file name.
    assert set(messages) == {16, 22}, messages
