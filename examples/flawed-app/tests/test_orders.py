"""API tests."""

import pytest
from fastapi.testclient import TestClient

from app.database import get_db
from app.main import app

client = TestClient(app, raise_server_exceptions=False)  # defect: FX604


class FakeQuery:
    def all(self):
        return []


class FakeSession:
    """Stands in for the database in these tests."""

    def query(self, *entities):
        return FakeQuery()

    def add(self, obj):
        obj.id = 1

    def flush(self):
        pass

    def commit(self):
        pass

    def close(self):
        pass


def fake_db():
    yield FakeSession()


def test_list_orders_empty():
    app.dependency_overrides[get_db] = fake_db  # defect: FX602
    response = client.get("/orders/")
    assert response.status_code == 200
    assert response.json() == []


def test_import_rejects_text():
    response = client.post("/orders/import", data="not json")  # defect: FX606
    assert response.status_code >= 400


@pytest.mark.anyio
async def test_register():
    with TestClient(app) as local:  # defect: FX605
        response = local.post("/auth/register", json={"email": "a@b.c", "password": "pw"})
    assert response.status_code in (200, 201)
    assert response.json()["email"] == "a@b.c"
