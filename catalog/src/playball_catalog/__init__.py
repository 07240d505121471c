"""The event catalog: a static site of the contracts, and their AsyncAPI 3.0 document.

``playball catalog build`` writes the site (from git history and the readers snapshot with
``--offline``; from the registry, the readers topic and the broker otherwise);
``playball catalog asyncapi`` writes the AsyncAPI document the ecosystem's tools read.
"""
