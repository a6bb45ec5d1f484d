"""A thin client for the inventory service."""

import requests

from app.config import INVENTORY_URL


def fetch_stock(item: str) -> int:
    return _get_json(f"/stock/{item}")["available"]


def _get_json(path: str) -> dict:
    response = requests.get(INVENTORY_URL + path)  # defect: FX422
    response.raise_for_status()
    return response.json()
