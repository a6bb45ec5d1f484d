"""Static review: discover files, parse once, model, run rules, report."""
