"""JWT minting fixtures (placeholder until the service issue lands)."""
