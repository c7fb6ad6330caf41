"""API clients of the FHIR endpoint: SMART Backend Services (registration, tokens, bearer
authentication, scopes at the views)."""
