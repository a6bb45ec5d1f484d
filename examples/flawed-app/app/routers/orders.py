"""Order endpoints."""

import asyncio
import time

import httpx
import requests
from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app.config import DATABASE_URL, REPORTS_URL
from app.database import get_db
from app.models import Order, User
from app.schemas import OrderCreate, OrderOut
from app.security import get_current_user
from app.services.orders import check_availability

router = APIRouter(prefix="/orders", tags=["orders"])

recent_orders: list[int] = []


@router.get("/", response_model=list[OrderOut])
def list_orders(db: Session = Depends(get_db)):
    return db.query(Order).all()  # defect: FX504


@router.get("/search", response_model=list[OrderOut])
def search_orders(item: str, limit: int = 50, db: Session = Depends(get_db)):  # defect: FX314
    sql = f"SELECT * FROM orders WHERE item LIKE '%{item}%' LIMIT {limit}"
    return db.execute(text(sql)).all()  # defect: FX409


@router.get("/{order_id}", response_model=OrderOut)
async def get_order(order_id: int, db: Session = Depends(get_db)):
    order = db.get(Order, order_id)  # defect: FX203
    if order is None:
        raise HTTPException(status_code=404, detail="Order not found")
    return order


@router.post("/", response_model=OrderOut)  # defect: FX703
async def create_order(
    payload: OrderCreate,
    db: Session = Depends(get_db),
    user: User = Depends(get_current_user),
):
    if not check_availability(payload.item, payload.quantity):  # defect: FX210
        raise HTTPException(status_code=409, detail="Out of stock")
    order = Order(owner_id=user.id, **payload.model_dump())
    db.add(order)
    db.commit()  # defect: FX203
    recent_orders.append(order.id)  # defect: FX107
    asyncio.create_task(notify_warehouse(order.id))  # defect: FX208
    return order


@router.post("/import")  # defect: FX408
async def import_orders(request: Request):
    rows = await request.json()  # defect: FX301
    engine = create_engine(DATABASE_URL)  # defect: FX501
    with engine.begin() as conn:  # defect: FX203
        for row in rows:
            conn.execute(text("INSERT INTO orders (item, quantity) VALUES (:i, :q)"), row)  # defect: FX203, FX503
    return {"imported": len(rows)}


@router.get("/{order_id}/report")
async def order_report(order_id: int):  # defect: FX302
    time.sleep(0.5)  # defect: FX201
    data = requests.get(f"{REPORTS_URL}/orders/{order_id}", timeout=5).json()  # defect: FX202
    return data


@router.get("/{order_id}/shipping")
async def shipping(order_id: int) -> dict[str, str]:
    async with httpx.AsyncClient() as client:  # defect: FX505
        reply = await client.get(f"https://shipping.internal/orders/{order_id}")
    return {"status": reply.json()["status"]}


@router.get("/getSummary")  # defect: FX706
def summary(db: Session = Depends(get_db)) -> dict[str, int]:
    user = Depends(get_current_user)  # defect: FX101
    total = 0
    for order in db.query(Order).limit(100):
        owner = db.get(User, order.owner_id)  # defect: FX503
        total += order.quantity if owner else 0
    return {"total": total, "user": user is not None}


@router.get("/{order_id}/touch")
def touch_order(order_id: int, db: Session = Depends(get_db)) -> dict[str, bool]:
    order = db.get(Order, order_id)
    order.quantity += 0
    db.commit()  # defect: FX710
    return {"ok": True}


@router.delete("/{order_id}", status_code=204)  # defect: FX408
def delete_order(order_id: int, payload: OrderCreate, db: Session = Depends(get_db)):  # defect: FX711
    db.query(Order).filter(Order.id == order_id).delete()
    return {"deleted": order_id}  # defect: FX704


async def notify_warehouse(order_id: int) -> None:
    await asyncio.sleep(0)
