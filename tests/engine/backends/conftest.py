from tests.fixtures.seaweed import seaweed  # noqa: F401 - session fixture for backend tests
