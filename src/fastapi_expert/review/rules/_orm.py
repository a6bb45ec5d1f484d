"""SQLAlchemy (and SQLModel) names the ORM rules share: how a statement that loads
entities is spelled, and which of its methods give back the same statement."""

from __future__ import annotations

# `select(...)` under every name it is imported by.
SELECTS = frozenset(
    {
        "sqlalchemy.select",
        "sqlalchemy.future.select",
        "sqlalchemy.sql.select",
        "sqlalchemy.sql.expression.select",
        "sqlalchemy.sql._selectable_constructors.select",
        "sqlmodel.select",
        "sqlmodel.sql.expression.select",
    }
)

# Methods of a `Select` (and of a legacy `Query`) that return a statement loading the
# same entities: `select(User).where(...).order_by(...)` still loads `User` rows.
STATEMENT_METHODS = frozenset(
    {
        "where", "filter", "filter_by", "options", "order_by", "limit", "offset", "join", "outerjoin",
        "join_from", "execution_options", "with_for_update", "distinct", "group_by", "having",
        "select_from", "params", "correlate", "fetch", "slice", "union",
    }
)
