"""Request and response models."""

from typing import Optional

from pydantic import BaseModel, ConfigDict


class UserCreate(BaseModel):
    email: str
    password: str


class UserOut(BaseModel):
    id: int
    email: str
    password: str  # defect: FX312

    class Config:  # defect: FX307
        orm_mode = True


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="allow")  # defect: FX310

    item: str
    quantity: int = 1
    tags: list[str] = []  # defect: FX306
    note: Optional[str]  # defect: FX308


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    item: str
    quantity: int
