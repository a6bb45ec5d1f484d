"""Admin endpoints (never wired into the app)."""

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from app.security import require_internal_key

router = APIRouter(prefix="/admin", dependencies=[Depends(require_internal_key)])  # defect: FX114


@router.route("/stats")  # defect: FX110
def stats(request):
    return JSONResponse({"orders": 0})
