"""Registration and login."""

from fastapi import APIRouter, Depends, HTTPException, Response
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.database import get_db
from app.models import User
from app.schemas import UserCreate, UserOut
from app.security import create_access_token, hash_password

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", response_model=UserOut)  # defect: FX703
def register(payload: UserCreate, db: Session = Depends(get_db)):
    user = User(email=payload.email, password=hash_password(payload.password))
    db.add(user)
    db.flush()
    return user


@router.post("/token")  # defect: FX415
def login(response: Response, form: OAuth2PasswordRequestForm = Depends(), db: Session = Depends(get_db)):
    user = db.scalars(select(User).where(User.email == form.username)).first()
    if user is None or user.password != form.password:  # defect: FX410
        raise HTTPException(status_code=401, detail="Bad credentials")
    token = create_access_token(user.id)
    response.set_cookie("access_token", token)  # defect: FX418
    return {"access_token": token, "token_type": "bearer"}
