"""What every route stands on: the clients a running API holds, the served read-model version, errors,
the service token, shared path parameters and the middlewares. Knows neither documents nor files."""
