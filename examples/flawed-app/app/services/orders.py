"""Order business rules."""

from app.clients.inventory import fetch_stock


def check_availability(item: str, quantity: int) -> bool:
    return fetch_stock(item) >= quantity
