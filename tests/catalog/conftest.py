from tests.customers.conftest import north_colleague, world  # noqa: F401 - shared fixtures
