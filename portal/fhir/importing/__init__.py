"""Importing FHIR R4 transaction and batch Bundles (``POST /fhir/R4/``).

``parse`` reads and validates the body, ``inverse`` reads FHIR resources as our records (the
inverse of ``portal.fhir.mapping``), ``references`` resolves references, ``services`` writes
(``bundle_import``: the entry point for the portal's session and for API clients), and
``views`` is the HTTP side.
"""
