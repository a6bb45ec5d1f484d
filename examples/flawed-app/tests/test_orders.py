"""API tests."""

import pytest
from fastapi.testclient import TestClient

from app.database import get_db
from app.main import app

client = TestClient(app)  # defect: FX604


def fake_db():
    yield None


def test_list_orders_empty():
    app.dependency_overrides[get_db] = fake_db  # defect: FX602
    response = client.get("/orders/")
    assert response.status_code in (200, 500)


def test_import_rejects_text():
    response = client.post("/orders/import", data="not json")  # defect: FX606
    assert response.status_code >= 400


@pytest.mark.anyio
async def test_register():
    with TestClient(app) as local:  # defect: FX605
        response = local.post("/auth/register", json={"email": "a@b.c", "password": "pw"})
    assert response.status_code in (200, 201, 500)
