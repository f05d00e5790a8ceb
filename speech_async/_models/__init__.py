"""msgspec Structs for every request and response body, with their wire names."""
