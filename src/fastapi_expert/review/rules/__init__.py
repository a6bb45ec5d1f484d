"""Rule packages, one per area of the seed's expertise:

    architecture/   FX1xx  architecture & dependency injection
    concurrency/    FX2xx  async & concurrency
    validation/     FX3xx  Pydantic & data validation
    security/       FX4xx  security
    performance/    FX5xx  performance
    testing/        FX6xx  testing
    api_design/     FX7xx  API design & documentation

One module per rule, named after the rule.
"""
