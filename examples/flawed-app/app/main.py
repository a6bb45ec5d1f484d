"""The orders service."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware

from app.database import Base, engine
from app.routers import auth, orders

app = FastAPI(title="Orders", debug=True)  # defect: FX413

app.add_middleware(  # defect: FX407
    CORSMiddleware,
    allow_origins=["*"],  # defect: FX406
    allow_credentials=True,
    allow_methods=["*"],
    allow_headers=["*"],
)
app.add_middleware(GZipMiddleware, minimum_size=1000)

app.include_router(auth.router)
app.include_router(orders.router)


@app.on_event("startup")  # defect: FX108
def create_tables() -> None:
    Base.metadata.create_all(bind=engine)
