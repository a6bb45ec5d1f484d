"""Settings of the orders service."""

SECRET_KEY = "s3cr3t-jwt-signing-key-do-not-share"  # defect: FX401
ALGORITHM = "HS256"
ACCESS_TOKEN_EXPIRE_MINUTES = 30
DATABASE_URL = "sqlite:///./orders.db"
INVENTORY_URL = "https://inventory.internal"
REPORTS_URL = "https://reports.internal"
