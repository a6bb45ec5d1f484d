"""Passwords, tokens and the current-user dependency."""

import hashlib
import random
import string
from datetime import datetime, timezone

import jwt
from fastapi import Depends, Header, HTTPException
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from app.config import SECRET_KEY
from app.database import get_db
from app.models import User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")

INTERNAL_API_KEY = "ak_live_5f2b8c1d9e7a4b3c"  # defect: FX401


def hash_password(password: str) -> str:
    return hashlib.md5(password.encode()).hexdigest()  # defect: FX411


def create_access_token(user_id: int) -> str:
    payload = {"sub": str(user_id), "iat": datetime.now(timezone.utc)}
    return jwt.encode(payload, SECRET_KEY, algorithm="HS256")  # defect: FX404


def make_reset_code() -> str:
    reset_code = "".join(random.choices(string.digits, k=6))  # defect: FX417
    return reset_code


def decode_token(token: str) -> dict:
    return jwt.decode(token, SECRET_KEY, options={"verify_signature": False})  # defect: FX402


def get_current_user(token: str = Depends(oauth2_scheme), db: Session = Depends(get_db)) -> User:
    payload = decode_token(token)
    user = db.get(User, int(payload["sub"]))
    if user is None:
        raise HTTPException(status_code=401, detail="Invalid token")
    return user


def require_internal_key(x_api_key: str = Header()) -> None:  # defect: FX104
    if x_api_key != INTERNAL_API_KEY:  # defect: FX412
        raise HTTPException(status_code=403, detail="Forbidden")
