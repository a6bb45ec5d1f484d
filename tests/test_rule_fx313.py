"""The wording of FX313 (upload-read-whole): the rule examples check *where* it fires,
these check *what it says* and the near misses it must leave alone."""

from __future__ import annotations

from fastapi_expert.config import Config
from fastapi_expert.review.engine import review_sources
from fastapi_expert.review.rules.base import Invalid, Valid
from rule_messages import findings as _findings
from rule_messages import invalid as _invalid
from rule_messages import messages as _messages


def _flagged(example: Valid | Invalid) -> list[int]:
    result = review_sources(example.sources, Config(select=("FX313",)))
    return sorted(f.location.line for f in result.findings if f.code == "FX313")


def test_fx313_bytes_file_names_the_parameter_the_route_and_the_fixes() -> None:
    example = _invalid("FX313", "upload_avatar")
    messages = _messages("FX313", example)
    assert list(messages) == [9, 13, 17], messages
    assert messages[9] == (
        "`image: bytes` makes FastAPI read the whole upload into memory before `upload_avatar` "
        "(`POST /avatars`) runs, and nothing caps its size, so a client can send gigabytes; take an "
        "`UploadFile`, reject a `.size` above a limit with 413 and read it in chunks "
        "(`while chunk := await f.read(1 << 20)`), or set `max_body_size=` on the route."
    ), messages[9]
    # A list: every file, and the list type to take instead.
    assert messages[13].startswith(
        "`attachments: Annotated[list[bytes], File()]` makes FastAPI read every uploaded file into memory"
    ), messages[13]
    assert "take `list[UploadFile]`" in messages[13], messages[13]


def test_fx313_flags_an_alias_and_an_optional_bytes_file_on_one_line() -> None:
    example = _invalid("FX313", "upload_avatar")
    on_17 = sorted(f.message.split(":", 1)[0] for f in _findings("FX313", example) if f.location.line == 17)
    assert on_17 == ["`back", "`page"], on_17


def test_fx313_whole_read_quotes_the_read_and_suggests_a_bounded_loop() -> None:
    example = _invalid("FX313", "convert_documents")
    messages = _messages("FX313", example)
    assert list(messages) == [10, 18, 23], messages
    assert messages[10] == (
        "`await file.read()` loads the whole upload `file` into memory in `convert_documents` "
        "(`POST /convert`), and nothing bounds its size first, so a client can send gigabytes; reject "
        "`file.size` above a limit with 413 before reading, or read it in chunks with a running total "
        "(`while chunk := await file.read(1 << 20)`), or set `max_body_size=` on the route."
    ), messages[10]


def test_fx313_sync_endpoint_gets_a_sync_chunk_loop() -> None:
    # `def` endpoints cannot `await`: the advice reads the file under the UploadFile.
    example = _invalid("FX313", "convert_documents")
    message = _messages("FX313", example)[18]
    assert message.startswith("`cert.file.read()` loads the whole upload `cert`"), message
    assert "(`while chunk := cert.file.read(1 << 20)`)" in message, message
    assert "await" not in message, message


def test_fx313_helper_read_is_reported_at_the_call_with_the_read_as_evidence() -> None:
    example = _invalid("FX313", "upload_archive")
    found = _findings("FX313", example)
    assert [f.location.line for f in found] == [12]
    finding = found[0]
    assert finding.message.startswith(
        "`archives.store(...)` (`await upload.read()` in `store`) loads the whole upload `file` into memory "
        "in `upload_archive` (`POST /files/upload_archive`)"
    ), finding.message
    assert "with 413 before the call" in finding.message, finding.message
    assert [(c.location.path, c.location.line) for c in finding.chain] == [("app/services/archives.py", 6)]
    assert finding.chain[0].note == "`store` reads the whole upload with `await upload.read()`"


def test_fx313_a_check_after_the_read_does_not_count() -> None:
    # khoj's `/convert`: the size is compared only once the file is in memory.
    example = _invalid("FX313", "convert_documents")
    assert 10 in _messages("FX313", example)


def test_fx313_near_misses() -> None:
    cases = {
        "size compared before the read": """
            from fastapi import FastAPI, HTTPException, UploadFile

            app = FastAPI()

            @app.post("/logos")
            async def logo(file: UploadFile) -> int:
                if file.size is not None and file.size > 1_000_000:
                    raise HTTPException(413)
                return len(await file.read())
        """,
        "a helper named for checking the size": """
            from fastapi import FastAPI, UploadFile

            from app.limits import ensure_upload_size

            app = FastAPI()

            @app.post("/logos")
            async def logo(file: UploadFile) -> int:
                ensure_upload_size(file)
                return len(await file.read())
        """,
        "FastAPI's limit on the route": """
            from typing import Annotated

            from fastapi import FastAPI, File

            app = FastAPI()

            @app.post("/logos", max_body_size=2_000_000)
            async def logo(data: Annotated[bytes, File()]) -> int:
                return len(data)
        """,
        "FastAPI's limit on the app": """
            from fastapi import FastAPI, UploadFile

            app = FastAPI(max_body_size=2_000_000)

            @app.post("/logos")
            async def logo(file: UploadFile) -> int:
                return len(await file.read())
        """,
        "Starlette's body-limit middleware": """
            from fastapi import FastAPI, UploadFile
            from starlette.middleware.body_limit import RequestBodyLimitMiddleware

            app = FastAPI()
            app.add_middleware(RequestBodyLimitMiddleware, max_body_size=2_000_000)

            @app.post("/logos")
            async def logo(file: UploadFile) -> int:
                return len(await file.read())
        """,
        "a bounded read": """
            from fastapi import FastAPI, UploadFile

            app = FastAPI()

            @app.post("/magic")
            async def magic(file: UploadFile) -> str:
                return (await file.read(8)).hex()
        """,
        "list[Annotated[bytes, File()]] is a JSON body, not a file": """
            from typing import Annotated

            from fastapi import FastAPI, File

            app = FastAPI()
            Blob = Annotated[bytes, File()]

            @app.post("/blobs")
            async def blobs(items: list[Blob]) -> int:
                return len(items)
        """,
        "a size constant compared before the read": """
            from fastapi import FastAPI, HTTPException, UploadFile

            app = FastAPI()
            MAX_UPLOAD_SIZE = 1 << 20

            @app.post("/logos")
            async def logo(file: UploadFile) -> int:
                if file.size > MAX_UPLOAD_SIZE:
                    raise HTTPException(413)
                data = await file.read()
                return len(data)
        """,
    }
    files = {"app/limits.py": "def ensure_upload_size(file):\n    if file.size > 1 << 20:\n        raise ValueError\n"}
    for why, code in cases.items():
        assert _flagged(Valid(code, files=files)) == [], why


def test_fx313_an_equality_on_a_size_name_bounds_nothing() -> None:
    example = Invalid(
        """
        from fastapi import FastAPI, UploadFile

        app = FastAPI()

        @app.post("/logos")
        async def logo(file: UploadFile) -> int:
            if file.size == 0:
                return 0
            return len(await file.read())
        """,
        lines=(9,),
    )
    assert _flagged(example) == [9]


def test_fx313_a_rate_limit_middleware_is_not_a_size_limit() -> None:
    example = Invalid(
        """
        from fastapi import FastAPI, UploadFile
        from slowapi.middleware import SlowAPIMiddleware
        from app.limits import RateLimitMiddleware

        app = FastAPI()
        app.add_middleware(SlowAPIMiddleware)
        app.add_middleware(RateLimitMiddleware)

        @app.post("/logos")
        async def logo(file: UploadFile) -> int:
            return len(await file.read())
        """,
        lines=(11,),
    )
    assert _flagged(example) == [11]


def test_fx313_a_list_handed_to_a_helper_names_each_upload() -> None:
    example = Invalid(
        """
        from fastapi import FastAPI, UploadFile

        from app.indexing import index_files

        app = FastAPI()

        @app.put("/content")
        async def put_content(files: list[UploadFile]) -> int:
            return await index_files(files)
        """,
        lines=(9,),
        files={
            "app/indexing.py": """
                from fastapi import UploadFile

                async def index_files(uploads: list[UploadFile]) -> int:
                    total = 0
                    for upload in uploads:
                        total += len(await upload.read())
                    return total
            """
        },
    )
    messages = _messages("FX313", example)
    assert list(messages) == [9], messages
    assert messages[9].startswith(
        "`index_files(...)` (`await upload.read()` in `index_files`) loads each upload of `files` whole into memory"
    ), messages[9]
    assert "reject `f.size` above a limit with 413 before the call" in messages[9], messages[9]
    assert "(`while chunk := await f.read(1 << 20)`)" in messages[9], messages[9]


def test_fx313_a_dependency_that_cannot_see_the_upload_bounds_nothing() -> None:
    # A pagination dependency compares `page_size`, not the upload.
    example = Invalid(
        """
        from typing import Annotated

        from fastapi import Depends, FastAPI, HTTPException, UploadFile

        app = FastAPI()

        def paging(page_size: int = 50) -> int:
            if page_size > 100:
                raise HTTPException(422)
            return page_size

        @app.post("/imports")
        async def import_rows(file: UploadFile, size: Annotated[int, Depends(paging)]) -> int:
            return len((await file.read()).splitlines()[:size])
        """,
        lines=(14,),
    )
    assert _flagged(example) == [14]
