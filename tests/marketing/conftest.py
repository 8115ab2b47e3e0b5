from tests.customers.conftest import World, north_colleague, world  # noqa: F401 - shared fixtures
