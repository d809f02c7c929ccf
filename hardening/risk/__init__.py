"""The address risk engine: named set-based factors in PostGIS, a logistic model that explains
itself, fitting and backtesting against later crime, and incremental re-scoring."""
