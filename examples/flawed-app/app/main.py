"""The orders service."""

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from app.database import Base, engine
from app.routers import auth, orders


class BodySizeLimit(BaseHTTPMiddleware):
    """Rejects bodies over 1 MB before they are read."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if int(request.headers.get("content-length", "0")) > 1_000_000:
            return JSONResponse({"detail": "request body too large"}, status_code=413)
        return await call_next(request)


app = FastAPI(title="Orders", debug=True)  # defect: FX413

app.add_middleware(  # defect: FX407
    CORSMiddleware,
    allow_origins=["*"],  # defect: FX406
    allow_credentials=True,
    allow_methods=["*"],
    allow_headers=["*"],
)
app.add_middleware(BodySizeLimit)  # audit: FX510; its 413s carry no CORS headers (FX407)

app.include_router(auth.router)
app.include_router(orders.router)


@app.on_event("startup")  # defect: FX108
def create_tables() -> None:
    Base.metadata.create_all(bind=engine)
